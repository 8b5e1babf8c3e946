//! WebSocket for tokio, on the wsproto sans-IO core.
//!
//! A [`WebSocketStream`] is a `futures::Stream<Item = Result<Message>>` and a `Sink<Message>`,
//! with inherent [`recv`](wsproto_io::WebSocketStream::recv), [`send`](wsproto_io::WebSocketStream::send)
//! and [`close`](wsproto_io::WebSocketStream::close), and a [`split`](wsproto_io::WebSocketStream::split)
//! into a writing and a reading half. Code written for tokio-tungstenite reads the same; see
//! `docs/migrating-from-tungstenite.md` for where it differs.
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
//! # Closing
//!
//! [`close`](wsproto_io::WebSocketStream::close) sends a close frame and flushes it, as in
//! tokio-tungstenite. The stream then goes on yielding the messages the peer sent before it saw
//! our close, then its close frame, and ends. Nothing the peer sent is thrown away.
//!
//! # Cancel safety
//!
//! `recv`/`next` are cancel safe. `send` and `feed` queue a message whole or not at all; a queued
//! message is written by the next send, flush or receive. `flush` and `close` can be cancelled and
//! called again. The handshake functions ([`connect`], [`accept`], [`read_request`] and the
//! [`PendingUpgrade`] methods) are not cancel safe: dropping one drops the connection.

#![deny(missing_docs)]

mod io;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub use io::{Tokio, TokioIo};
pub use wsproto_io::reconnect::Backoff;
#[cfg(feature = "rustls")]
pub use wsproto_io::tls::TlsConnector;
pub use wsproto_io::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, Config, Error, IntoClientRequest, Message, MessageKind, PreparedMessage, Reject,
    Request, Result, Role, Utf8Bytes,
};
pub use wsproto_io::{ConnectOptions, default_config, http, proxy, wsproto};

/// A WebSocket over a tokio stream.
pub type WebSocketStream<S> = wsproto_io::WebSocketStream<TokioIo<S>, Tokio>;
/// The writing half of a [split](wsproto_io::WebSocketStream::split) stream: a `Sink`.
pub type WriteHalf<S> = wsproto_io::WriteHalf<TokioIo<S>, Tokio>;
/// The reading half of a [split](wsproto_io::WebSocketStream::split) stream: a `Stream`.
pub type ReadHalf<S> = wsproto_io::ReadHalf<TokioIo<S>, Tokio>;
/// An opening request waiting for the server's answer: see [`read_request`].
pub type PendingUpgrade<S> = wsproto_io::PendingUpgrade<TokioIo<S>, Tokio>;

/// A stream that is plain TCP or TLS over TCP (for `wss://`); through an `https://` proxy, TLS
/// with the proxy, alone or with the server's TLS inside.
#[cfg(feature = "rustls")]
pub type MaybeTlsStream<S> = wsproto_io::MaybeTlsStream<
    S,
    Box<tokio_rustls::client::TlsStream<S>>,
    Box<tokio_rustls::client::TlsStream<tokio_rustls::client::TlsStream<S>>>,
>;

/// The stream type that [`connect`] returns: TCP, or TLS over TCP for `wss://`.
#[cfg(feature = "rustls")]
pub type ClientStream = MaybeTlsStream<TcpStream>;
/// The stream type that [`connect`] returns.
#[cfg(not(feature = "rustls"))]
pub type ClientStream = TcpStream;

/// Connects to a `ws://` or `wss://` URL (or an `http::Request` with headers of your own) with
/// [`default_config`].
///
/// Returns the stream and the server's 101 response. A host name is tried on every address it
/// resolves to.
pub async fn connect(request: impl IntoClientRequest) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    connect_with(request, default_config()).await
}

/// Connects with a configuration of your own. `wss://` trusts the webpki roots; use
/// [`connect_with_tls`] to trust others. A proxy is taken from the environment, as with
/// [`connect`]; [`connect_with_options`] chooses another.
pub async fn connect_with(request: impl IntoClientRequest, config: Config) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    wsproto_io::connect::connect::<Tokio>(&request, config).await
}

/// Connects with a configuration and, for `wss://`, TLS settings of your own.
#[cfg(feature = "rustls")]
pub async fn connect_with_tls(
    request: impl IntoClientRequest,
    config: Config,
    tls: Option<TlsConnector>,
) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    wsproto_io::connect::connect_with_tls::<Tokio>(&request, config, tls.as_ref()).await
}

/// Connections to one URL that come back after each drop: [`Reconnect::next`] opens the first
/// at once and each later one after an exponential backoff with jitter (1 s, growing by 1.618 up
/// to 60 s), retrying what may pass (network errors, timeouts, 5xx) and stopping at what will not
/// (a 4xx such as 403, a bad URL). To stop reconnecting, stop calling `next`.
///
/// ```no_run
/// # async fn run() -> wsproto_tokio::Result<()> {
/// use futures_util::StreamExt;
///
/// let mut connections = wsproto_tokio::reconnect("wss://example.com/prices", wsproto_tokio::default_config())?;
/// while let Some(connection) = connections.next().await {
///     let (mut ws, _) = connection?; // an error that retrying would not fix
///     ws.send(wsproto_tokio::Message::text(r#"{"subscribe":"EURUSD"}"#)).await?; // after every reconnection
///     while let Some(Ok(message)) = ws.next().await {
///         println!("{message:?}");
///     }
/// }
/// # Ok(()) }
/// ```
pub fn reconnect(request: impl IntoClientRequest, config: Config) -> Result<Reconnect> {
    reconnect_with(request, config, ConnectOptions::new(), Backoff::default())
}

