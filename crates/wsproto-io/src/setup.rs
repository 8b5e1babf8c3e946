//! The defaults and constructors every adapter offers the same way.

use crate::error::{Error, Result};
use crate::transport::{Runtime, Timer};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use wsproto::{Config, Connection, Extension, HandshakeError, Instant, OsRandom, Role};

/// The configuration the adapters' `connect` and `accept` use: the core's secure defaults, with
/// keepalive on (a ping every 20 s, answered within 20 s) and permessage-deflate offered/accepted.
pub fn default_config() -> Config {
    Config::default().with_keepalive().with_deflate()
}

/// A connection whose opening handshake another HTTP stack did (a hyper or axum upgrade), in
/// `role`, with the extension that handshake negotiated. A client gets mask keys from the OS.
pub fn upgraded_connection(role: Role, config: Config, extension: Option<Box<dyn Extension>>, now: Instant) -> Connection {
    match role {
        Role::Server => Connection::upgraded_server(config, extension, now),
        Role::Client => Connection::upgraded_client(config, extension, Box::new(OsRandom::new()), now),
    }
}

/// Runs `step` of the opening (a TCP connect, say) within `timeout`, on runtime `R`'s clock:
/// past it, the error is [`HandshakeError::Timeout`]. `None` waits as long as it takes.
pub async fn within_handshake_timeout<R: Runtime, T, E: Into<Error>>(
    timeout: Option<Duration>,
    step: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    let Some(timeout) = timeout else { return step.await.map_err(Into::into) };
    let mut step = pin!(step);
    let mut timer = R::timer(R::now().saturating_add(timeout));
    poll_fn(|cx| {
        if let Poll::Ready(r) = step.as_mut().poll(cx) {
            return Poll::Ready(r.map_err(Into::into));
        }
        timer.poll_fired(cx).map(|()| Err(Error::Handshake(HandshakeError::Timeout)))
    })
    .await
}
