//! The defaults and constructors every adapter offers the same way.

use wsproto::{Config, Connection, Extension, Instant, OsRandom, Role};

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