/// [`reconnect`] with a proxy setting, TLS settings and backoff bounds of your own.
pub fn reconnect_with(request: impl IntoClientRequest, config: Config, options: ConnectOptions, backoff: Backoff) -> Result<Reconnect> {
    Ok(Reconnect::new(request.into_client_request()?, config, options, backoff))
}

/// Connections that come back: see [`reconnect`].
pub type Reconnect = wsproto_io::reconnect::Reconnect<Tokio>;

/// Connects with a configuration, a proxy setting and TLS settings of your own. [`connect`] and
/// the others read the proxy from the environment (`https_proxy`, `http_proxy`, `all_proxy`,
/// `no_proxy`); this takes [`proxy::ProxySetting::Direct`] or an explicit
/// [`proxy::Proxy`] (HTTP `CONNECT`, `socks5://`, `socks5h://`) instead.
pub async fn connect_with_options(
    request: impl IntoClientRequest,
    config: Config,
    options: &ConnectOptions,
) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    let request = request.into_client_request()?;
    wsproto_io::connect::connect_with_options::<Tokio>(&request, config, options).await
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
/// with its own status, headers and body. To decide asynchronously, use [`read_request`].
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
    wsproto_io::handshake::server(TokioIo::new(stream), &[], config, callback).await
}

/// Like [`accept_with`], for a server that already read the start of the request (to route
/// plain HTTP and WebSocket on one port, say): `buffered` goes to the connection first.
pub async fn accept_buffered<S, F>(stream: S, buffered: &[u8], config: Config, callback: F) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    wsproto_io::handshake::server(TokioIo::new(stream), buffered, config, callback).await
}

/// Reads the opening request and hands it to you, to accept or reject when you have decided:
/// after an `await` on a database, say.
///
/// ```no_run
/// use wsproto_tokio::{Accept, Reject, default_config, read_request};
/// # async fn token_is_valid(_: &str) -> bool { true }
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), wsproto_tokio::Error> {
/// let pending = read_request(tcp, default_config()).await?;
/// let token = pending.request().headers().get_str("authorization").unwrap_or_default().to_owned();
/// if token_is_valid(&token).await {
///     let ws = pending.accept(Accept::new()).await?;
///     // ... use ws ...
/// } else {
///     pending.reject(Reject::new(401).body("bad token\n")).await?;
/// }
/// # Ok(()) }
/// ```
pub async fn read_request<S>(stream: S, config: Config) -> Result<PendingUpgrade<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    wsproto_io::handshake::read_request(TokioIo::new(stream), &[], config).await
}

/// [`connect`] under tokio-tungstenite's name, so that a switch is a change of imports.
pub async fn connect_async(request: impl IntoClientRequest) -> Result<(WebSocketStream<ClientStream>, http::Response<()>)> {
    connect(request).await
}

/// [`accept`] under tokio-tungstenite's name.
pub async fn accept_async<S>(stream: S) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept(stream).await
}

/// Accepts with a header callback of tokio-tungstenite's shape: it gets the request and the 101
/// response, and returns the response to send (with headers added, or a `Sec-WebSocket-Protocol`
/// chosen) or an error response to refuse with. [`accept_with`] is the same with wsproto's own
/// [`Accept`] and [`Reject`].
///
/// ```no_run
/// use wsproto_tokio::accept_hdr_async;
/// use wsproto_tokio::http::{Response, StatusCode};
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), wsproto_tokio::Error> {
/// let ws = accept_hdr_async(tcp, |req: &wsproto_tokio::http::Request<()>, mut response: Response<()>| {
///     if req.headers().get("authorization").is_none() {
///         let mut refusal = Response::new(Some("log in first\n".to_string()));
///         *refusal.status_mut() = StatusCode::UNAUTHORIZED;
///         return Err(refusal);
///     }
///     response.headers_mut().insert("x-served-by", "wsproto".parse().unwrap());
///     Ok(response)
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_hdr_async<S, F>(stream: S, callback: F) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&http::Request<()>, http::Response<()>) -> wsproto_io::handshake::HttpCallbackResult,
{
    accept_with(stream, default_config(), |req| wsproto_io::handshake::answer_with_http_callback(req, callback)).await
}

/// Wraps a stream whose handshake another HTTP stack did (a hyper or axum upgrade).
///
/// `extension` is what that handshake negotiated; for permessage-deflate, the extension from
/// [`wsproto::deflate::negotiate_server`]. For hyper and axum, the `wsproto-hyper` and
/// `wsproto-axum` crates do the whole upgrade, HTTP/2 included.
pub fn from_upgraded<S>(stream: S, role: Role, config: Config, extension: Option<Box<dyn wsproto::Extension>>) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let conn = wsproto_io::upgraded_connection(role, config, extension, <Tokio as wsproto_io::Runtime>::now());
    wsproto_io::WebSocketStream::from_parts(TokioIo::new(stream), conn)
}
