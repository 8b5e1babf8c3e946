//! Blocking WebSocket over std `Read + Write`, on the wsproto sans-IO core.
//!
//! ```no_run
//! use wsproto_blocking::{Error, Message, connect};
//!
//! let (mut ws, _response) = connect("ws://127.0.0.1:9001/echo")?;
//! ws.send(Message::text("hello"))?;
//! println!("{:?}", ws.read()?);
//! ws.close(None)?;
//! // Read until the peer answers: what it sent before it saw our close still arrives.
//! loop {
//!     match ws.read() {
//!         Ok(message) => println!("{message:?}"),
//!         Err(Error::ConnectionClosed) => break,
//!         Err(e) => return Err(e),
//!     }
//! }
//! # Ok::<(), wsproto_blocking::Error>(())
//! ```
//!
//! It runs the same driver as the async adapters (`wsproto-io`), over a transport that blocks.
//! Deadlines (keepalive, close and handshake timeouts) need a read that can time out: the
//! [`Stream`] trait sets a read timeout before a blocking read, and is implemented for
//! `TcpStream`, `UnixStream`, the rustls streams and [`MaybeTlsStream`]. Any other `Read + Write`
//! type can implement it with the default methods, and then simply has no timers.
//!
//! On a non-blocking stream, [`WebSocket::read`], [`send`](WebSocket::send) and
//! [`flush`](WebSocket::flush) return [`Error::Io`] with `ErrorKind::WouldBlock` instead of
//! waiting; call them again when the stream is ready. Nothing is lost: a message that was queued
//! stays queued, and a partly written frame goes on from where it stopped.

#![deny(missing_docs)]

mod io;
#[cfg(feature = "rustls")]
mod tls;

use futures_core::Stream as _;
use futures_sink::Sink;
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::time::Duration;
use wsproto_io::Transport;
use wsproto_io::wsproto::{Connection, Instant};

pub use io::{Blocking, BlockingIo};
#[cfg(feature = "rustls")]
pub use tls::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use wsproto_io::tls::TlsConnector;
pub use wsproto_io::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, Config, Error, IntoClientRequest, Message, MessageKind, PreparedMessage, Reject,
    Request, Result, Role, Utf8Bytes,
};
pub use wsproto_io::{ConnectOptions, default_config, http, proxy, wsproto};

type Driver<S> = wsproto_io::WebSocketStream<BlockingIo<S>, Blocking>;

/// A byte stream that a [`WebSocket`] can run on.
pub trait Stream: std::io::Read + std::io::Write {
    /// Limits how long the next read may block (`None`: no limit). The default does nothing,
    /// which means the connection's timers only run when data arrives.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Limits how long the next write may block (`None`: no limit). The default does nothing,
    /// which means a write to a peer that stopped reading waits until the stream gives up.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Ends the write side (for TCP: sends FIN). The default flushes.
    fn shutdown_write(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

impl Stream for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> std::io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

#[cfg(unix)]
impl Stream for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> std::io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// The stream type that [`connect`] returns.
#[cfg(feature = "rustls")]
pub type ClientStream = MaybeTlsStream<TcpStream>;
/// The stream type that [`connect`] returns.
#[cfg(not(feature = "rustls"))]
pub type ClientStream = TcpStream;

/// A blocking WebSocket connection.
///
/// [`read`](WebSocket::read) returns messages (answering pings on the way) until the closing
/// handshake completes, then [`Error::ConnectionClosed`] once, then [`Error::AlreadyClosed`]: the
/// same sequence as tungstenite's `WebSocket`.
pub struct WebSocket<S> {
    inner: Driver<S>,
    /// `read` has reported the end of the connection.
    ended: bool,
}

impl<S: Stream> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").field("connection", self.inner.connection()).finish_non_exhaustive()
    }
}

/// Connects to a `ws://` or `wss://` URL (or an `http::Request`) with [`default_config`]. A host
/// name is tried on every address it resolves to.
pub fn connect(request: impl IntoClientRequest) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    connect_with(request, default_config())
}

/// Connects with a configuration of your own. `wss://` trusts the webpki roots. A proxy is taken
/// from the environment, as with [`connect`]; [`connect_with_options`] chooses another.
pub fn connect_with(request: impl IntoClientRequest, config: Config) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let connect = wsproto_io::connect::connect::<Blocking>(&request, config);
    let (inner, response) = io::block_on(connect)??;
    Ok((WebSocket::new(inner), response))
}

/// Connects with a configuration and, for `wss://`, TLS settings of your own.
#[cfg(feature = "rustls")]
pub fn connect_with_tls(
    request: impl IntoClientRequest,
    config: Config,
    tls: Option<TlsConnector>,
) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let (inner, response) = io::block_on(wsproto_io::connect::connect_with_tls::<Blocking>(&request, config, tls.as_ref()))??;
    Ok((WebSocket::new(inner), response))
}

/// Connects with a configuration, a proxy setting and TLS settings of your own. [`connect`] and
/// the others read the proxy from the environment (`https_proxy`, `http_proxy`, `all_proxy`,
/// `no_proxy`); this takes [`proxy::ProxySetting::Direct`] or an explicit
/// [`proxy::Proxy`] (HTTP `CONNECT`, `socks5://`, `socks5h://`) instead.
pub fn connect_with_options(
    request: impl IntoClientRequest,
    config: Config,
    options: &ConnectOptions,
) -> Result<(WebSocket<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let (inner, response) = io::block_on(wsproto_io::connect::connect_with_options::<Blocking>(&request, config, options))??;
    Ok((WebSocket::new(inner), response))
}

