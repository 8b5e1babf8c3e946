//! The two seams between the shared driver and a runtime: a transport and a clock with timers.
//!
//! An adapter implements these for its runtime's I/O traits (tokio's, futures-io's, std's) and
//! nothing else; the driver does the rest once.

use std::io::{self, IoSlice};
use std::task::{Context, Poll};
use wsproto::{Connection, Instant};

/// A byte stream, as the driver needs it.
///
/// A blocking transport (std I/O) blocks inside these methods and returns `Poll::Pending` only
/// when a read timed out at the deadline given by [`set_read_deadline`](Transport::set_read_deadline)
/// or a non-blocking stream would block; the blocking adapter then polls again or reports
/// `WouldBlock`.
pub trait Transport: Unpin {
    /// The stream the adapter wraps (a `TcpStream`, a TLS stream, ...).
    type Inner;

    /// Reads some bytes into `conn` (with [`Connection::receive`] or straight into
    /// [`Connection::input_buffer`]); returns how many, 0 at end of file.
    ///
    /// [`Connection::read_hint`] says how much the connection would like. An idle connection
    /// should not keep a read buffer of its own between reads: memory per idle connection matters.
    fn poll_read_into(&mut self, cx: &mut Context<'_>, conn: &mut Connection) -> Poll<io::Result<usize>>;

    /// Reads some bytes into `buf`; returns how many, 0 at end of file.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `bufs`, as `AsyncWrite::poll_write_vectored` does.
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Flushes buffered writes (TLS records, for example).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts the write side down (for TCP, sends FIN).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Whether this transport blocks inside its methods. Only then does the driver work out the
    /// connection's next deadline before each read and write and pass it on
    /// ([`set_read_deadline`](Transport::set_read_deadline),
    /// [`set_write_deadline`](Transport::set_write_deadline)); an async transport is woken by
    /// the driver's timer instead and spares that work on every call.
    const BLOCKING: bool = false;

    /// The time by which the next read must return, so that a deadline is not missed. A blocking
    /// transport sets its read timeout from it; async transports ignore it (and, unless
    /// [`BLOCKING`](Transport::BLOCKING), the driver does not pass it before every read).
    #[inline]
    fn set_read_deadline(&mut self, deadline: Option<Instant>) {
        let _ = deadline;
    }

    /// The time by which the next write must return, as for reads: a blocking transport sets its
    /// write timeout from it, so that a peer that stopped reading cannot hold a write past the
    /// connection's deadlines. Passed only when [`BLOCKING`](Transport::BLOCKING).
    #[inline]
    fn set_write_deadline(&mut self, deadline: Option<Instant>) {
        let _ = deadline;
    }

    /// The wrapped stream.
    fn get_ref(&self) -> &Self::Inner;

    /// The wrapped stream, mutably.
    fn get_mut(&mut self) -> &mut Self::Inner;

    /// Gives the wrapped stream back.
    fn into_inner(self) -> Self::Inner
    where
        Self: Sized;
}

/// A runtime's clock and timers.
pub trait Runtime: 'static {
    /// A timer that can be re-armed.
    type Timer: Timer;

    /// The current time, from the runtime's clock (so that a runtime's paused test clock works).
    fn now() -> Instant;

    /// A timer that fires at `deadline`.
    fn timer(deadline: Instant) -> Self::Timer;
}

/// A re-armable timer.
pub trait Timer: Unpin + Send {
    /// Fires at `deadline` instead.
    fn reset(&mut self, deadline: Instant);

    /// Ready once the deadline has passed.
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}
