//! Deadlines: the handshake, keepalive, idle and close timers. The connection never reads a
//! clock; it keeps the latest time it was told.

use super::{Connection, State};
use crate::close::CloseCode;
use crate::error::ConnectionError;
use crate::frame::OpCode;
use crate::time::Instant;
use core::time::Duration;

#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    /// The latest time passed in. Never goes backwards.
    pub(crate) now: Instant,
    pub(crate) handshake: Option<Instant>,
    /// Waiting for the peer's close frame, or (client) for the server to end the transport.
    pub(crate) close: CloseTimer,
    pub(crate) next_ping: Option<Instant>,
    pub(crate) pong: Option<Instant>,
    pub(crate) idle: Option<Instant>,
    /// When the extension may free its working state (see `Extension::hibernate_after`).
    pub(crate) hibernate: Option<Instant>,
    /// The payload of the keepalive ping in flight, if any.
    pub(crate) ping_in_flight: Option<u32>,
    /// How many bytes of output are still to be written before the keepalive ping is out, when
    /// it was queued behind other output (zero otherwise).
    pub(crate) ping_unwritten: usize,
    /// A sign of life since the time was last passed in: bytes arrived from the peer, or the
    /// transport took output that the keepalive ping was waiting behind.
    pub(crate) heard: bool,
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

    /// Starts the close timer. The latest time passed in may be long past: an application can
    /// close a connection that has been quiet for a minute without telling the time first. So
    /// the timer runs from the next time passed in, which [`Connection::poll_timeout`] asks for
    /// at once.
    pub(crate) fn start_close(&mut self, d: Option<Duration>) {
        self.close = d.map_or(CloseTimer::Off, CloseTimer::Unplaced);
    }

    pub(crate) fn after(&self, d: Option<Duration>) -> Option<Instant> {
        d.map(|d| self.now + d)
    }

    pub(crate) fn is_due(&self, deadline: Option<Instant>) -> bool {
        deadline.is_some_and(|d| d <= self.now)
    }
}

/// The close timer. It is started by the application or the peer, at a time the connection may
/// not know: the latest time it was told can be long past (see [`Timers::start_close`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) enum CloseTimer {
    #[default]
    Off,
    /// Started, but not yet placed in time: it runs from the next time passed in.
    Unplaced(Duration),
    At(Instant),
}

impl CloseTimer {
    /// The deadline, once placed.
    fn at(self) -> Option<Instant> {
        match self {
            CloseTimer::At(at) => Some(at),
            CloseTimer::Off | CloseTimer::Unplaced(_) => None,
        }
    }
}

/// The earliest of some optional deadlines.
pub(crate) fn earliest(deadlines: &[Option<Instant>]) -> Option<Instant> {
    deadlines.iter().flatten().min().copied()
}

