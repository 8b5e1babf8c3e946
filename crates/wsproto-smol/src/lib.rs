//! WebSocket for smol, async-std and any runtime with the `futures-io` traits, on the wsproto
//! sans-IO core.
//!
//! The API is the same as `wsproto-tokio`'s: a [`WebSocketStream`] that is a
//! `Stream<Item = Result<Message>>` and a `Sink<Message>`, with `recv`, `send`, `close` and
//! `split`, and [`connect`], [`accept`] and friends.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use wsproto_smol::{Message, connect};
//!
//! smol::block_on(async {
//!     let (mut ws, _response) = connect("ws://127.0.0.1:9001/echo").await?;
//!     ws.send(Message::text("hello")).await?;
//!     if let Some(reply) = ws.next().await {
//!         println!("{:?}", reply?);
//!     }
//!     Ok::<_, wsproto_smol::Error>(())
//! });
//! ```
//!
//! # Cancel safety
//!
//! As in `wsproto-tokio`: `recv`/`next` are cancel safe; `send` queues a message whole or not at
//! all; `close` can be cancelled and called again; the handshake functions are not cancel safe.

#![deny(missing_docs)]

mod io;
#[cfg(feature = "rustls")]
mod tls;

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use std::time::Duration;

pub use io::{Smol, SmolIo};
#[cfg(feature = "rustls")]
pub use tls::{MaybeTlsStream, TlsConnector};
pub use wsproto_io::{
    Accept, Bytes, ClientRequest, CloseCode, CloseFrame, Config, Error, IntoClientRequest, Message, MessageKind, Reject, Request, Result,
    Role, Utf8Bytes,
};
pub use wsproto_io::{default_config, http, wsproto};

/// A WebSocket over a futures-io stream.
pub type WebSocketStream<S> = wsproto_io::WebSocketStream<SmolIo<S>, Smol>;
/// The reading half of a [split](wsproto_io::WebSocketStream::split) stream.
pub type ReadHalf<S> = wsproto_io::ReadHalf<SmolIo<S>, Smol>;
/// The writing half of a [split](wsproto_io::WebSocketStream::split) stream.
pub type WriteHalf<S> = wsproto_io::WriteHalf<SmolIo<S>, Smol>;

/// The stream type that [`connect`] returns: TCP, or TLS over TCP for `wss://`.
#[cfg(feature = "rustls")]
pub type ClientStream = MaybeTlsStream<TcpStream>;
/// The stream type that [`connect`] returns.
#[cfg(not(feature = "rustls"))]
pub type ClientStream = TcpStream;

/// Connects to a `ws://` or `wss://` URL (or an `http::Request`) with [`default_config`].
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
    let tcp = wsproto_io::within_handshake_timeout::<Smol, _>(timeout, TcpStream::connect((request.host(), request.port()))).await?;
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
    wsproto_io::handshake::client(SmolIo::new(stream), &request, config).await
}

/// Accepts a WebSocket connection on a stream with [`default_config`], accepting every valid
/// upgrade request.
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, default_config(), |_| Ok(Accept::new())).await
}

/// Accepts with a configuration and a callback that accepts the request (choosing a subprotocol,
/// adding headers) or rejects it with its own status, headers and body.
pub async fn accept_with<S, F>(stream: S, config: Config, callback: F) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    wsproto_io::handshake::server(SmolIo::new(stream), config, callback).await
}

/// Like [`accept_with`], for a server that already read the start of the request (to route
/// plain HTTP and WebSocket on one port, say): `buffered` goes to the connection first.
pub async fn accept_buffered<S, F>(stream: S, buffered: &[u8], config: Config, callback: F) -> Result<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    wsproto_io::handshake::server_buffered(SmolIo::new(stream), buffered, config, callback).await
}

/// Wraps a stream whose handshake another HTTP stack did, with the extension it negotiated.
pub fn from_upgraded<S>(stream: S, role: Role, config: Config, extension: Option<Box<dyn wsproto::Extension>>) -> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let conn = wsproto_io::upgraded_connection(role, config, extension, <Smol as wsproto_io::Runtime>::now());
    wsproto_io::WebSocketStream::from_parts(SmolIo::new(stream), conn)
}
