//! `WebSocketStream`: a `Stream` of messages and a `Sink` for them, over any transport.

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::split::{self, ReadHalf, WriteHalf};
use crate::transport::{Runtime, Transport};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_sink::Sink;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use wsproto::{CloseCode, CloseFrame, Connection, Message, Role};

/// A WebSocket connection over a transport, once the opening handshake is done.
///
/// - As a [`Stream`] it yields incoming messages (pings and pongs too; pings are answered
///   automatically) and ends after the closing handshake. An abnormal end (a protocol error, a
///   keepalive timeout, a reset) is the last item, as an `Err`.
/// - As a [`Sink`] it sends messages. `poll_ready` waits while the output buffer is over its
///   limit, so a peer that never reads cannot grow our memory.
/// - [`recv`](WebSocketStream::recv), [`send`](WebSocketStream::send) and
///   [`close`](WebSocketStream::close) do the same without extension traits.
///
/// # Cancel safety
///
/// - [`recv`](WebSocketStream::recv) (and `StreamExt::next`) is cancel safe: a message is only
///   taken out of the connection when it is returned.
/// - [`send`](WebSocketStream::send) queues the message in one step and then flushes. If it is
///   cancelled, the message was either not queued at all or queued whole; a queued message goes
///   out with the next send, flush or receive.
/// - [`close`](WebSocketStream::close) can be cancelled; the close frame, once queued, still goes
///   out, and calling it again picks up where it stopped.
pub struct WebSocketStream<S, R: Runtime> {
    driver: Driver<S, R>,
}

impl<S: Transport, R: Runtime> fmt::Debug for WebSocketStream<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketStream").field("connection", &self.driver.conn).finish_non_exhaustive()
    }
}

impl<S: Transport, R: Runtime> WebSocketStream<S, R> {
    /// Wraps a transport and a connection whose handshake is done (or is being done by the core).
    pub fn from_parts(io: S, conn: Connection) -> Self {
        WebSocketStream { driver: Driver::new(io, conn) }
    }

    /// Receives the next message; `None` once the connection has closed cleanly.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.driver.poll_message(cx)).await
    }

    /// The next message if the bytes already received hold one, without waiting or any I/O.
    ///
    /// An echo or relay loop uses it to answer a whole burst of messages with one write: receive
    /// one message, then take the buffered ones, feeding each reply, then flush once.
    pub fn next_buffered(&mut self) -> Option<Result<Message>> {
        self.driver.buffered_message()
    }

    /// Queues a message without flushing it, waiting only while the output buffer is full.
    pub async fn feed(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.driver.poll_ready(cx)).await?;
        self.driver.start_send(message)
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.driver.poll_flush(cx)).await
    }

    /// Sends a message and flushes it.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Closes the connection: sends a close frame (1000 if `frame` is `None`), waits for the
    /// peer's answer while discarding incoming messages, and ends the transport. Bounded by the
    /// configured close timeout.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if self.driver.conn.is_open() || self.driver.conn.state() == wsproto::ConnectionState::Closing {
            let frame = frame.unwrap_or_else(|| CloseFrame::new(CloseCode::NORMAL, ""));
            // Already sent (or the peer's close already answered) is not an error here.
            match self.driver.conn.close(frame.code, frame.reason.as_str()) {
                Ok(()) | Err(wsproto::LocalError::Closing) => {}
                Err(e) => return Err(e.into()),
            }
        }
        loop {
            match self.recv().await {
                None => return Ok(()),
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Splits into a reading half and a writing half that can live on two tasks.
    ///
    /// The reading half still answers pings and close frames on its own, so a task that only
    /// reads keeps the connection healthy. The halves share the connection behind a mutex that
    /// is held only while one poll runs, never across an `await`.
    pub fn split(self) -> (ReadHalf<S, R>, WriteHalf<S, R>) {
        split::split(self.driver)
    }

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.driver.conn.role()
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.driver.conn.subprotocol()
    }

    /// Whether permessage-deflate was negotiated.
    pub fn is_compressed(&self) -> bool {
        self.driver.conn.extension().is_some()
    }

    /// The sans-IO connection underneath, for inspection.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S::Inner {
        self.driver.io.get_ref()
    }

    /// The transport, mutably. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S::Inner {
        self.driver.io.get_mut()
    }
}

pub(crate) fn from_driver<S: Transport, R: Runtime>(driver: Driver<S, R>) -> WebSocketStream<S, R> {
    WebSocketStream { driver }
}

impl<S: Transport, R: Runtime> Stream for WebSocketStream<S, R> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().driver.poll_message(cx)
    }
}

impl<S: Transport, R: Runtime> FusedStream for WebSocketStream<S, R> {
    fn is_terminated(&self) -> bool {
        self.driver.is_terminated()
    }
}

impl<S: Transport, R: Runtime> Sink<Message> for WebSocketStream<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        self.get_mut().driver.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_close(cx)
    }
}
