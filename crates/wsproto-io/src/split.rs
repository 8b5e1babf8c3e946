//! Writing and reading halves for two tasks.
//!
//! Both halves drive the one connection, behind a mutex that is held only for the length of one
//! poll (never across an `await`): a few hundred nanoseconds around a system call, so the halves
//! almost never wait on each other. The reading half answers pings and close frames by itself.
//!
//! Both halves may write the transport (the reader writes pongs), and a transport remembers only
//! the last task that waited to write. So whenever one half makes room in the output buffer, or
//! sees the connection end, it wakes the other half too: a writer blocked on a full buffer, or a
//! reader waiting to flush its close reply, never sleeps through the progress the other made.

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::stream::WebSocketStream;
use crate::transport::{Runtime, Transport};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_sink::Sink;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use wsproto::{CloseFrame, Message};

struct Shared<S, R: Runtime> {
    driver: Mutex<Driver<S, R>>,
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl<S: Transport, R: Runtime> Shared<S, R> {
    fn lock(&self) -> MutexGuard<'_, Driver<S, R>> {
        // A panic in another poll leaves the driver consistent enough to report errors.
        self.driver.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs one poll of the driver as `me`, waking `other` if the poll drained output.
    fn poll_as<T>(
        &self,
        cx: &mut Context<'_>,
        me: &Mutex<Option<Waker>>,
        other: &Mutex<Option<Waker>>,
        f: impl FnOnce(&mut Driver<S, R>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        remember(me, cx.waker());
        let mut driver = self.lock();
        let (before, was_closed) = (driver.conn.output_len(), driver.conn.is_closed());
        let result = f(&mut driver, cx);
        // Progress the other half may be waiting for: room in the output, or the end (a writer
        // blocked on a dead peer learns from the reader's keepalive that it is gone).
        let progress = driver.conn.output_len() < before || (driver.conn.is_closed() && !was_closed);
        drop(driver);
        if progress {
            if let Some(w) = other.lock().unwrap_or_else(|p| p.into_inner()).take() {
                w.wake();
            }
        }
        result
    }
}

fn remember(slot: &Mutex<Option<Waker>>, waker: &Waker) {
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    match &*slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl<S: Transport, R: Runtime> WebSocketStream<S, R> {
    /// Splits into a writing half (a [`Sink`]) and a reading half (a [`Stream`]) that can live on
    /// two tasks: the same order as `StreamExt::split`, so code written for tokio-tungstenite
    /// gets the halves it expects.
    ///
    /// The reading half still answers pings and close frames on its own, so a task that only
    /// reads keeps the connection healthy. The halves share the connection behind a mutex that
    /// is held only while one poll runs, never across an `await`.
    pub fn split(self) -> (WriteHalf<S, R>, ReadHalf<S, R>) {
        let mut driver = self.into_driver();
        driver.timers_in_send = false;
        let shared = Arc::new(Shared { driver: Mutex::new(driver), reader: Mutex::new(None), writer: Mutex::new(None) });
        (WriteHalf { shared: shared.clone() }, ReadHalf { shared })
    }
}

/// The halves given to [`ReadHalf::reunite`] came from different splits; here they are back.
pub struct ReuniteError<S, R: Runtime>(pub ReadHalf<S, R>, pub WriteHalf<S, R>);

impl<S, R: Runtime> fmt::Debug for ReuniteError<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

/// The reading half: a [`Stream`] of messages. It also answers pings and close frames, and runs
/// the keepalive timers, so keep polling it.
pub struct ReadHalf<S, R: Runtime> {
    shared: Arc<Shared<S, R>>,
}

/// The writing half: a [`Sink`] of messages, plus inherent [`send`](WriteHalf::send),
/// [`feed`](WriteHalf::feed), [`flush`](WriteHalf::flush) and [`close_with`](WriteHalf::close_with).
pub struct WriteHalf<S, R: Runtime> {
    shared: Arc<Shared<S, R>>,
}

impl<S: Transport, R: Runtime> ReadHalf<S, R> {
    /// Receives the next message; `None` once the connection has closed cleanly. Cancel safe.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        let s = &*self.shared;
        s.poll_as(cx, &s.reader, &s.writer, |d, cx| d.poll_message(cx))
    }

    /// Puts the halves back together. Fails, returning both, if they come from different splits.
    pub fn reunite(self, other: WriteHalf<S, R>) -> std::result::Result<WebSocketStream<S, R>, ReuniteError<S, R>> {
        if !Arc::ptr_eq(&self.shared, &other.shared) {
            return Err(ReuniteError(self, other));
        }
        drop(other);
        let shared = Arc::into_inner(self.shared).expect("both halves were given");
        let driver = shared.driver.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(WebSocketStream::from_driver(driver))
    }
}

impl<S: Transport, R: Runtime> WriteHalf<S, R> {
    /// Sends a message and flushes it. See [`WebSocketStream`] for cancel safety.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message without flushing it, waiting only while the output buffer is full.
    pub async fn feed(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.poll_ready_inner(cx)).await?;
        self.shared.lock().start_send(message)
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Sends a message encoded once for many connections and flushes it; see
    /// [`WebSocketStream::send_prepared`].
    pub async fn send_prepared(&mut self, message: &wsproto::PreparedMessage) -> Result<()> {
        self.feed_prepared(message).await?;
        self.flush().await
    }

    /// Queues a prepared message without flushing it, waiting only while the output buffer is
    /// full.
    pub async fn feed_prepared(&mut self, message: &wsproto::PreparedMessage) -> Result<()> {
        poll_fn(|cx| self.poll_ready_inner(cx)).await?;
        Ok(self.shared.lock().conn.send_prepared(message)?)
    }

    /// Sends a close frame with `frame` (1000 if `None`) and flushes it. The reading half yields
    /// what the peer sent before it saw our close, then its close frame, and then ends.
    ///
    /// `SinkExt::close` does the same with code 1000 (the name is left to it, so that code
    /// written for a `SplitSink` reads the same).
    pub async fn close_with(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.shared.lock().start_close(frame)?;
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Whether messages queued from now on are compressed; see
    /// [`WebSocketStream::set_compression`].
    pub fn set_compression(&mut self, enabled: bool) {
        self.shared.lock().conn.set_compression(enabled);
    }

    fn poll_ready_inner(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let s = &*self.shared;
        s.poll_as(cx, &s.writer, &s.reader, |d, cx| d.poll_ready(cx))
    }

    fn poll_flush_inner(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let s = &*self.shared;
        s.poll_as(cx, &s.writer, &s.reader, |d, cx| d.poll_flush(cx))
    }
}

impl<S: Transport, R: Runtime> Stream for ReadHalf<S, R> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_recv(cx)
    }
}

impl<S: Transport, R: Runtime> FusedStream for ReadHalf<S, R> {
    fn is_terminated(&self) -> bool {
        self.shared.lock().is_terminated()
    }
}

impl<S: Transport, R: Runtime> Sink<Message> for WriteHalf<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_ready_inner(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        self.shared.lock().start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_flush_inner(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let s = &*self.shared;
        s.poll_as(cx, &s.writer, &s.reader, |d, cx| d.poll_close(cx))
    }
}

impl<S, R: Runtime> fmt::Debug for ReadHalf<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<S, R: Runtime> fmt::Debug for WriteHalf<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}
