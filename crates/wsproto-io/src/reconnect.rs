//! A client that comes back: a sequence of connections to one URL, reopened with exponential
//! backoff and jitter after each one ends, the way Python `websockets`' `async for ws in
//! connect(...)` does. The adapters give it a runtime: `wsproto_tokio::reconnect`,
//! `wsproto_smol::reconnect`.

use crate::connect::{ConnectOptions, Connector, connect_with_options};
use crate::error::{Error, Result};
use crate::proxy::ProxyError;
use crate::stream::WebSocketStream;
use crate::transport::Timer;
use std::future::poll_fn;
use std::time::Duration;
use wsproto::handshake::ClientRequest;
use wsproto::{Config, HandshakeError, Random};

/// How long to wait before reconnecting: `initial` after a connection ends, then, while attempts
/// fail, `factor` times longer each time up to `max`. Each delay is drawn at random from its upper
/// half (jitter), so that many clients dropped together do not come back together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The delay before the first reconnection attempt (default 1 s).
    pub initial: Duration,
    /// The longest delay (default 60 s).
    pub max: Duration,
    /// How much longer each failed attempt makes the next delay (default 1.618).
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60), factor: 1.618 }
    }
}

impl Backoff {
    /// The bound on the delay before attempt `failed + 1`, after `failed` failed attempts.
    pub fn bound(&self, failed: u32) -> Duration {
        let grown = self.initial.as_secs_f64() * self.factor.max(1.0).powi(failed.min(64) as i32);
        Duration::from_secs_f64(grown.min(self.max.as_secs_f64()).max(0.0))
    }
}

/// A sequence of connections to one URL: [`next`](Reconnect::next) opens one (at once the first
/// time, after the backoff delay afterwards), retrying failures that may pass (the network, a
/// timeout, a 5xx, 408 or 429, a proxy that is down) and giving up, with the error, on those that
/// will not (any other 4xx, a bad URL, TLS or proxy credentials).
///
/// Use each connection until it ends, then ask for the next. **To stop reconnecting, stop asking**
/// (break out of the loop): a connection the application closed is simply not followed by
/// another. Messages are never carried over: what was queued on a connection that dropped is lost
/// with it (the stream reports the drop), and nothing can be sent while no connection is open.
/// Resubscribing after a reconnection is the loop body's job, as with Python `websockets`.
pub struct Reconnect<C: Connector> {
    request: ClientRequest,
    config: Config,
    options: ConnectOptions,
    backoff: Backoff,
    /// Failed attempts since the last connection opened.
    failed: u32,
    /// Whether a connection has been handed out (the next one waits the backoff first).
    handed_out: bool,
    finished: bool,
    rng: wsproto::OsRandom,
    delays: Vec<Duration>,
    _runtime: std::marker::PhantomData<fn() -> C>,
}

impl<C: Connector> std::fmt::Debug for Reconnect<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnect")
            .field(
                "url",
                &format_args!(
                    "{}://{}{}",
                    if self.request.is_secure() { "wss" } else { "ws" },
                    self.request.authority(),
                    self.request.target()
                ),
            )
            .field("backoff", &self.backoff)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<C: Connector> Reconnect<C> {
    /// Connections to `request`'s URL with `config`, `options` (proxy, TLS) and `backoff`.
    pub fn new(request: ClientRequest, config: Config, options: ConnectOptions, backoff: Backoff) -> Reconnect<C> {
        Reconnect {
            request,
            config,
            options,
            backoff,
            failed: 0,
            handed_out: false,
            finished: false,
            rng: wsproto::OsRandom::new(),
            delays: Vec::new(),
            _runtime: std::marker::PhantomData,
        }
    }

    /// The next connection, with the server's response; `None` after an error that retrying would
    /// not fix (returned once, as `Some(Err(..))`).
    ///
    /// Cancel safety: dropping the future while it waits or connects loses nothing but that
    /// attempt; the next call waits the backoff again.
    pub async fn next(&mut self) -> Option<Result<(WebSocketStream<C::Io, C>, http::Response<()>)>> {
        if self.finished {
            return None;
        }
        loop {
            if self.handed_out || self.failed > 0 {
                let delay = self.jittered(self.backoff.bound(self.failed));
                self.delays.push(delay);
                let mut timer = C::timer(C::now().saturating_add(delay));
                poll_fn(|cx| timer.poll_fired(cx)).await;
            }
            match connect_with_options::<C>(&self.request, self.config.clone(), &self.options).await {
                Ok(opened) => {
                    self.failed = 0;
                    self.handed_out = true;
                    return Some(Ok(opened));
                }
                Err(e) if retryable(&e) => self.failed = self.failed.saturating_add(1),
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// The delays waited so far, in order (for logs and tests).
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Failed attempts since the last connection opened.
    pub fn failed_attempts(&self) -> u32 {
        self.failed
    }

    /// A delay drawn from the upper half of `bound`.
    fn jittered(&mut self, bound: Duration) -> Duration {
        let mut bytes = [0u8; 4];
        self.rng.fill(&mut bytes);
        let unit = f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX);
        bound.mul_f64(0.5 + unit / 2.0)
    }
}

/// Whether an error from `connect` may pass on its own.
pub fn retryable(e: &Error) -> bool {
    match e {
        Error::Io(_) | Error::ResetWithoutClose | Error::KeepaliveTimeout | Error::CloseTimeout => true,
        Error::Handshake(HandshakeError::Rejected { status, .. }) => *status >= 500 || *status == 408 || *status == 429,
        Error::Handshake(HandshakeError::Timeout | HandshakeError::UnexpectedEof) => true,
        Error::Proxy(ProxyError::Unreachable { .. } | ProxyError::Broken { .. }) => true,
        _ => false,
    }
}
