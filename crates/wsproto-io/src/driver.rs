//! The driver: moves bytes between a transport and the core, and sleeps until its deadlines.
//!
//! It has no protocol logic and no timer logic of its own: every decision is the core's. Its
//! whole job is the run loop from the core's documentation, written as poll functions, which the
//! async adapters await and the blocking adapter polls with transports that block.

use crate::error::{Error, Result};
use crate::transport::{Runtime, Timer, Transport};
use std::io::{self, IoSlice};
use std::marker::PhantomData;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use wsproto::handshake::{Accept, Reject, Request, Response};
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
    /// Sending runs the deadlines too, while the transport takes nothing: true for one task
    /// driving the whole stream, false for split halves, whose reading half runs them (the
    /// writing half must not take the timer's or the read's waker from it).
    pub(crate) timers_in_send: bool,
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
            timers_in_send: true,
            _runtime: PhantomData,
        }
    }

    /// Writes out everything the core has queued, then flushes the transport.
    pub(crate) fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if S::BLOCKING {
            // The write returns by the next deadline, so that it runs; to a peer that stopped
            // responding, it tries only for a moment.
            let deadline = if self.peer_unresponsive() { Some(R::now()) } else { self.conn.poll_timeout() };
            self.io.set_write_deadline(deadline);
        }
        while self.conn.output_len() > 0 {
            let first = self.conn.pending_output();
            let written = if first.len() == self.conn.output_len() {
                // One contiguous chunk, the usual case: small frames are coalesced.
                ready!(self.io.poll_write_vectored(cx, &[IoSlice::new(first)]))?
            } else {
                let mut chunks: [&[u8]; MAX_IOVECS] = [&[]; MAX_IOVECS];
                let n = self.conn.pending_output_slices(&mut chunks);
                let slices: [IoSlice<'_>; MAX_IOVECS] = std::array::from_fn(|i| IoSlice::new(chunks[i]));
                ready!(self.io.poll_write_vectored(cx, &slices[..n]))?
            };
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
    ///
    /// What the transport already holds is read before a due deadline is acted on: a peer whose
    /// pong arrived while the application was busy sending is alive, not timed out.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event>> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Poll::Ready(Ok(event));
            }
            if let Poll::Ready(Err(e)) = self.poll_write_output(cx) {
                return Poll::Ready(Err(e.into()));
            }
            if self.conn.wants_input() && self.read_once(cx)? {
                continue;
            }
            if !self.poll_timers(cx) {
                return Poll::Pending;
            }
        }
    }

    /// One read from the transport into the core: `true` when it brought bytes or the end of
    /// file, `false` when the transport holds nothing yet (it wakes the task when it does).
    fn read_once(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        if S::BLOCKING {
            self.io.set_read_deadline(self.conn.poll_timeout());
        }
        match self.io.poll_read_into(cx, &mut self.conn) {
            Poll::Ready(Ok(0)) => self.conn.receive_eof(),
            // Tell the core the time on every read: it keeps the idle timer exact.
            Poll::Ready(Ok(_)) => {
                self.conn.handle_timeout(R::now());
                return Ok(true);
            }
            // A peer that resets instead of closing, after the closing handshake, has said all it
            // had to say (Autobahn's fuzzing server does this).
            Poll::Ready(Err(_)) if self.conn.is_close_handshake_complete() => self.conn.receive_eof(),
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => return Ok(false),
        }
        self.eof = true;
        Ok(true)
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
            match Message::try_from(event) {
                Ok(message) => return Poll::Ready(Some(Ok(message))),
                Err(Event::Closed(closed)) => self.closing = Some(*closed),
                // Handshake events only happen before the stream exists.
                Err(_) => {}
            }
        }
    }

    /// The next message that the bytes already received hold, without any I/O.
    pub(crate) fn buffered_message(&mut self) -> Option<Result<Message>> {
        if self.finished || self.closing.is_some() {
            return None;
        }
        loop {
            match Message::try_from(self.conn.poll_event()?) {
                Ok(message) => return Some(Ok(message)),
                Err(Event::Closed(closed)) => {
                    // Finishing needs I/O: leave it to the next receive.
                    self.closing = Some(*closed);
                    return None;
                }
                Err(_) => {}
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
                    // One that stopped responding may never take them: no waiting for it (its
                    // transport can be full of our output for as long as TCP keeps trying).
                    self.finish = match self.poll_write_output(cx) {
                        Poll::Ready(Ok(())) => Finish::Shutdown,
                        Poll::Ready(Err(_)) => Finish::Done,
                        Poll::Pending if self.peer_unresponsive() => Finish::Done,
                        Poll::Pending => return Poll::Pending,
                    };
                }
                Finish::Shutdown => {
                    // (TLS writes its close_notify here: the same goes for it.)
                    if self.io.poll_shutdown(cx).is_pending() && !self.peer_unresponsive() {
                        return Poll::Pending;
                    }
                    self.finish = if self.eof || self.peer_unresponsive() { Finish::Done } else { Finish::Drain(R::now() + LINGER) };
                }
                Finish::Drain(deadline) => {
                    self.io.set_read_deadline(Some(deadline));
                    let mut sink = [0u8; 4096];
                    match self.io.poll_read(cx, &mut sink) {
                        Poll::Ready(Ok(0) | Err(_)) => self.finish = Finish::Done,
                        Poll::Ready(Ok(_)) => {}
                        Poll::Pending => {
                            ready!(self.arm(deadline).poll_fired(cx));
                            self.finish = Finish::Done;
                        }
                    }
                }
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

    /// Whether the stream has ended.
    pub(crate) fn is_terminated(&self) -> bool {
        self.finished
    }

    // ---------------------------------------------------------------------------------------
    // The opening handshake

    /// Client: drives the opening handshake until the server's 101. A refusal or any other
    /// failure ends the transport and is returned as the error.
    pub(crate) fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Result<Box<Response>>> {
        loop {
            if self.closing.is_some() {
                return self.poll_failed_handshake(cx).map(Err);
            }
            match ready!(self.poll_event(cx))? {
                Event::Connected(response) => return Poll::Ready(Ok(response)),
                Event::Closed(closed) => self.closing = Some(*closed),
                _ => {}
            }
        }
    }

    /// Server: reads the opening request. An invalid one is answered with the status the core
    /// chose (400, 403, 426, 431), the transport is ended, and the failure is returned.
    pub(crate) fn poll_request(&mut self, cx: &mut Context<'_>) -> Poll<Result<Box<Request>>> {
        loop {
            if self.closing.is_some() {
                return self.poll_failed_handshake(cx).map(Err);
            }
            match ready!(self.poll_event(cx))? {
                Event::Request(request) => return Poll::Ready(Ok(request)),
                Event::Closed(closed) => self.closing = Some(*closed),
                _ => {}
            }
        }
    }

    /// Server: accepts the request that [`poll_request`](Self::poll_request) returned. Then
    /// write the 101 with [`poll_write_output`](Self::poll_write_output).
    pub(crate) fn accept(&mut self, accept: Accept) -> Result<()> {
        Ok(self.conn.accept(accept)?)
    }

    /// Server: refuses the request that [`poll_request`](Self::poll_request) returned. Then send
    /// the response and end the transport with [`poll_rejected`](Self::poll_rejected).
    pub(crate) fn reject(&mut self, reject: Reject) -> Result<()> {
        self.conn.reject(reject)?;
        match self.conn.poll_event() {
            Some(Event::Closed(closed)) => self.closing = Some(*closed),
            other => unreachable!("a rejection closes the connection, not {other:?}"),
        }
        Ok(())
    }

    /// Writes a rejection out and ends the transport.
    pub(crate) fn poll_rejected(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        ready!(self.poll_finish(cx)).or_else(|e| match e {
            Error::Handshake(wsproto::HandshakeError::RejectedByApplication(_)) => Ok(()),
            e => Err(e),
        })?;
        Poll::Ready(Ok(()))
    }

    /// Sends whatever the core queued after a failed handshake (an HTTP error response), ends
    /// the transport, and returns the handshake's error.
    fn poll_failed_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        Poll::Ready(match ready!(self.poll_finish(cx)) {
            Err(e) => e,
            Ok(()) => Error::AlreadyClosed,
        })
    }

    // ---------------------------------------------------------------------------------------
    // Sending

    /// For `Sink::poll_ready`: waits until the output buffer is below its limit.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.finished || self.conn.is_closed() {
            return Poll::Ready(Err(Error::AlreadyClosed));
        }
        if self.conn.is_write_buffer_full() {
            ready!(self.poll_send_output(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// For `Sink::start_send`.
    pub(crate) fn start_send(&mut self, message: Message) -> Result<()> {
        Ok(self.conn.send(message)?)
    }

    /// For `Sink::poll_flush`.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.poll_send_output(cx)
    }

    /// Writes the output out for a sender. While the transport takes nothing, the deadlines
    /// still run: a peer that died with our output unsent fails the send by keepalive (or by the
    /// close timeout, after a close) instead of leaving it waiting for TCP to give up, which
    /// takes a quarter of an hour. What the transport already holds is read first, as in
    /// [`poll_event`](Self::poll_event); the bytes wait in the core, unparsed, for the receiver.
    fn poll_send_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        loop {
            match self.poll_write_output(cx) {
                Poll::Ready(result) => return Poll::Ready(result.map_err(Error::from)),
                // The connection ended (the other half saw to it, after a split): whatever is
                // left is the receiver's to flush, if the peer takes it.
                Poll::Pending if self.conn.is_closed() => return Poll::Ready(Err(Error::AlreadyClosed)),
                Poll::Pending if !self.timers_in_send => return Poll::Pending,
                Poll::Pending => {}
            }
            let due = self.conn.poll_timeout().is_some_and(|d| d <= R::now());
            if due && self.conn.wants_input() {
                self.read_once(cx)?;
            }
            if !self.poll_timers(cx) {
                return Poll::Pending;
            }
            if self.conn.is_closed() {
                // A deadline ended the connection. The receiver reports it too, from `closing`.
                let error = match self.conn.poll_event() {
                    Some(Event::Closed(closed)) => {
                        let error = closed.error.clone();
                        self.closing = Some(*closed);
                        error.map_or(Error::AlreadyClosed, Error::from)
                    }
                    _ => Error::AlreadyClosed,
                };
                return Poll::Ready(Err(error));
            }
        }
    }

    /// Queues a close frame with `frame` (1000 if `None`) unless one was sent already; an answer
    /// to the peer's close when `auto_close` is off.
    pub(crate) fn start_close(&mut self, frame: Option<wsproto::CloseFrame>) -> Result<()> {
        if self.conn.close_sent().is_some() || self.conn.is_closed() {
            return Ok(());
        }
        let frame = frame.unwrap_or_else(|| wsproto::CloseFrame::new(wsproto::CloseCode::NORMAL, ""));
        match self.conn.close(frame.code, frame.reason.as_str()) {
            // The connection closed in the meantime, or is still connecting.
            Ok(()) | Err(wsproto::LocalError::Closing) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// For `Sink::poll_close`: sends a normal close frame (if none was sent) and flushes it. The
    /// peer's answer, and any message it sent before it, arrive through the stream side.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.start_close(None)?;
        self.poll_flush(cx)
    }
}
