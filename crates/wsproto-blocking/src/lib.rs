//! Blocking WebSocket over std `Read + Write`, on the wsproto sans-IO core.
//!
//! ```no_run
//! use wsproto_blocking::{Message, connect};
//!
//! let (mut ws, _response) = connect("ws://127.0.0.1:9001/echo")?;
//! ws.send(Message::text("hello"))?;
//! let reply = ws.read()?;
//! println!("{reply:?}");
//! ws.close(None)?;
//! # Ok::<(), wsproto_blocking::Error>(())
//! ```
//!
//! Deadlines (keepalive, close and handshake timeouts) need a read that can time out: the
//! [`Stream`] trait sets a read timeout before each blocking read, and is implemented for
//! `TcpStream`, the TLS stream and [`MaybeTlsStream`]. Any other `Read + Write` type can
//! implement it with the default methods, and then simply has no timers.
//!
//! On a non-blocking stream, [`WebSocket::read`], [`send`](WebSocket::send) and
//! [`flush`](WebSocket::flush) return [`Error::Io`] with `ErrorKind::WouldBlock` instead of
//! waiting; call them again when the stream is ready. Nothing is lost: a message that was queued
//! stays queued, and a partly written frame goes on from where it stopped.

#![deny(missing_docs)]

#[cfg(feature = "rustls")]
mod tls;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;
use wsproto::{Closed, Connection, Event, Instant};
use wsproto_io::LINGER;
use wsproto_io::message::{Converted, to_message};

#[cfg(feature = "rustls")]
pub use tls::MaybeTlsStream;
pub use wsproto_io::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, Config, Error, IntoClientRequest, Message, MessageKind, Reject, Request, Result,
    Role, Utf8Bytes,
};
pub use wsproto_io::{default_config, http, wsproto};

/// A byte stream that a [`WebSocket`] can run on.
pub trait Stream: Read + Write {
    /// Limits how long the next read may block (`None`: no limit). The default does nothing,
    /// which means the connection's timers only run when data arrives.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Ends the write side (for TCP: sends FIN). The default flushes.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl Stream for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl Stream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// The stream type that [`connect`] returns.
#[cfg(feature = "rustls")]
pub type ClientStream = MaybeTlsStream<TcpStream>;
/// The stream type that [`connect`] returns.
#[cfg(not(feature = "rustls"))]
pub type ClientStream = TcpStream;

/// Reads up to this many bytes into a buffer on the stack; larger reads (the rest of a big
/// frame) go straight into the connection's input buffer.
const STACK_READ: usize = 16 << 10;

/// A blocking WebSocket connection.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// The core reported `Closed`; the transport still needs flushing and shutting down.
    closing: Option<Closed>,
    ended: bool,
    /// The stream reached end of file.
    eof: bool,
    /// The deadline the stream's read timeout was last set for.
    timeout_for: Option<Instant>,
}

/// Connects to a `ws://` or `wss://` URL (or an `http::Request`) with [`default_config`].
pub fn connect(request: impl IntoClientRequest) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    connect_with(request, default_config())
}

/// Connects with a configuration of your own. `wss://` trusts the webpki roots.
pub fn connect_with(request: impl IntoClientRequest, config: Config) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    #[cfg(feature = "rustls")]
    return connect_with_tls(request, config, None);
    #[cfg(not(feature = "rustls"))]
    {
        let request = request.into_client_request()?;
        if request.is_secure() {
            return Err(Error::Tls("wss:// needs the `rustls` feature".into()));
        }
        let tcp = connect_tcp(&request, &config)?;
        client(&request, tcp, config)
    }
}

/// Connects with a configuration and, for `wss://`, a rustls client configuration of your own
/// (`None`: the webpki roots).
#[cfg(feature = "rustls")]
pub fn connect_with_tls(
    request: impl IntoClientRequest,
    config: Config,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let tcp = connect_tcp(&request, &config)?;
    let stream = if request.is_secure() { MaybeTlsStream::rustls(request.host(), tcp, tls)? } else { MaybeTlsStream::Plain(tcp) };
    client(&request, stream, config)
}

