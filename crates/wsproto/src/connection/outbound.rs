//! The write path: commands that queue frames, and the output the caller drains.

use super::{Connection, Role, State};
use crate::close::{CloseCode, CloseFrame};
use crate::error::LocalError;
use crate::event::{Message, MessageKind};
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::utf8::Utf8Bytes;
use alloc::string::String;
use bytes::{Bytes, BytesMut};

/// A payload to send: borrowed (it is copied into the output) or owned (a large unmasked one is
/// queued as it is, without a copy).
enum Payload<'a> {
    Borrowed(&'a [u8]),
    Owned(Bytes),
}

impl Payload<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Borrowed(s) => s,
            Payload::Owned(b) => b,
        }
    }
}

/// An outgoing fragmented message in progress.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sending {
    kind: MessageKind,
    transformed: bool,
}

impl Connection {
    /// The next bytes to write to the transport: the first contiguous chunk of the output.
    #[inline]
    pub fn pending_output(&self) -> &[u8] {
        self.output.first()
    }

    /// Fills `dst` with every buffered chunk in order, for a vectored write; returns how many.
    pub fn pending_output_slices<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        self.output.slices(dst)
    }

    /// Marks `n` bytes of output as written.
    ///
    /// # Panics
    ///
    /// If `n` is more than [`output_len`](Connection::output_len).
    pub fn advance_output(&mut self, n: usize) {
        self.output.advance(n);
        if self.timers.ping_unwritten > 0 && n > 0 {
            // The transport took bytes that our keepalive ping waits behind. Once the transport
            // is full, it only takes more as the peer reads: the peer is alive.
            self.timers.ping_unwritten = self.timers.ping_unwritten.saturating_sub(n);
            self.timers.heard = true;
        }
        if let Some(payload) = self.pending_pong.take() {
            if self.output.len() < self.settings.write_limit {
                self.write_control(OpCode::Pong, &payload);
            } else {
                self.pending_pong = Some(payload);
            }
        }
    }

    /// How many bytes wait to be written.
    #[inline]
    pub fn output_len(&self) -> usize {
        self.output.len()
    }

    /// Whether the output buffer is at or over its limit, so that sends would fail.
    pub fn is_write_buffer_full(&self) -> bool {
        self.output.len() >= self.settings.write_limit
    }

    /// Moves all pending output to the end of `out`. A convenience for tests and simple loops.
    pub fn drain_output_into(&mut self, out: &mut alloc::vec::Vec<u8>) {
        while self.output_len() > 0 {
            let chunk = self.pending_output();
            out.extend_from_slice(chunk);
            let n = chunk.len();
            self.advance_output(n);
        }
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), LocalError> {
        self.send_data(MessageKind::Text, Payload::Borrowed(text.as_bytes()))
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), LocalError> {
        self.send_data(MessageKind::Binary, Payload::Borrowed(data))
    }

    /// Sends a [`Message`]. Large binary and text payloads from a server are queued as they are,
    /// without a copy; small ones are copied into the output and their `Bytes` dropped here.
    #[inline]
    pub fn send(&mut self, message: Message) -> Result<(), LocalError> {
        match message {
            Message::Text(t) => self.send_data(MessageKind::Text, Payload::Owned(t.into_bytes())),
            Message::Binary(b) => self.send_data(MessageKind::Binary, Payload::Owned(b)),
            Message::Ping(p) => self.ping(&p),
            Message::Pong(p) => self.pong(&p),
            Message::Close(None) => self.close(CloseCode::NO_STATUS, ""),
            Message::Close(Some(f)) => self.close(f.code, f.reason.as_str()),
            Message::Fragment { kind, payload, last, .. } => self.send_fragment(kind, &payload, last),
        }
    }

    /// Sends a message encoded once for many connections. A server that is not compressing
    /// queues the prepared frame itself, shared and not copied (small frames are copied into the
    /// output with the frames around them, as any small frame is); a client, or a connection
    /// compressing with permessage-deflate, encodes the message as [`send`](Connection::send)
    /// does. See [`PreparedMessage`](crate::PreparedMessage).
    pub fn send_prepared(&mut self, message: &crate::PreparedMessage) -> Result<(), LocalError> {
        let compressing = self.compress && self.extension.is_some();
        if self.role == Role::Client || compressing {
            return self.send_data(message.kind(), Payload::Owned(message.payload().clone()));
        }
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(LocalError::FragmentInProgress);
        }
        self.output.push_encoded(message.frame().clone());
        Ok(())
    }

    /// Sends one fragment of a message. The first call starts a message of `kind`; the call with
    /// `last` set ends it. Control frames may be sent between fragments; other messages may not.
    ///
    /// For text, each fragment must be valid UTF-8 on its own, since `&str` is.
    pub fn send_fragment(&mut self, kind: MessageKind, data: &[u8], last: bool) -> Result<(), LocalError> {
        self.check_can_send()?;
        let (opcode, transformed, rsv) = match self.sending {
            Some(s) if s.kind != kind => return Err(LocalError::FragmentKindMismatch),
            Some(s) => (OpCode::Continuation, s.transformed, 0),
            None => {
                let rsv = match self.extension.as_mut() {
                    Some(e) if self.compress => e.begin_encode(None),
                    _ => 0,
                };
                (kind_opcode(kind), rsv != 0, rsv)
            }
        };
        self.write_data_frame(opcode, rsv, transformed, Payload::Borrowed(data), last)?;
        self.sending = if last { None } else { Some(Sending { kind, transformed }) };
        Ok(())
    }

    /// Sends a ping. At most 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), LocalError> {
        self.check_control(payload.len())?;
        self.write_control(OpCode::Ping, payload);
        Ok(())
    }

    /// Sends an unsolicited pong (a one-way heartbeat). At most 125 bytes of payload.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), LocalError> {
        self.check_control(payload.len())?;
        self.write_control(OpCode::Pong, payload);
        Ok(())
    }

    /// Starts the closing handshake, or answers the peer's close when `auto_close` is off.
    ///
    /// `code` must be valid on the wire, or [`CloseCode::NO_STATUS`] to send a close frame without
    /// a code. `reason` is at most 123 bytes.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), LocalError> {
        if code != CloseCode::NO_STATUS && !code.is_valid_on_wire() {
            return Err(LocalError::InvalidCloseCode(code));
        }
        if code == CloseCode::NO_STATUS && !reason.is_empty() {
            return Err(LocalError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(LocalError::ControlPayloadTooLong(reason.len() + 2));
        }
        match self.state {
            State::Open => {
                self.write_close(code, reason);
                self.state = State::CloseSent;
                self.timers.start_close(self.settings.close_timeout);
                Ok(())
            }
            State::CloseReceived => {
                self.write_close(code, reason);
                self.after_close_exchange();
                Ok(())
            }
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => Err(LocalError::NotOpen),
            State::CloseSent | State::AwaitingEof | State::Closed => Err(LocalError::Closing),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Internals of the write path

    fn check_can_send(&self) -> Result<(), LocalError> {
        match self.state {
            State::Open | State::CloseReceived => {}
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => {
                return Err(LocalError::NotOpen);
            }
            _ => return Err(LocalError::Closing),
        }
        if self.output.len() >= self.settings.write_limit {
            return Err(LocalError::WriteBufferFull { buffered: self.output.len(), limit: self.settings.write_limit });
        }
        Ok(())
    }

    fn check_control(&self, len: usize) -> Result<(), LocalError> {
        if len > MAX_CONTROL_PAYLOAD {
            return Err(LocalError::ControlPayloadTooLong(len));
        }
        self.check_can_send()
    }

    #[inline]
    fn send_data(&mut self, kind: MessageKind, data: Payload<'_>) -> Result<(), LocalError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(LocalError::FragmentInProgress);
        }
        let rsv = match self.extension.as_mut() {
            Some(e) if self.compress => e.begin_encode(Some(data.as_slice().len())),
            _ => 0,
        };
        self.write_data_frame(kind_opcode(kind), rsv, rsv != 0, data, true)
    }

    /// Queues one data frame, through the extension if the message is transformed.
    #[inline]
    fn write_data_frame(&mut self, opcode: OpCode, rsv: u8, transformed: bool, data: Payload<'_>, fin: bool) -> Result<(), LocalError> {
        let mask = self.next_mask();
        let raw = !transformed || {
            let ext = self.extension.as_mut().expect("a transformed message has an extension");
            let data = data.as_slice();
            self.scratch.clear();
            ext.encode(data, fin, &mut self.scratch).map_err(LocalError::Extension)?;
            let whole = fin && opcode != OpCode::Continuation;
            // Incompressible: the message goes out as it is, smaller than its encoding.
            let incompressible = whole && self.scratch.len() >= data.len() && ext.discard_encode();
            if !incompressible {
                self.output.push_frame(opcode, fin, rsv, &self.scratch, mask);
            }
            if self.scratch.capacity() > 64 << 10 {
                self.scratch = BytesMut::new();
            }
            if fin {
                self.extension_used();
            }
            incompressible
        };
        if raw {
            match data {
                Payload::Owned(bytes) => self.output.push_frame_bytes(opcode, fin, 0, bytes, mask),
                Payload::Borrowed(data) => self.output.push_frame(opcode, fin, 0, data, mask),
            }
        }
        Ok(())
    }

    pub(super) fn write_control(&mut self, opcode: OpCode, payload: &[u8]) {
        let mask = self.next_mask();
        self.output.push_frame(opcode, true, 0, payload, mask);
    }

    pub(super) fn write_close(&mut self, code: CloseCode, reason: &str) {
        let reason = if code == CloseCode::NO_STATUS { "" } else { truncate_utf8(reason, MAX_CONTROL_PAYLOAD - 2) };
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = if code == CloseCode::NO_STATUS {
            0
        } else {
            payload[..2].copy_from_slice(&code.0.to_be_bytes());
            payload[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
            2 + reason.len()
        };
        self.write_control(OpCode::Close, &payload[..len]);
        self.close_sent = Some(CloseFrame { code, reason: Utf8Bytes::from(String::from(reason)) });
        // Nothing but the close frame may follow.
        self.pending_pong = None;
        self.sending = None;
    }

    /// A mask key for the next frame: fresh random bytes for a client, none for a server.
    #[inline]
    fn next_mask(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Server => None,
            Role::Client => {
                let mut key = [0u8; 4];
                self.rng.as_mut().expect("a client connection has a random source").fill(&mut key);
                Some(key)
            }
        }
    }
}

fn kind_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}

/// The longest prefix of `s` that fits in `max` bytes without splitting a code point.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
