//! The connection: one state machine from the opening handshake to the closed transport.

mod inbound;
mod input;
mod opening;
mod outbound;
mod output;
mod timers;

use crate::close::CloseFrame;
use crate::config::Config;
use crate::error::{ConnectionError, ProtocolError};
use crate::event::{Closed, Event};
use crate::extension::Extension;
use crate::rng::Random;
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::string::String;
use bytes::{Bytes, BytesMut};
use core::fmt;
use core::time::Duration;

use inbound::Inbound;
pub use input::InputBuffer;
use opening::Handshake;
use outbound::Sending;
use output::Output;
use timers::Timers;

/// The read size `read_hint` asks for by default.
const READ_SIZE: usize = 8 << 10;

/// The read size `read_hint` asks for while the peer is streaming.
const STREAMING_READ_SIZE: usize = 64 << 10;

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
    /// Whether outgoing messages go through the extension (see `set_compression`).
    compress: bool,
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
    /// How many bytes the latest read brought: a full read means more is waiting, so the next
    /// read should go straight into the input buffer (see `read_hint`).
    recent_read: usize,
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
            compress: true,
            extension: None,
            rng: None,
            handshake: None,
            subprotocol: None,
            pending_event: None,
            pending_pong: None,
            close_sent: None,
            close_received: None,
            eof: false,
            recent_read: 0,
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

    /// Records the subprotocol that a handshake done by another HTTP stack agreed (a client's
    /// view of an HTTP/2 WebSocket's response, say), so that
    /// [`subprotocol`](Connection::subprotocol) reports it.
    #[must_use]
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Connection {
        self.subprotocol = subprotocol;
        self
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

    /// Whether messages sent from now on are compressed (when permessage-deflate, or another
    /// extension, was negotiated). On by default. Turn it off around a message that is already
    /// compressed (an image, a zip) or must not share a window with secrets (a token next to
    /// attacker-chosen text, the CRIME/BREACH pattern), then back on. A message already started
    /// in fragments keeps the choice it was started with.
    pub fn set_compression(&mut self, enabled: bool) {
        self.compress = enabled;
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
        self.recent_read = data.len();
        self.timers.heard |= !data.is_empty();
        self.input.extend_from_slice(data);
    }

    /// The input buffer, for reading straight into it instead of copying through
    /// [`receive`](Connection::receive): it is a [`bytes::BufMut`] (for tokio-util's
    /// `poll_read_buf`, say) that can only be appended to.
    pub fn input_buffer(&mut self) -> InputBuffer<'_> {
        InputBuffer::new(&mut self.input, &mut self.recent_read, &mut self.timers.heard, self.inbound.is_idle())
    }

    /// How many bytes the connection would like next, and the most a read should take: the rest
    /// of the frame being read if that is known, else a default read size. Zero once no more
    /// input is wanted.
    ///
    /// The default is 8 KiB, or 64 KiB while the peer is streaming (the latest read was at least
    /// 8 KiB, so more is probably waiting). While a frame of 64 KiB or more is being read, the
    /// hint is exactly the rest of it, even when that is only a few bytes: a read that stopped
    /// there lets the frame leave the buffer whole, where one that ran on into the next frame
    /// would leave those bytes behind, to be moved to the front of the buffer (a copy of up to a
    /// whole read per message). Adapters read up to 16 KiB into a buffer on the stack and copy it
    /// in (an idle connection then holds no read buffer), and read larger hints straight into
    /// [`input_buffer`](Connection::input_buffer), without the copy.
    pub fn read_hint(&self) -> usize {
        if !self.wants_input() {
            return 0;
        }
        let rest = self.inbound.remaining_in_frame(self.input.len());
        match rest {
            Some(rest) if rest > 0 && self.inbound.in_place_frame_of(STREAMING_READ_SIZE) => rest,
            _ => {
                let default = if self.recent_read >= READ_SIZE { STREAMING_READ_SIZE } else { READ_SIZE };
                rest.unwrap_or(0).max(default)
            }
        }
    }

    /// Lets go of the input buffer's allocation once everything in it is consumed and the peer is
    /// not streaming, so that a quiet connection holds none. (Received messages share the
    /// allocation and keep it alive as long as they live.)
    fn release_idle_input(&mut self) {
        if self.input.is_empty() && self.recent_read < READ_SIZE && self.input.capacity() > 0 {
            self.input = BytesMut::new();
        }
    }

    /// The transport reached end of file: the peer will send nothing more.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    // ---------------------------------------------------------------------------------------
    // Events

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
                    self.release_idle_input();
                    if self.eof {
                        self.on_eof();
                    }
                    self.pending_event.take()
                }
                Err(e) => Some(self.fail(e)),
            },
        }
    }

    /// The closing handshake is complete. A server ends the transport now; a client waits for
    /// the server to do it (RFC 6455 §7.1.1), up to the close timeout.
    fn after_close_exchange(&mut self) {
        match self.role {
            Role::Server => self.finish(true, None),
            Role::Client => {
                self.state = State::AwaitingEof;
                self.timers.start_close(self.settings.close_timeout);
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
