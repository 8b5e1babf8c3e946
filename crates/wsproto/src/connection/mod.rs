//! The connection: one state machine from the opening handshake to the closed transport.

mod inbound;
mod opening;
mod output;
mod timers;

use crate::close::{CloseCode, CloseFrame};
use crate::config::Config;
use crate::error::{ConnectionError, LocalError, ProtocolError};
use crate::event::{Closed, Event, Message, MessageKind};
use crate::extension::Extension;
use crate::frame::{MAX_CONTROL_PAYLOAD, OpCode};
use crate::rng::Random;
use crate::time::Instant;
use crate::utf8::Utf8Bytes;
use alloc::boxed::Box;
use alloc::string::String;
use bytes::{Bytes, BytesMut};
use core::fmt;
use core::time::Duration;

use inbound::Inbound;
use opening::Handshake;
use output::Output;
use timers::{Timers, earliest};

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the opening request and masks its frames.
    Client,
    /// Answers the opening request; its frames are not masked.
    Server,
}

/// The coarse state of a connection, for callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The opening handshake is under way.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received; the closing handshake is under way.
    Closing,
    /// The connection is over.
    Closed,
}

/// The states of the one state machine. Handshake details live in [`Handshake`], which is
/// dropped once the connection opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Server: reading the request head.
    AwaitingRequest,
    /// Server: the request was handed out; waiting for `accept` or `reject`.
    RequestPending,
    /// Client: the request is queued; reading the response head.
    AwaitingResponse,
    /// Client: the response was not 101; reading its body.
    ReadingRejection,
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent,
    /// The peer's close frame arrived and `auto_close` is off: the application must answer.
    CloseReceived,
    /// Client: both close frames were exchanged; waiting for the server to end the transport.
    AwaitingEof,
    Closed,
}

/// The parts of [`Config`] that outlive the handshake.
#[derive(Clone, Copy, Debug)]
struct Settings {
    max_message: usize,
    max_frame: usize,
    write_limit: usize,
    auto_pong: bool,
    auto_close: bool,
    stream_fragments: bool,
    close_timeout: Option<Duration>,
    ping_interval: Option<Duration>,
    ping_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl Settings {
    fn from_config(c: &Config) -> Settings {
        Settings {
            max_message: c.max_message_size,
            max_frame: c.max_frame_size,
            write_limit: c.write_buffer_limit,
            auto_pong: c.auto_pong,
            auto_close: c.auto_close,
            stream_fragments: c.stream_fragments,
            close_timeout: c.close_timeout,
            ping_interval: c.ping_interval,
            ping_timeout: c.ping_timeout,
            idle_timeout: c.idle_timeout,
        }
    }
}

/// An outgoing fragmented message in progress.
#[derive(Clone, Copy, Debug)]
struct Sending {
    kind: MessageKind,
    transformed: bool,
}

/// A WebSocket connection, client or server, without I/O.
///
/// # Methods, by kind
///
/// - **Constructors**: [`client`](Connection::client), [`server`](Connection::server), and
///   [`upgraded_server`](Connection::upgraded_server) / [`upgraded_client`](Connection::upgraded_client)
///   for a transport whose handshake another HTTP stack did.
/// - **Input**: [`receive`](Connection::receive) (or [`input_buffer`](Connection::input_buffer)
///   to read straight into the connection), [`receive_eof`](Connection::receive_eof), and
///   [`handle_timeout`](Connection::handle_timeout).
/// - **Commands**: [`accept`](Connection::accept), [`reject`](Connection::reject),
///   [`send_text`](Connection::send_text), [`send_binary`](Connection::send_binary),
///   [`send`](Connection::send), [`send_fragment`](Connection::send_fragment),
///   [`ping`](Connection::ping), [`pong`](Connection::pong), [`close`](Connection::close).
/// - **Output**: [`poll_event`](Connection::poll_event), [`pending_output`](Connection::pending_output)
///   with [`advance_output`](Connection::advance_output), and [`poll_timeout`](Connection::poll_timeout).
/// - **Getters**: [`state`](Connection::state), [`role`](Connection::role),
///   [`subprotocol`](Connection::subprotocol), [`output_len`](Connection::output_len), ...
///
/// See the [crate documentation](crate) for the run loop.
pub struct Connection {
    role: Role,
    state: State,
    settings: Settings,
    timers: Timers,
    input: BytesMut,
    output: Output,
    inbound: Inbound,
    sending: Option<Sending>,
    extension: Option<Box<dyn Extension>>,
    rng: Option<Box<dyn Random>>,
    handshake: Option<Box<Handshake>>,
    subprotocol: Option<String>,
    /// An event decided on but not yet returned by `poll_event`.
    pending_event: Option<Event>,
    /// The latest ping payload whose automatic pong did not fit in the output buffer.
    pending_pong: Option<Bytes>,
    close_sent: Option<CloseFrame>,
    close_received: Option<CloseFrame>,
    eof: bool,
    /// Reused output space for extensions that transform outgoing messages.
    scratch: BytesMut,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_input", &self.input.len())
            .field("buffered_output", &self.output.len())
            .field("extension", &self.extension)
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(role: Role, state: State, config: &Config, now: Instant) -> Connection {
        Connection {
            role,
            state,
            settings: Settings::from_config(config),
            timers: Timers::new(now),
            input: BytesMut::new(),
            output: Output::default(),
            inbound: Inbound::default(),
            sending: None,
            extension: None,
            rng: None,
            handshake: None,
            subprotocol: None,
            pending_event: None,
            pending_pong: None,
            close_sent: None,
            close_received: None,
            eof: false,
            scratch: BytesMut::new(),
        }
    }

