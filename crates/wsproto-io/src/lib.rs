//! The I/O driver that wsproto's runtime adapters share.
//!
//! `wsproto-tokio`, `wsproto-smol` and `wsproto-blocking` are thin: each implements
//! [`Transport`], [`Runtime`] and [`Connector`] for its runtime and re-exports what is here. The
//! rest lives here, once: the [`WebSocketStream`] (`Stream` + `Sink`) and its
//! [`split`](WebSocketStream::split) halves, the opening handshake over a transport (with a
//! two-step [`read_request`](handshake::read_request) for servers that decide asynchronously),
//! [`connect`](connect::connect), and the [`Error`] type. The blocking adapter polls the same
//! driver over transports that block. None of it holds protocol or timer logic: that is the
//! core's.
//!
//! Application code normally uses an adapter crate rather than this one.

#![deny(missing_docs)]

pub mod connect;
mod driver;
mod error;
pub mod futures;
pub mod handshake;
mod maybe_tls;
pub mod proxy;
pub mod reconnect;
mod request;
mod setup;
mod split;
mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
mod transport;

pub use connect::{ConnectOptions, Connector};
pub use driver::LINGER;
pub use error::{Error, Result};
pub use handshake::PendingUpgrade;
pub use maybe_tls::MaybeTlsStream;
pub use request::IntoClientRequest;
pub use setup::{default_config, upgraded_connection, within_handshake_timeout};
pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::WebSocketStream;
pub use transport::{Runtime, Timer, Transport};

pub use http;
pub use wsproto;
pub use wsproto::handshake::{Accept, Reject, Request};
pub use wsproto::{Bytes, ClientRequest, CloseCode, CloseFrame, Config, Message, MessageKind, PreparedMessage, Role, Utf8Bytes};
