//! The driver: moves bytes between a transport and the core, and sleeps until its deadlines.
//!
//! It has no protocol logic and no timer logic of its own: every decision is the core's. Its
//! whole job is the run loop from the core's documentation, written as poll functions.

use crate::error::{Error, Result};
use crate::message::{Converted, to_message};
use crate::transport::{Runtime, Timer, Transport};
use std::io::{self, IoSlice};
use std::marker::PhantomData;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use wsproto::{Closed, Connection, Event, Instant, Message};

/// The most output chunks handed to one vectored write.
const MAX_IOVECS: usize = 16;

/// How long to keep draining the socket after shutting down our side, waiting for the peer's
/// end of file. Closing a socket that still has unread input makes the kernel send a reset,
/// which throws away output not yet sent: the last echo and the close frame.
pub const LINGER: Duration = Duration::from_secs(2);

/// Where the end of a connection has got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finish {
    Flush,
    Shutdown,
    Drain(Instant),
    Done,
}

/// A connection and its transport.
pub(crate) struct Driver<S, R: Runtime> {
    pub(crate) io: S,
    pub(crate) conn: Connection,
    timer: Option<R::Timer>,
    timer_at: Option<Instant>,
    /// The core reported `Closed`; the transport is being flushed and shut down.
    closing: Option<Closed>,
    finish: Finish,
    /// The transport reached end of file.
    eof: bool,
    /// The stream has ended; nothing more comes out.
    finished: bool,
    _runtime: PhantomData<fn() -> R>,
}

impl<S: Transport, R: Runtime> Driver<S, R> {
    pub(crate) fn new(io: S, conn: Connection) -> Self {
        Driver {
            io,
            conn,
            timer: None,
            timer_at: None,
            closing: None,
            finish: Finish::Flush,
            eof: false,
            finished: false,
            _runtime: PhantomData,
        }
    }

    /// Writes out everything the core has queued, then flushes the transport.
    pub(crate) fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.output_len() > 0 {
            let mut chunks: [&[u8]; MAX_IOVECS] = [&[]; MAX_IOVECS];
            let n = self.conn.pending_output_slices(&mut chunks);
            let slices: [IoSlice<'_>; MAX_IOVECS] = std::array::from_fn(|i| IoSlice::new(chunks[i]));
            let written = ready!(self.io.poll_write_vectored(cx, &slices[..n]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_output(written);
        }
        self.io.poll_flush(cx)
    }

    /// Acts on a due deadline, or arms the timer for the next one. Returns whether a deadline
    /// passed (so that new events or output may be waiting).
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            // No deadline: let the timer go, it costs memory on an idle connection.
            self.timer = None;
            self.timer_at = None;
            return false;
        };
        let now = R::now();
        if deadline <= now {
            self.conn.handle_timeout(now);
            return true;
        }
        if self.arm(deadline).poll_fired(cx).is_ready() {
            self.conn.handle_timeout(R::now());
            return true;
        }
        false
    }

    /// The timer, set to fire at `deadline`: created on first use, re-armed only when the
    /// deadline moves.
    fn arm(&mut self, deadline: Instant) -> &mut R::Timer {
        match &mut self.timer {
            Some(timer) if self.timer_at != Some(deadline) => timer.reset(deadline),
            Some(_) => {}
            None => self.timer = Some(R::timer(deadline)),
        }
        self.timer_at = Some(deadline);
        self.timer.as_mut().expect("armed above")
    }

