//! WebSocket for tokio, on the wsproto sans-IO core.
//!
//! A [`WebSocketStream`] is a `futures::Stream<Item = Result<Message>>` and a `Sink<Message>`,
//! with inherent [`recv`](WebSocketStream::recv), [`send`](WebSocketStream::send) and
//! [`close`](WebSocketStream::close), and a lock-light [`split`](WebSocketStream::split). Code
//! written for tokio-tungstenite reads the same.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use wsproto_tokio::{Message, connect};
//!
//! # async fn run() -> Result<(), wsproto_tokio::Error> {
//! let (mut ws, _response) = connect("ws://127.0.0.1:9001/echo").await?;
//! ws.send(Message::text("hello")).await?;
//! while let Some(message) = ws.next().await {
//!     println!("{:?}", message?);
//! }
//! # Ok(()) }
//! ```
//!
//! This crate only moves bytes and sleeps until the core's next deadline. Keepalive (a ping
//! every 20 s, answered within 20 s), the close timeout and the handshake timeout all come from
//! the core's [`Config`]; [`connect`] and [`accept`] use [`default_config`].
//!
//! # Cancel safety
//!
//! `recv`/`next` are cancel safe. `send` queues a message whole or not at all; a queued message is
//! written by the next send, flush or receive. `close` can be cancelled and called again. The
//! handshake functions are not cancel safe: dropping one drops the connection.

#![deny(missing_docs)]

mod io;
#[cfg(feature = "rustls")]
mod tls;

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub use io::{Tokio, TokioIo};
#[cfg(feature = "rustls")]
pub use tls::{MaybeTlsStream, TlsConnector};
pub use wsproto_io::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, Config, Error, IntoClientRequest, Message, MessageKind, Reject, Request, Result,
    Role, Utf8Bytes,
};
pub use wsproto_io::{default_config, http, wsproto};

/// A WebSocket over a tokio stream.
pub type WebSocketStream<S> = wsproto_io::WebSocketStream<TokioIo<S>, Tokio>;
/// The reading half of a [split](wsproto_io::WebSocketStream::split) stream.
pub type ReadHalf<S> = wsproto_io::ReadHalf<TokioIo<S>, Tokio>;
/// The writing half of a [split](wsproto_io::WebSocketStream::split) stream.
pub type WriteHalf<S> = wsproto_io::WriteHalf<TokioIo<S>, Tokio>;

/// The stream type that [`connect`] returns: TCP, or TLS over TCP for `wss://`.
#[cfg(feature = "rustls")]
pub type ClientStream = MaybeTlsStream<TcpStream>;
/// The stream type that [`connect`] returns.
#[cfg(not(feature = "rustls"))]
pub type ClientStream = TcpStream;

/// Connects to a `ws://` or `wss://` URL (or an `http::Request`) with [`default_config`].
///
/// Returns the stream and the server's 101 response.
pub async fn connect(request: impl IntoClientRequest) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    connect_with(request, default_config()).await
}

/// Connects with a configuration of your own. `wss://` trusts the webpki roots; use
/// [`connect_with_tls`] to trust others.
pub async fn connect_with(request: impl IntoClientRequest, config: Config) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    #[cfg(feature = "rustls")]
    return connect_with_tls(request, config, None).await;
    #[cfg(not(feature = "rustls"))]
    {
        let request = request.into_client_request()?;
        if request.is_secure() {
            return Err(Error::Tls("wss:// needs the `rustls` feature".into()));
        }
        let tcp = connect_tcp(&request, config.handshake_timeout).await?;
        client_async(&request, tcp, config).await
    }
}

/// Connects with a configuration and, for `wss://`, a TLS connector of your own (`None`: webpki
/// roots).
#[cfg(feature = "rustls")]
pub async fn connect_with_tls(
    request: impl IntoClientRequest,
    config: Config,
    tls: Option<TlsConnector>,
) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    let tcp = connect_tcp(&request, config.handshake_timeout).await?;
    let stream = if request.is_secure() {
        let connector = tls.unwrap_or_else(TlsConnector::webpki_roots);
        MaybeTlsStream::Rustls(Box::new(connector.connect(request.host(), tcp).await?))
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    client_async(&request, stream, config).await
}

async fn connect_tcp(request: &ClientRequest, timeout: Option<Duration>) -> Result<TcpStream> {
    let tcp = wsproto_io::within_handshake_timeout::<Tokio, _>(timeout, TcpStream::connect((request.host(), request.port()))).await?;
    // Frames are written whole, so Nagle's algorithm only adds latency.
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Performs the client handshake over a stream you connected yourself.
pub async fn client_async<S>(request: impl IntoClientRequest, stream: S, config: Config) -> Result<(WebSocketStream<S>, http::Response<()>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = request.into_client_request()?;
    wsproto_io::handshake::client(TokioIo::new(stream), &request, config).await
}

/// Accepts a WebSocket connection on a stream with [`default_config`], accepting every valid
/// upgrade request.
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, default_config(), |_| Ok(Accept::new())).await
}

/// Accepts with a configuration and a callback that sees the request (path, headers, origin,
/// offered subprotocols) and accepts it, choosing a subprotocol and adding headers, or rejects it
/// with its own status, headers and body.
///
/// ```no_run
/// use wsproto_tokio::{Accept, Reject, accept_with, default_config};
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), wsproto_tokio::Error> {
/// let ws = accept_with(tcp, default_config(), |req| {
///     if req.path() != "/chat" {
///         return Err(Reject::new(404).body("no such endpoint\n"));
///     }
///     Ok(match req.choose_subprotocol(&["chat.v2", "chat.v1"]) {
///         Some(p) => Accept::new().subprotocol(p),
///         None => Accept::new(),
///     })
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_with<S, F>(stream: S, config: Config, callback: F) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    wsproto_io::handshake::server(TokioIo::new(stream), config, callback).await
}

/// Like [`accept_with`], for a server that already read the start of the request (to route
/// plain HTTP and WebSocket on one port, say): `buffered` goes to the connection first.
pub async fn accept_buffered<S, F>(stream: S, buffered: &[u8], config: Config, callback: F) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    wsproto_io::handshake::server_buffered(TokioIo::new(stream), buffered, config, callback).await
}

/// Wraps a stream whose handshake another HTTP stack did (a hyper or axum upgrade).
///
/// `extension` is what that handshake negotiated; for permessage-deflate, the extension from
/// [`wsproto::deflate::negotiate_server`]. See `examples/hyper_upgrade.rs`.
pub fn from_upgraded<S>(stream: S, role: Role, config: Config, extension: Option<Box<dyn wsproto::Extension>>) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let conn = wsproto_io::upgraded_connection(role, config, extension, <Tokio as wsproto_io::Runtime>::now());
    wsproto_io::WebSocketStream::from_parts(TokioIo::new(stream), conn)
}