    /// A server connection whose opening handshake another HTTP stack (hyper, axum) completed.
    ///
    /// `extension` is what that handshake negotiated, for example the result of
    /// [`deflate::negotiate_server`](crate::deflate::negotiate_server).
    pub fn upgraded_server(config: Config, extension: Option<Box<dyn Extension>>, now: Instant) -> Connection {
        let mut conn = Connection::new(Role::Server, State::Open, &config, now);
        conn.extension = extension;
        conn.on_open();
        conn
    }

    /// A client connection whose opening handshake another HTTP stack completed.
    pub fn upgraded_client(config: Config, extension: Option<Box<dyn Extension>>, rng: Box<dyn Random>, now: Instant) -> Connection {
        let mut conn = Connection::new(Role::Client, State::Open, &config, now);
        conn.extension = extension;
        conn.rng = Some(rng);
        conn.on_open();
        conn
    }

    // ---------------------------------------------------------------------------------------
    // Getters

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The coarse state.
    pub fn state(&self) -> ConnectionState {
        match self.state {
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => {
                ConnectionState::Connecting
            }
            State::Open => ConnectionState::Open,
            State::CloseSent | State::CloseReceived | State::AwaitingEof => ConnectionState::Closing,
            State::Closed => ConnectionState::Closed,
        }
    }