    /// The next event from the core, driving the transport and timers until there is one.
    ///
    /// Queued output (pongs, close replies) is written on the way, but a transport that cannot
    /// take it yet does not stop reading: the core bounds what reading can add to the output.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event>> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Poll::Ready(Ok(event));
            }
            if let Poll::Ready(Err(e)) = self.poll_write_output(cx) {
                return Poll::Ready(Err(e.into()));
            }
            if self.poll_timers(cx) {
                continue;
            }
            if !self.conn.wants_input() {
                return Poll::Pending;
            }
            match ready!(self.io.poll_read_into(cx, &mut self.conn)) {
                Ok(0) => {
                    self.eof = true;
                    self.conn.receive_eof();
                }
                // Tell the core the time on every read: it keeps the idle timer exact.
                Ok(_) => self.conn.handle_timeout(R::now()),
                // A peer that resets instead of closing, after the closing handshake, has said
                // all it had to say (Autobahn's fuzzing server does this).
                Err(_) if self.conn.is_close_handshake_complete() => {
                    self.eof = true;
                    self.conn.receive_eof();
                }
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    /// The next message, for `Stream::poll_next`. After the connection closes, the transport is
    /// flushed and shut down before the stream ends, with an error if the close was abnormal.
    pub(crate) fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            if self.closing.is_some() {
                return self.poll_finish(cx).map(|r| r.err().map(Err));
            }
            let event = match ready!(self.poll_event(cx)) {
                Ok(ev) => ev,
                Err(e) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
            };
            let message = match to_message(event) {
                Converted::Message(m) => m,
                Converted::Closed(closed) => {
                    self.closing = Some(closed);
                    continue;
                }
                // Handshake events only happen before the stream exists.
                Converted::Nothing => continue,
            };
            return Poll::Ready(Some(Ok(message)));
        }
    }

    /// The next message that the bytes already received hold, without any I/O.
    pub(crate) fn buffered_message(&mut self) -> Option<Result<Message>> {
        if self.finished || self.closing.is_some() {
            return None;
        }
        loop {
            match to_message(self.conn.poll_event()?) {
                Converted::Message(m) => return Some(Ok(m)),
                Converted::Closed(closed) => {
                    // Finishing needs I/O: leave it to the next receive.
                    self.closing = Some(closed);
                    return None;
                }
                Converted::Nothing => {}
            }
        }
    }

    /// Flushes the last output, shuts our side of the transport down, and drains the peer's side
    /// until its end of file (for at most [`LINGER`]); then reports how the connection ended:
    /// `Ok` for a clean close, the error otherwise.
    pub(crate) fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        loop {
            match self.finish {
                Finish::Flush => {
                    // A peer that is gone cannot take our last frames; that is not worth an error.
                    self.finish = match ready!(self.poll_write_output(cx)) {
                        Ok(()) => Finish::Shutdown,
                        Err(_) => Finish::Done,
                    };
                }
                Finish::Shutdown => {
                    let _ = ready!(self.io.poll_shutdown(cx));
                    self.finish = if self.eof || self.peer_unresponsive() { Finish::Done } else { Finish::Drain(R::now() + LINGER) };
                }
                Finish::Drain(deadline) => match self.io.poll_discard(cx) {
                    Poll::Ready(Ok(0) | Err(_)) => self.finish = Finish::Done,
                    Poll::Ready(Ok(_)) => {}
                    Poll::Pending => {
                        ready!(self.arm(deadline).poll_fired(cx));
                        self.finish = Finish::Done;
                    }
                },
                Finish::Done => break,
            }
        }
        self.finished = true;
        self.timer = None;
        self.timer_at = None;
        let closed = self.closing.take();
        Poll::Ready(match closed.and_then(|c| c.error) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        })
    }

    /// Whether the connection ended because the peer stopped responding: then there is no point
    /// in waiting for its end of file (and a slowloris would love us to).
    fn peer_unresponsive(&self) -> bool {
        self.closing.as_ref().is_some_and(Closed::timed_out)
    }

    /// Starts ending the connection after `closed`: the next [`poll_finish`](Self::poll_finish)
    /// flushes, shuts down and reports it.
    pub(crate) fn begin_finish(&mut self, closed: Closed) {
        self.closing = Some(closed);
    }

    /// Whether the stream has ended.
    pub(crate) fn is_terminated(&self) -> bool {
        self.finished
    }

    /// For `Sink::poll_ready`: waits until the output buffer is below its limit.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.finished || self.conn.is_closed() {
            return Poll::Ready(Err(Error::AlreadyClosed));
        }
        if self.conn.is_write_buffer_full() {
            ready!(self.poll_write_output(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// For `Sink::start_send`.
    pub(crate) fn start_send(&mut self, message: Message) -> Result<()> {
        Ok(self.conn.send(message)?)
    }

    /// For `Sink::poll_flush`.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(ready!(self.poll_write_output(cx))?))
    }

    /// For `Sink::poll_close`: sends a normal close frame (if none was sent) and flushes it. The
    /// reply arrives through the stream side.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.conn.is_open() {
            self.conn.close(wsproto::CloseCode::NORMAL, "")?;
        }
        self.poll_flush(cx)
    }
}