impl Connection {
    /// Tells the connection the time, and acts on any deadline that has passed.
    ///
    /// Call it when the deadline from [`poll_timeout`](Connection::poll_timeout) passes, then
    /// drain events and output. Calling it at other times (on every wake-up, say) is harmless and
    /// keeps the idle timer precise; a time earlier than one seen before is ignored.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timers.advance(now);
        if let CloseTimer::Unplaced(d) = self.timers.close {
            self.timers.close = CloseTimer::At(self.timers.now + d);
        }
        let t = &self.timers;
        match self.state {
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => {
                if t.is_due(t.handshake) {
                    self.handshake_timed_out();
                }
            }
            State::Open => {
                if t.is_due(t.hibernate) {
                    self.hibernate();
                }
                if core::mem::take(&mut self.timers.heard) && self.timers.pong.is_some() {
                    // The peer is alive, just slow to answer (its pong is behind the data it
                    // sends, or our ping is behind ours): it gets the whole timeout again.
                    self.timers.pong = self.timers.after(self.settings.ping_timeout);
                }
                let t = &self.timers;
                if t.is_due(t.pong) {
                    self.keepalive_timed_out();
                } else if t.is_due(t.idle) {
                    self.timers.idle = None;
                    let _ = self.close(CloseCode::GOING_AWAY, "idle timeout");
                } else if t.is_due(t.next_ping) {
                    self.send_keepalive_ping();
                }
            }
            State::CloseSent | State::CloseReceived => {
                if t.is_due(t.close.at()) {
                    self.finish(false, Some(ConnectionError::CloseTimeout));
                }
            }
            State::AwaitingEof => {
                if t.is_due(t.close.at()) {
                    // The closing handshake completed; the server just did not end the transport.
                    self.finish(true, None);
                }
            }
            State::Closed => {}
        }
    }

    /// The next deadline. Sleep until then and call [`handle_timeout`](Connection::handle_timeout).
    ///
    /// Never earlier than the latest time passed in, unless a deadline is already due. Right after
    /// a close frame is sent or received it is the latest time passed in: the close timeout
    /// starts from the current time, which the connection does not know until it is told.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        match self.state {
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => t.handshake,
            // A sign of life moves the pong deadline, from a time the connection must be told.
            State::Open if t.heard && t.pong.is_some() => Some(t.now),
            State::Open => earliest(&[t.pong, t.idle, t.next_ping, t.hibernate]),
            State::CloseSent | State::CloseReceived | State::AwaitingEof => match t.close {
                CloseTimer::Off => None,
                // Due at once: "tell me the time".
                CloseTimer::Unplaced(_) => Some(t.now),
                CloseTimer::At(at) => Some(at),
            },
            State::Closed => None,
        }
    }

    /// Starts the timers of an open connection.
    pub(super) fn on_open(&mut self) {
        self.timers.handshake = None;
        self.timers.next_ping = self.timers.after(self.settings.ping_interval);
        self.timers.idle = self.timers.after(self.settings.idle_timeout);
        self.handshake = None;
    }

    fn send_keepalive_ping(&mut self) {
        self.timers.next_ping = self.timers.after(self.settings.ping_interval);
        if self.timers.ping_in_flight.is_some() {
            return;
        }
        self.timers.ping_seq = self.timers.ping_seq.wrapping_add(1);
        let seq = self.timers.ping_seq;
        let ahead = self.output.len();
        self.write_control(OpCode::Ping, &seq.to_be_bytes());
        self.timers.ping_in_flight = Some(seq);
        // Behind other output, the ping may wait long before it is even sent: the transport
        // taking that output counts as a sign of life (see `advance_output`).
        self.timers.ping_unwritten = if ahead > 0 { self.output.len() } else { 0 };
        self.timers.heard = false;
        self.timers.pong = self.timers.after(self.settings.ping_timeout);
    }

    fn keepalive_timed_out(&mut self) {
        self.write_close(CloseCode::INTERNAL_ERROR, "keepalive ping timeout");
        self.finish(false, Some(ConnectionError::KeepaliveTimeout));
    }

    /// A whole message went through the extension: arm its hibernation, or hibernate now if it
    /// asks to after every message.
    pub(super) fn extension_used(&mut self) {
        let Some(ext) = self.extension.as_ref() else { return };
        match ext.hibernate_after() {
            Some(d) if d.is_zero() => self.hibernate(),
            d => self.timers.hibernate = self.timers.after(d),
        }
    }

    /// The connection has been quiet for the extension's delay: free everything that the next
    /// message can rebuild. The extension keeps its windows; the buffers go entirely.
    fn hibernate(&mut self) {
        self.timers.hibernate = None;
        if let Some(ext) = self.extension.as_mut() {
            ext.hibernate();
        }
        self.scratch = bytes::BytesMut::new();
        if self.input.is_empty() {
            // Quiet for a while: whatever the last read was, the peer is not streaming now.
            self.input = bytes::BytesMut::new();
            self.recent_read = 0;
        }
    }

    /// Restarts the idle timer: something arrived.
    #[inline]
    pub(super) fn mark_activity(&mut self) {
        if self.settings.idle_timeout.is_some() {
            self.timers.idle = self.timers.after(self.settings.idle_timeout);
        }
    }
}
