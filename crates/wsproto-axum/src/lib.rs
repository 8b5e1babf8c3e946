//! An [axum](https://docs.rs/axum) WebSocket extractor on the wsproto core.
//!
//! [`WebSocketUpgrade`] has the shape of axum's own (`protocols`, `on_failed_upgrade`,
//! configuration knobs, `on_upgrade(|ws| async { … })`) and adds what axum's cannot do:
//! permessage-deflate negotiated from the configuration, an `Origin` allow-list, HTTP/2 (RFC 8441)
//! with the same handler, and a [`Shutdown`] that sends 1001 to every open WebSocket and waits a
//! bounded time for them to close.
//!
//! ```no_run
//! use axum::{Router, routing::any, response::Response};
//! use futures_util::StreamExt;
//! use wsproto_axum::{WebSocket, WebSocketUpgrade};
//!
//! async fn echo(ws: WebSocketUpgrade) -> Response {
//!     ws.protocols(["chat"]).on_upgrade(|mut socket: WebSocket| async move {
//!         while let Some(Ok(msg)) = socket.next().await {
//!             if msg.is_data() && socket.send(msg).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//!
//! # async fn run() {
//! // `any`, not `get`: over HTTP/2 the WebSocket request is a CONNECT.
//! let app: Router = Router::new().route("/ws", any(echo));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! The configuration is [`default_config`] (keepalive on, permessage-deflate accepted) unless the
//! handler sets another with [`WebSocketUpgrade::config`], or the application puts a [`Config`]
//! in the request extensions (axum's `Extension` layer) for every route at once.

#![deny(missing_docs)]

mod shutdown;
mod socket;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use std::future::Future;
use wsproto_hyper::wsproto::deflate::DeflateConfig;
use wsproto_hyper::wsproto::handshake::Request;
use wsproto_hyper::{Accept, Upgrade, UpgradeError};

pub use shutdown::Shutdown;
pub use socket::WebSocket;
pub use wsproto_hyper::wsproto::{CloseCode, CloseFrame};
pub use wsproto_hyper::{Config, Message, default_config, wsproto};

/// The extractor: a valid WebSocket request, answered by [`on_upgrade`](WebSocketUpgrade::on_upgrade).
///
/// Extraction checks the request with the core's rules (HTTP/1.1 `GET` with `Upgrade`, or an
/// HTTP/2 extended `CONNECT`; key, version, offers) and fails with a
/// [`WebSocketUpgradeRejection`] otherwise. The `Origin` allow-list, the subprotocol and
/// permessage-deflate are settled in `on_upgrade`, from the configuration.
#[derive(Debug)]
#[must_use = "the WebSocket opens only when `on_upgrade`'s response is returned"]
pub struct WebSocketUpgrade<F = DefaultOnFailedUpgrade> {
    upgrade: Upgrade,
    config: Config,
    accept: Accept,
    selected: Option<String>,
    shutdown: Option<Shutdown>,
    on_failed_upgrade: F,
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade<DefaultOnFailedUpgrade> {
    type Rejection = WebSocketUpgradeRejection;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let upgrade = Upgrade::from_parts(parts).map_err(WebSocketUpgradeRejection)?;
        let config = parts.extensions.get::<Config>().cloned().unwrap_or_else(default_config);
        let shutdown = parts.extensions.get::<Shutdown>().cloned();
        Ok(WebSocketUpgrade { upgrade, config, accept: Accept::new(), selected: None, shutdown, on_failed_upgrade: DefaultOnFailedUpgrade })
    }
}

impl<F> WebSocketUpgrade<F> {
    /// The request: path, headers, `Origin`, and the subprotocols and extensions offered.
    pub fn request(&self) -> &Request {
        self.upgrade.request()
    }