/// Performs the client handshake over a stream you connected yourself.
pub fn client<S: Stream>(request: impl IntoClientRequest, stream: S, config: Config) -> Result<(WebSocket<S>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let (inner, response) = io::block_on(wsproto_io::handshake::client(BlockingIo::new(stream), &request, config))??;
    Ok((WebSocket::new(inner), response))
}

/// Accepts a WebSocket connection on a stream with [`default_config`].
pub fn accept<S: Stream>(stream: S) -> Result<WebSocket<S>> {
    accept_with(stream, default_config(), |_| Ok(Accept::new()))
}

/// Accepts with a configuration and a callback that accepts the request (choosing a subprotocol,
/// adding headers) or rejects it with its own status, headers and body. The callback may block
/// (to look a token up, say): the handshake timeout bounds the reading of the request, not the
/// decision.
pub fn accept_with<S, F>(stream: S, config: Config, callback: F) -> Result<WebSocket<S>>
where
    S: Stream,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    let inner = io::block_on(wsproto_io::handshake::server(BlockingIo::new(stream), &[], config, callback))??;
    Ok(WebSocket::new(inner))
}

/// Wraps a stream whose handshake another HTTP stack did, with the extension it negotiated.
pub fn from_upgraded<S: Stream>(stream: S, role: Role, config: Config, extension: Option<Box<dyn wsproto::Extension>>) -> WebSocket<S> {
    let conn = wsproto_io::upgraded_connection(role, config, extension, Instant::now());
    WebSocket::new(Driver::from_parts(BlockingIo::new(stream), conn))
}

impl<S: Stream> WebSocket<S> {
    fn new(inner: Driver<S>) -> Self {
        WebSocket { inner, ended: false }
    }

    /// Runs one step of the driver to completion.
    fn block<T>(&mut self, step: impl FnMut(&mut Driver<S>, &mut std::task::Context<'_>) -> std::task::Poll<T>) -> Result<T> {
        let mut step = step;
        let inner = &mut self.inner;
        Ok(io::poll_blocking(|cx| step(inner, cx))?)
    }

    /// Reads the next message. Pings are answered on the way (and returned too).
    ///
    /// After the peer's close frame has been returned as [`Message::Close`], the next call
    /// finishes the closing handshake and returns [`Error::ConnectionClosed`] if it was clean, or
    /// the error that ended the connection; calls after that return [`Error::AlreadyClosed`].
    pub fn read(&mut self) -> Result<Message> {
        if self.ended {
            return Err(Error::AlreadyClosed);
        }
        match self.block(|ws, cx| Pin::new(ws).poll_next(cx))? {
            Some(Ok(message)) => Ok(message),
            Some(Err(e)) => {
                self.ended = true;
                Err(e)
            }
            None => {
                self.ended = true;
                Err(Error::ConnectionClosed)
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
        self.make_room()?;
        Pin::new(&mut self.inner).start_send(message)
    }

    /// Writes out the output buffer if it is over its limit. A stream that would block leaves it
    /// full, and queueing then fails with `WriteBufferFull`.
    fn make_room(&mut self) -> Result<()> {
        match self.block(|ws, cx| Pin::new(ws).poll_ready(cx)) {
            Ok(ready) => ready,
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends a message encoded once for many connections (a broadcast) and flushes it: a server
    /// that is not compressing shares the prepared frame instead of encoding and copying it again.
    /// See [`PreparedMessage`].
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<()> {
        self.make_room()?;
        self.inner.start_send_prepared(message)?;
        self.flush()
    }

    /// Writes out everything queued and flushes the stream.
    pub fn flush(&mut self) -> Result<()> {
        self.block(|ws, cx| Pin::new(ws).poll_flush(cx))?
    }

    /// Sends a close frame (1000 if `frame` is `None`) and writes it out, as tungstenite's
    /// `close` does. Keep calling [`read`](Self::read): it returns what the peer sent before it
    /// saw our close, then its close frame, then [`Error::ConnectionClosed`]. The wait is bounded
    /// by the configured close timeout. Calling it again only flushes.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.inner.queue_close(frame)?;
        self.flush()
    }

    /// Whether messages may still arrive: `read` has not reported the end.
    pub fn can_read(&self) -> bool {
        !self.ended
    }

    /// Whether messages can still be sent.
    pub fn can_write(&self) -> bool {
        self.inner.connection().is_open()
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.ended
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.inner.subprotocol()
    }

    /// Whether permessage-deflate was negotiated.
    pub fn is_compressed(&self) -> bool {
        self.inner.is_compressed()
    }

    /// Whether messages sent from now on are compressed, when permessage-deflate was negotiated
    /// (on by default). See [`Connection::set_compression`].
    pub fn set_compression(&mut self, enabled: bool) {
        self.inner.set_compression(enabled);
    }

    /// The sans-IO connection underneath, for inspection.
    pub fn connection(&self) -> &Connection {
        self.inner.connection()
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// The stream, mutably. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        self.inner.get_mut()
    }
}

// The transport type is only named through `WebSocket`.
const _: fn(BlockingIo<TcpStream>) -> TcpStream = <BlockingIo<TcpStream> as Transport>::into_inner;