    /// Whether messages can be sent.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is over. Write out any pending output, then close the transport.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the connection still wants input from the transport.
    pub fn wants_input(&self) -> bool {
        !matches!(self.state, State::Closed | State::RequestPending) && !self.eof
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The negotiated extension, if any.
    pub fn extension(&self) -> Option<&dyn Extension> {
        self.extension.as_deref()
    }

    /// Whether both close frames have been exchanged. A transport error after this point (a
    /// peer that resets the connection instead of closing it) loses nothing: treat it as end of
    /// file.
    pub fn is_close_handshake_complete(&self) -> bool {
        self.close_sent.is_some() && self.close_received.is_some()
    }

    /// The close frame this side sent, if any.
    pub fn close_sent(&self) -> Option<&CloseFrame> {
        self.close_sent.as_ref()
    }

    /// The close frame the peer sent, if any.
    pub fn close_received(&self) -> Option<&CloseFrame> {
        self.close_received.as_ref()
    }

    // ---------------------------------------------------------------------------------------
    // Input

    /// Hands bytes from the transport to the connection.
    ///
    /// Nothing is parsed until [`poll_event`](Connection::poll_event). Call it until it returns
    /// `None` before receiving more: that keeps the input buffer within one frame plus one read.
    #[inline]
    pub fn receive(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// The input buffer, for reading straight into it (with tokio's `read_buf`, for example)
    /// instead of copying through [`receive`](Connection::receive). Only append to it.
    pub fn input_buffer(&mut self) -> &mut BytesMut {
        &mut self.input
    }

    /// How many bytes the connection would like next: the rest of the frame being read if that is
    /// known, else a default read size. Zero once no more input is wanted.
    pub fn read_hint(&self) -> usize {
        if !self.wants_input() {
            return 0;
        }
        self.inbound.remaining_in_frame(self.input.len()).unwrap_or(0).max(8 << 10)
    }

    /// The transport reached end of file: the peer will send nothing more.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Tells the connection the time, and acts on any deadline that has passed.
    ///
    /// Call it when the deadline from [`poll_timeout`](Connection::poll_timeout) passes, then
    /// drain events and output. Calling it at other times (on every wake-up, say) is harmless and
    /// keeps the idle timer precise; a time earlier than one seen before is ignored.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timers.advance(now);
        let t = &self.timers;
        match self.state {
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => {
                if t.is_due(t.handshake) {
                    self.handshake_timed_out();
                }
            }
            State::Open => {
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
                if t.is_due(t.close) {
                    self.finish(false, Some(ConnectionError::CloseTimeout));
                }
            }
            State::AwaitingEof => {
                if t.is_due(t.close) {
                    // The closing handshake completed; the server just did not end the transport.
                    self.finish(true, None);
                }
            }
            State::Closed => {}
        }
    }

    /// The next deadline. Sleep until then and call [`handle_timeout`](Connection::handle_timeout).
    ///
    /// Never earlier than the latest time passed in, unless a deadline is already due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        match self.state {
            State::AwaitingRequest | State::RequestPending | State::AwaitingResponse | State::ReadingRejection => t.handshake,
            State::Open => earliest(&[t.pong, t.idle, t.next_ping]),
            State::CloseSent | State::CloseReceived | State::AwaitingEof => t.close,
            State::Closed => None,
        }
    }

    // ---------------------------------------------------------------------------------------
    // Output

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

