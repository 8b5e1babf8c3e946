//! WebSocket upgrades for [hyper](https://hyper.rs) 1.x servers, on the wsproto core.
//!
//! A hyper service hands a request to [`Upgrade::new`], which checks it with the core's rules:
//! an HTTP/1.1 `GET` with `Upgrade: websocket` (RFC 6455 §4.2.1), or an HTTP/2 extended
//! `CONNECT` whose `:protocol` is `websocket` (RFC 8441). [`Upgrade::accept`] checks the `Origin`
//! and settles the subprotocol and permessage-deflate from the same [`Config`] that then runs the
//! connection, and
//! gives the response to return (`101`, or `200` on HTTP/2) and a [`PendingWebSocket`] that
//! resolves to a [`WebSocketStream`] once hyper has sent that response and handed over the
//! connection. A request that is not a valid upgrade gets an [`UpgradeError`] with the status to
//! answer (400, 403, 426), as [`UpgradeError::into_response`] builds it.
//!
//! ```no_run
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use wsproto_hyper::{Accept, Upgrade, default_config};
//! use futures_util::StreamExt;
//!
//! async fn handle(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
//!     let upgrade = match Upgrade::new(&mut req) {
//!         Ok(u) => u,
//!         Err(e) => return Ok(e.into_response()),
//!     };
//!     let (response, pending) = match upgrade.accept(Accept::new(), default_config()) {
//!         Ok(accepted) => accepted,
//!         Err(e) => return Ok(e.into_response()),
//!     };
//!     tokio::spawn(async move {
//!         let Ok(mut ws) = pending.await else { return };
//!         while let Some(Ok(m)) = ws.next().await {
//!             if m.is_data() && ws.send(m).await.is_err() {
//!                 break;
//!             }
//!         }
//!     });
//!     Ok(response.map(|()| Full::new(Bytes::new())))
//! }
//! ```
//!
//! Serving HTTP/2 needs hyper's `http2::Builder::enable_connect_protocol()` (which advertises
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`); hyper-util's `auto` builder serves both versions on one
//! port. Advertise it only if every WebSocket route accepts `CONNECT` as well as `GET`.

#![deny(missing_docs)]

mod client;
#[cfg(feature = "rustls")]
mod pool;
pub use client::connect_http2;
#[cfg(feature = "rustls")]
pub use pool::{ClientWebSocket, Http2Client, Io};

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo as HyperIo;
use wsproto_io::Runtime;
use wsproto_tokio::wsproto::handshake::Request;
use wsproto_tokio::wsproto::{Connection, HandshakeError, LocalError};

pub use hyper::Error as HyperError;
pub use wsproto_tokio::wsproto::Config;
pub use wsproto_tokio::wsproto::handshake::Accept;
pub use wsproto_tokio::{Error, Message, default_config, http, wsproto};

/// The WebSocket over a connection that hyper upgraded.
pub type WebSocketStream = wsproto_tokio::WebSocketStream<HyperIo<Upgraded>>;

/// Whether `req` asks for a WebSocket: an HTTP/1.1 `Upgrade: websocket`, or an HTTP/2
/// `CONNECT` with `:protocol` `websocket`. It says nothing about whether the request is valid;
/// [`Upgrade::new`] checks that.
pub fn is_upgrade_request<B>(req: &http::Request<B>) -> bool {
    if req.method() == http::Method::CONNECT {
        return protocol(req.extensions()).is_some_and(|p| p.eq_ignore_ascii_case("websocket"));
    }
    req.headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("websocket"))))
}

/// The `:protocol` pseudo-header of an HTTP/2 request, as hyper passes it on.
fn protocol(extensions: &http::Extensions) -> Option<&str> {
    extensions.get::<hyper::ext::Protocol>().map(hyper::ext::Protocol::as_str)
}

/// A valid WebSocket request, not yet answered.
#[derive(Debug)]
pub struct Upgrade {
    request: Request,
    on_upgrade: OnUpgrade,
}

impl Upgrade {
    /// Checks `req` and takes hyper's upgrade handle from it.
    ///
    /// The checks are the core's: method and version, `Sec-WebSocket-Key` and
    /// `Sec-WebSocket-Version` (426 for another version), and the subprotocol and extension
    /// offers. The `Origin` is checked in [`accept`](Upgrade::accept), against the configuration.
    pub fn new<B>(req: &mut http::Request<B>) -> Result<Upgrade, UpgradeError> {
        let request = if req.version() == http::Version::HTTP_2 || req.method() == http::Method::CONNECT {
            Request::from_http2(req, protocol(req.extensions()))?
        } else {
            Request::from_http(req)?
        };
        let on_upgrade = req.extensions_mut().remove::<OnUpgrade>().ok_or(UpgradeError::NotUpgradable)?;
        Ok(Upgrade { request, on_upgrade })
    }

    /// The same as [`new`](Upgrade::new), for a request taken apart (axum's `FromRequestParts`).
    pub fn from_parts(parts: &mut http::request::Parts) -> Result<Upgrade, UpgradeError> {
        let mut req = http::Request::new(());
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = parts.uri.clone();
        *req.version_mut() = parts.version;
        *req.headers_mut() = std::mem::take(&mut parts.headers);
        if let Some(p) = parts.extensions.remove::<hyper::ext::Protocol>() {
            req.extensions_mut().insert(p);
        }
        if let Some(u) = parts.extensions.remove::<OnUpgrade>() {
            req.extensions_mut().insert(u);
        }
        let result = Upgrade::new(&mut req);
        // Give back what the checks did not consume.
        parts.headers = std::mem::take(req.headers_mut());
        if let Some(p) = req.extensions_mut().remove::<hyper::ext::Protocol>() {
            parts.extensions.insert(p);
        }
        if let Some(u) = req.extensions_mut().remove::<OnUpgrade>() {
            parts.extensions.insert(u);
        }
        result
    }

    /// The request: path, headers, `Origin`, and the subprotocols and extensions offered.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Accepts: checks the `Origin` against `config`'s allow-list (403 otherwise), settles the
    /// subprotocol and permessage-deflate from `accept` and `config`, and returns the response to
    /// return from the service (`101` over HTTP/1.1, `200` over HTTP/2) with the WebSocket to
    /// await. `config` then runs the connection: one configuration for both.
    ///
    /// Besides the 403, fails only if `accept` chooses a subprotocol the client did not offer or
    /// adds an invalid header (a 500: the server's mistake).
    pub fn accept(self, accept: Accept, config: Config) -> Result<(http::Response<()>, PendingWebSocket), UpgradeError> {
        self.request.check_origin_for(&config)?;
        let now = <wsproto_tokio::Tokio as Runtime>::now();
        let (response, conn) = Connection::accept_http(&self.request, accept, config, now)?;
        Ok((response, PendingWebSocket { on_upgrade: self.on_upgrade, conn }))
    }
}

/// The accepted WebSocket, once hyper has sent the response and handed over the connection:
/// `.await` it (in a task of its own: the service must return the response first).
///
/// Cancel safety: dropping it before it completes drops the connection.
#[derive(Debug)]
#[must_use = "the WebSocket exists only once this is awaited"]
pub struct PendingWebSocket {
    on_upgrade: OnUpgrade,
    conn: Connection,
}

impl PendingWebSocket {
    /// The connection that will run the WebSocket: its subprotocol and extension are settled.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl PendingWebSocket {
    /// Awaits the connection like `.await`, but runs the WebSocket on the transport itself when
    /// hyper served the connection over `S` (wrapped in hyper-util's `TokioIo`, as an HTTP/1.1
    /// connection from `hyper::server::conn::http1` is): no `Upgraded` box in between, and
    /// `split()` takes the adapter's own path for `S`. Bytes that hyper read past the request are
    /// handed to the connection first. Otherwise (HTTP/2, or another transport type) the stream
    /// runs over hyper's `Upgraded`, as with `.await`.
    ///
    /// Cancel safety: dropping the future before it completes drops the connection.
    pub async fn into_direct<S>(self) -> Result<UpgradedStream<S>, hyper::Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    {
        let upgraded = self.on_upgrade.await?;
        let mut conn = self.conn;
        Ok(match upgraded.downcast::<HyperIo<S>>() {
            Ok(parts) => {
                if !parts.read_buf.is_empty() {
                    conn.receive(&parts.read_buf);
                }
                UpgradedStream::Direct(wsproto_io::WebSocketStream::from_parts(wsproto_tokio::TokioIo::new(parts.io.into_inner()), conn))
            }
            Err(upgraded) => {
                UpgradedStream::Hyper(wsproto_io::WebSocketStream::from_parts(wsproto_tokio::TokioIo::new(HyperIo::new(upgraded)), conn))
            }
        })
    }
}

/// The WebSocket from [`PendingWebSocket::into_direct`]: on the transport itself, or on hyper's
/// `Upgraded` when that could not be unwrapped.
pub enum UpgradedStream<S> {
    /// On the transport hyper was given.
    Direct(wsproto_tokio::WebSocketStream<S>),
    /// On hyper's `Upgraded` (HTTP/2 streams, and transports of another type).
    Hyper(WebSocketStream),
}

impl<S> std::fmt::Debug for UpgradedStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpgradedStream::Direct(_) => "UpgradedStream::Direct(..)",
            UpgradedStream::Hyper(_) => "UpgradedStream::Hyper(..)",
        })
    }
}

impl IntoFuture for PendingWebSocket {
    type Output = Result<WebSocketStream, hyper::Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let upgraded = self.on_upgrade.await?;
            Ok(wsproto_io::WebSocketStream::from_parts(wsproto_tokio::TokioIo::new(HyperIo::new(upgraded)), self.conn))
        })
    }
}

/// Why a request was not upgraded, and the status to answer with.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The request is not a valid WebSocket request, or its `Origin` is not allowed: 400, 403 or
    /// 426 (see [`HandshakeError::status`]).
    Handshake(HandshakeError),
    /// The connection cannot be upgraded: hyper passed no upgrade handle (an HTTP/1.1 connection
    /// served without `with_upgrades()`, or HTTP/2 without `enable_connect_protocol()`). 500.
    NotUpgradable,
    /// The server's answer was invalid: a subprotocol the client did not offer, or a header that
    /// is not valid HTTP. 500.
    Local(LocalError),
}

impl From<HandshakeError> for UpgradeError {
    fn from(e: HandshakeError) -> Self {
        UpgradeError::Handshake(e)
    }
}

impl From<LocalError> for UpgradeError {
    fn from(e: LocalError) -> Self {
        UpgradeError::Local(e)
    }
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeError::Handshake(e) => write!(f, "{e}"),
            UpgradeError::NotUpgradable => f.write_str("the connection cannot be upgraded (hyper offered no upgrade)"),
            UpgradeError::Local(e) => write!(f, "the server's answer is invalid: {e}"),
        }
    }
}

impl std::error::Error for UpgradeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpgradeError::Handshake(e) => Some(e),
            UpgradeError::Local(e) => Some(e),
            UpgradeError::NotUpgradable => None,
        }
    }
}

impl UpgradeError {
    /// The status to answer with.
    pub fn status(&self) -> http::StatusCode {
        let code = match self {
            UpgradeError::Handshake(e) => e.status().unwrap_or(400),
            UpgradeError::NotUpgradable | UpgradeError::Local(_) => 500,
        };
        http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_REQUEST)
    }

    /// The response to answer with: the status, a one-line plain-text reason, and
    /// `Sec-WebSocket-Version: 13` with a 426 (RFC 6455 §4.4).
    pub fn into_response<B: From<String>>(self) -> http::Response<B> {
        let status = self.status();
        let mut response = http::Response::new(B::from(format!("{self}\n")));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
        if status == http::StatusCode::UPGRADE_REQUIRED {
            headers.insert(http::header::SEC_WEBSOCKET_VERSION, http::HeaderValue::from_static("13"));
        }
        response
    }
}