fn connect_tcp(request: &ClientRequest, config: &Config) -> Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let mut last = io::Error::new(ErrorKind::NotFound, "the host has no addresses");
    for addr in (request.host(), request.port()).to_socket_addrs()? {
        let attempt = match config.handshake_timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(tcp) => {
                // Frames are written whole, so Nagle's algorithm only adds latency.
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = e,
        }
    }
    Err(last.into())
}

/// Performs the client handshake over a stream you connected yourself.
pub fn client<S: Stream>(request: impl IntoClientRequest, stream: S, config: Config) -> Result<(WebSocket<S>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let conn = Connection::client(&request, config, Box::new(wsproto::OsRandom::new()), Instant::now())?;
    let mut ws = WebSocket::new(stream, conn);
    loop {
        match ws.next_event()? {
            Event::Connected(response) => return Ok((ws, response.to_http())),
            Event::Closed(closed) => return Err(ws.fail(*closed)),
            _ => {}
        }
    }
}

/// Accepts a WebSocket connection on a stream with [`default_config`].
pub fn accept<S: Stream>(stream: S) -> Result<WebSocket<S>> {
    accept_with(stream, default_config(), |_| Ok(Accept::new()))
}

/// Accepts with a configuration and a callback that accepts the request (choosing a subprotocol,
/// adding headers) or rejects it with its own status, headers and body.
pub fn accept_with<S, F>(stream: S, config: Config, callback: F) -> Result<WebSocket<S>>
where
    S: Stream,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    let mut ws = WebSocket::new(stream, Connection::server(config, Instant::now()));
    let mut callback = Some(callback);
    loop {
        match ws.next_event()? {
            Event::Request(request) => match callback.take().map(|f| f(&request)) {
                Some(Ok(accept)) => {
                    ws.conn.accept(accept)?;
                    ws.flush()?;
                    return Ok(ws);
                }
                Some(Err(reject)) => ws.conn.reject(reject)?,
                None => {}
            },
            Event::Closed(closed) => return Err(ws.fail(*closed)),
            _ => {}
        }
    }
}

/// Wraps a stream whose handshake another HTTP stack did, with the extension it negotiated.
pub fn from_upgraded<S: Stream>(stream: S, role: Role, config: Config, extension: Option<Box<dyn wsproto::Extension>>) -> WebSocket<S> {
    WebSocket::new(stream, wsproto_io::upgraded_connection(role, config, extension, Instant::now()))
}

impl<S: Stream> WebSocket<S> {
    fn new(stream: S, conn: Connection) -> Self {
        WebSocket { stream, conn, closing: None, ended: false, eof: false, timeout_for: None }
    }

    /// Reads the next message. Pings are answered on the way (and returned too).
    ///
    /// After the peer's close frame has been returned as [`Message::Close`], the next call
    /// finishes the closing handshake and returns [`Error::AlreadyClosed`] if it was clean, or the
    /// error that ended the connection.
    pub fn read(&mut self) -> Result<Message> {
        loop {
            match to_message(self.next_event()?) {
                Converted::Message(m) => return Ok(m),
                Converted::Closed(closed) => self.closing = Some(closed),
                Converted::Nothing => {}
            }
        }
    }

    /// Queues a message and writes it out.
    ///
    /// On a non-blocking stream, `Err(Error::Io(e))` with `e.kind() == WouldBlock` means the
    /// message was queued and part of the output is still waiting: call [`flush`](Self::flush)
    /// when the stream is writable. [`Error::Local`]`(`[`WriteBufferFull`](wsproto::LocalError::WriteBufferFull)`)`
    /// means it was not queued.
    pub fn send(&mut self, message: Message) -> Result<()> {
        self.write(message)?;
        self.flush()
    }