    /// The subprotocols this server speaks, in its order of preference: the first one the
    /// client offered is chosen and sent back. If the client offered none of them, none is.
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let offered = self.upgrade.request().subprotocols();
        self.selected = protocols.into_iter().map(Into::into).find(|p| offered.contains(p));
        if let Some(p) = &self.selected {
            self.accept = std::mem::take(&mut self.accept).subprotocol(p.clone());
        }
        self
    }

    /// The subprotocol chosen by [`protocols`](WebSocketUpgrade::protocols), if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Adds a header to the response that accepts the WebSocket (`101`, or `200` on HTTP/2).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.accept = std::mem::take(&mut self.accept).header(name, value);
        self
    }

    /// The whole configuration: limits, timeouts, keepalive, `Origin` allow-list and
    /// permessage-deflate. It negotiates the upgrade and then runs the connection.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The largest message accepted, in bytes (after decompression).
    pub fn max_message_size(mut self, size: usize) -> Self {
        self.config.max_message_size = size;
        self
    }

    /// The largest frame accepted, in bytes.
    pub fn max_frame_size(mut self, size: usize) -> Self {
        self.config.max_frame_size = size;
        self
    }

    /// How many bytes may wait to be written before sending waits (backpressure).
    pub fn write_buffer_limit(mut self, size: usize) -> Self {
        self.config.write_buffer_limit = size;
        self
    }

    /// permessage-deflate's settings, or `None` to decline compression.
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        self.config.deflate = deflate;
        self
    }

    /// Allows WebSockets from pages of `origin` (for example `https://example.com`); once one
    /// origin is allowed, a browser request from any other gets a 403.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.allowed_origins.push(origin.into());
        self
    }

    /// Registers the WebSocket with `shutdown`, which sends it 1001 when the server shuts down.
    /// (A [`Shutdown`] in the request extensions is used without this call.)
    pub fn shutdown(mut self, shutdown: &Shutdown) -> Self {
        self.shutdown = Some(shutdown.clone());
        self
    }

    /// What to do when hyper fails to hand over the connection after the response (the client
    /// went away, say). By default nothing.
    pub fn on_failed_upgrade<C: OnFailedUpgrade>(self, callback: C) -> WebSocketUpgrade<C> {
        WebSocketUpgrade {
            upgrade: self.upgrade,
            config: self.config,
            accept: self.accept,
            selected: self.selected,
            shutdown: self.shutdown,
            on_failed_upgrade: callback,
        }
    }

    /// Accepts the WebSocket and runs `callback` with it in a task of its own, once hyper has
    /// sent the response this returns and handed over the connection.
    ///
    /// The response is `101` (HTTP/1.1) or `200` (HTTP/2) with the subprotocol and
    /// permessage-deflate agreed, or a 403 if the `Origin` is not allowed.
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: OnFailedUpgrade,
    {
        let (response, pending) = match self.upgrade.accept(self.accept, self.config) {
            Ok(accepted) => accepted,
            Err(e) => return WebSocketUpgradeRejection(e).into_response(),
        };
        let on_failed_upgrade = self.on_failed_upgrade;
        let shutdown = self.shutdown;
        let token = shutdown.as_ref().map(Shutdown::token);
        let task = async move {
            let ws = match pending.await {
                Ok(ws) => ws,
                Err(e) => return on_failed_upgrade.call(e),
            };
            callback(WebSocket::new(ws, token)).await;
        };
        match &shutdown {
            Some(s) => s.spawn(task),
            None => drop(tokio::spawn(task)),
        }
        response.map(|()| Body::empty())
    }
}

/// What to do when hyper fails to hand over an accepted connection.
pub trait OnFailedUpgrade: Send + 'static {
    /// Called with hyper's error.
    fn call(self, error: wsproto_hyper::HyperError);
}

impl<F: FnOnce(wsproto_hyper::HyperError) + Send + 'static> OnFailedUpgrade for F {
    fn call(self, error: wsproto_hyper::HyperError) {
        self(error)
    }
}

/// The default [`OnFailedUpgrade`]: does nothing.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct DefaultOnFailedUpgrade;

impl OnFailedUpgrade for DefaultOnFailedUpgrade {
    fn call(self, _: wsproto_hyper::HyperError) {}
}

/// Why a request was not upgraded: answers with the status the RFCs call for (400, 403, 426 with
/// `Sec-WebSocket-Version: 13`, or 500 if the connection cannot be upgraded) and a one-line
/// reason.
#[derive(Debug)]
pub struct WebSocketUpgradeRejection(UpgradeError);

impl WebSocketUpgradeRejection {
    /// The status it answers with.
    pub fn status(&self) -> http::StatusCode {
        self.0.status()
    }

    /// What went wrong, in detail.
    pub fn into_inner(self) -> UpgradeError {
        self.0
    }
}

impl std::fmt::Display for WebSocketUpgradeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for WebSocketUpgradeRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for WebSocketUpgradeRejection {
    fn into_response(self) -> Response {
        self.0.into_response::<String>().map(Body::from)
    }
}