    /// The next event, or `None` when more input (or a timeout) is needed.
    ///
    /// Parsing happens here, so automatic pongs and close replies are queued here too: write out
    /// the output after draining the events.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.pending_event.is_some() {
            return self.pending_event.take();
        }
        // The common case first: a whole small message waiting in the buffer.
        match self.whole_small_message() {
            Ok(Some(ev)) => return Some(ev),
            Ok(None) => {}
            Err(e) => return Some(self.fail(e)),
        }
        self.poll_event_slow()
    }

    /// Everything but the fast path: handshakes, frames in pieces, control frames, closing.
    #[inline(never)]
    fn poll_event_slow(&mut self) -> Option<Event> {
        match self.state {
            State::AwaitingRequest => self.poll_request(),
            State::AwaitingResponse | State::ReadingRejection => self.poll_response(),
            State::RequestPending | State::Closed => None,
            State::Open | State::CloseSent | State::CloseReceived | State::AwaitingEof => match self.read_frames() {
                Ok(Some(ev)) => Some(ev),
                Ok(None) => {
                    if self.eof {
                        self.on_eof();
                    }
                    self.pending_event.take()
                }
                Err(e) => Some(self.fail(e)),
            },
        }
    }

    // ---------------------------------------------------------------------------------------
    // Commands

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), LocalError> {
        self.send_data(MessageKind::Text, text.as_bytes(), None)
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), LocalError> {
        self.send_data(MessageKind::Binary, data, None)
    }

    /// Sends a [`Message`]. Large binary and text payloads from a server are queued without a copy.
    pub fn send(&mut self, message: Message) -> Result<(), LocalError> {
        match message {
            Message::Text(t) => self.send_data(MessageKind::Text, t.as_bytes(), Some(t.as_bytes())),
            Message::Binary(b) => self.send_data(MessageKind::Binary, &b, Some(&b)),
            Message::Ping(p) => self.ping(&p),
            Message::Pong(p) => self.pong(&p),
            Message::Close(None) => self.close(CloseCode::NO_STATUS, ""),
            Message::Close(Some(f)) => self.close(f.code, f.reason.as_str()),
            Message::Fragment { kind, payload, last, .. } => self.send_fragment(kind, &payload, last),
        }
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
                let rsv = self.extension.as_mut().map_or(0, |e| e.begin_encode(None));
                (kind_opcode(kind), rsv != 0, rsv)
            }
        };
        self.write_data_frame(opcode, rsv, transformed, data, None, last)?;
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
                self.timers.close = self.timers.after(self.settings.close_timeout);
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
    // Internals shared by the parts of the state machine

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

    fn send_data(&mut self, kind: MessageKind, data: &[u8], owned: Option<&Bytes>) -> Result<(), LocalError> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(LocalError::FragmentInProgress);
        }
        let rsv = self.extension.as_mut().map_or(0, |e| e.begin_encode(Some(data.len())));
        self.write_data_frame(kind_opcode(kind), rsv, rsv != 0, data, owned, true)
    }

    /// Queues one data frame, through the extension if the message is transformed.
    fn write_data_frame(
        &mut self,
        opcode: OpCode,
        rsv: u8,
        transformed: bool,
        data: &[u8],
        owned: Option<&Bytes>,
        fin: bool,
    ) -> Result<(), LocalError> {
        let mask = self.next_mask();
        let raw = !transformed || {
            let ext = self.extension.as_mut().expect("a transformed message has an extension");
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
            incompressible
        };
        if raw {
            match owned {
                Some(bytes) => self.output.push_frame_bytes(opcode, fin, 0, bytes.clone(), mask),
                None => self.output.push_frame(opcode, fin, 0, data, mask),
            }
        }
        Ok(())
    }

    fn write_control(&mut self, opcode: OpCode, payload: &[u8]) {
        let mask = self.next_mask();
        self.output.push_frame(opcode, true, 0, payload, mask);
    }

    fn write_close(&mut self, code: CloseCode, reason: &str) {
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

    /// Starts the timers of an open connection.
    fn on_open(&mut self) {
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
        self.write_control(OpCode::Ping, &seq.to_be_bytes());
        self.timers.ping_in_flight = Some(seq);
        self.timers.pong = self.timers.after(self.settings.ping_timeout);
    }

    fn keepalive_timed_out(&mut self) {
        self.write_close(CloseCode::INTERNAL_ERROR, "keepalive ping timeout");
        self.finish(false, Some(ConnectionError::KeepaliveTimeout));
    }

    /// The closing handshake is complete. A server ends the transport now; a client waits for
    /// the server to do it (RFC 6455 §7.1.1), up to the close timeout.
    fn after_close_exchange(&mut self) {
        match self.role {
            Role::Server => self.finish(true, None),
            Role::Client => {
                self.state = State::AwaitingEof;
                self.timers.close = self.timers.after(self.settings.close_timeout);
                if self.eof {
                    self.finish(true, None);
                }
            }
        }
    }

    fn on_eof(&mut self) {
        match self.state {
            State::AwaitingEof => self.finish(true, None),
            State::CloseReceived => self.finish(false, None),
            State::Open | State::CloseSent => self.finish(false, Some(ConnectionError::UnexpectedEof)),
            _ => {}
        }
    }

    /// Fails the connection for a protocol error: sends the matching close frame if a close may
    /// still be sent, and stops reading (RFC 6455 §7.1.7).
    fn fail(&mut self, err: ProtocolError) -> Event {
        if matches!(self.state, State::Open | State::CloseReceived) {
            let reason = alloc::format!("{err}");
            self.write_close(err.close_code(), &reason);
        }
        self.finish(false, Some(ConnectionError::Protocol(err)));
        self.pending_event.take().expect("finish queues the Closed event")
    }

    /// Enters `Closed` and queues the `Closed` event.
    fn finish(&mut self, clean: bool, error: Option<ConnectionError>) {
        self.state = State::Closed;
        self.input = BytesMut::new();
        self.inbound = Inbound::default();
        self.handshake = None;
        self.pending_pong = None;
        self.timers = Timers::new(self.timers.now);
        self.pending_event =
            Some(Event::Closed(Box::new(Closed { sent: self.close_sent.clone(), received: self.close_received.clone(), clean, error })));
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