    /// Queues a message without flushing, so that several go out in one write.
    ///
    /// If the output buffer is over its limit, this first tries to write it out. When that cannot
    /// make room (a non-blocking stream that would block), the message is not queued and the error
    /// is [`Error::Local`]`(`[`WriteBufferFull`](wsproto::LocalError::WriteBufferFull)`)`.
    pub fn write(&mut self, message: Message) -> Result<()> {
        if self.conn.is_write_buffer_full() {
            match self.flush() {
                Ok(()) => {}
                Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.conn.send(message)?)
    }

    /// Writes out everything queued and flushes the stream.
    pub fn flush(&mut self) -> Result<()> {
        while self.conn.output_len() > 0 {
            let chunk = self.conn.pending_output();
            match self.stream.write(chunk) {
                Ok(0) => return Err(io::Error::from(ErrorKind::WriteZero).into()),
                Ok(n) => self.conn.advance_output(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(self.stream.flush()?)
    }

    /// Closes the connection: sends a close frame (1000 if `frame` is `None`), reads until the
    /// peer answers (discarding messages), and ends the transport. Bounded by the close timeout.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if self.conn.is_open() {
            let frame = frame.unwrap_or_else(|| CloseFrame::new(CloseCode::NORMAL, ""));
            self.conn.close(frame.code, frame.reason.as_str())?;
        }
        loop {
            match self.read() {
                Ok(_) => {}
                Err(Error::AlreadyClosed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether messages can still be sent.
    pub fn can_write(&self) -> bool {
        self.conn.is_open()
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.ended
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.conn.subprotocol()
    }

    /// The sans-IO connection underneath, for inspection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The next event from the core, writing output, reading input and keeping time as needed.
    fn next_event(&mut self) -> Result<Event> {
        loop {
            if let Some(closed) = self.closing.take() {
                // Flush what is left and end the transport; a peer that is gone cannot read it.
                if self.flush().is_ok() && self.stream.shutdown_write().is_ok() && !self.eof && !closed.timed_out() {
                    self.linger();
                }
                self.ended = true;
                return Err(closed.error.map_or(Error::AlreadyClosed, Error::from));
            }
            if self.ended {
                return Err(Error::AlreadyClosed);
            }
            if let Some(event) = self.conn.poll_event() {
                return Ok(event);
            }
            self.flush()?;
            let deadline = self.conn.poll_timeout();
            let now = Instant::now();
            if let Some(d) = deadline {
                if d <= now {
                    self.conn.handle_timeout(now);
                    continue;
                }
            }
            if self.timeout_for != deadline || deadline.is_some() {
                self.stream.set_read_timeout(deadline.map(|d| (d - now).max(Duration::from_millis(1))))?;
                self.timeout_for = deadline;
            }
            match self.read_some() {
                Ok(0) => {
                    self.eof = true;
                    self.conn.receive_eof();
                }
                Ok(_) => self.conn.handle_timeout(Instant::now()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A reset after the closing handshake loses nothing: it is the end of file.
                Err(_) if self.conn.is_close_handshake_complete() => {
                    self.eof = true;
                    self.conn.receive_eof();
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    // Our own read timeout (a deadline passed) or a non-blocking stream.
                    match deadline {
                        Some(d) if Instant::now() >= d => self.conn.handle_timeout(Instant::now()),
                        _ => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Drains the socket until the peer's end of file (for at most [`LINGER`]), so that closing
    /// it does not make the kernel reset the connection and drop our last unsent frames.
    fn linger(&mut self) {
        let deadline = std::time::Instant::now() + LINGER;
        let mut sink = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            if self.stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))).is_err() {
                return;
            }
            match self.stream.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn read_some(&mut self) -> io::Result<usize> {
        let want = self.conn.read_hint();
        if want > STACK_READ {
            let buf = self.conn.input_buffer();
            let start = buf.len();
            buf.resize(start + want.min(1 << 20), 0);
            let result = self.stream.read(&mut buf[start..]);
            let n = *result.as_ref().unwrap_or(&0);
            buf.truncate(start + n);
            return result;
        }
        let mut stack = [0u8; STACK_READ];
        let n = self.stream.read(&mut stack)?;
        self.conn.receive(&stack[..n]);
        Ok(n)
    }

    /// Ends a failed handshake: writes the queued HTTP response, ends the transport, and returns
    /// the error.
    fn fail(&mut self, closed: Closed) -> Error {
        self.closing = Some(closed);
        match self.next_event() {
            Err(e) => e,
            Ok(_) => Error::AlreadyClosed,
        }
    }
}
