//! Deadlines. The connection never reads a clock; it keeps the latest time it was told.

use crate::time::Instant;
use core::time::Duration;

#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    /// The latest time passed in. Never goes backwards.
    pub(crate) now: Instant,
    pub(crate) handshake: Option<Instant>,
    /// Waiting for the peer's close frame, or (client) for the server to end the transport.
    pub(crate) close: Option<Instant>,
    pub(crate) next_ping: Option<Instant>,
    pub(crate) pong: Option<Instant>,
    pub(crate) idle: Option<Instant>,
    /// The payload of the keepalive ping in flight, if any.
    pub(crate) ping_in_flight: Option<u32>,
    pub(crate) ping_seq: u32,
}

impl Timers {
    pub(crate) fn new(now: Instant) -> Timers {
        Timers { now, ..Timers::default() }
    }

    pub(crate) fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    pub(crate) fn after(&self, d: Option<Duration>) -> Option<Instant> {
        d.map(|d| self.now + d)
    }

    pub(crate) fn is_due(&self, deadline: Option<Instant>) -> bool {
        deadline.is_some_and(|d| d <= self.now)
    }
}

/// The earliest of some optional deadlines.
pub(crate) fn earliest(deadlines: &[Option<Instant>]) -> Option<Instant> {
    deadlines.iter().flatten().min().copied()
}
