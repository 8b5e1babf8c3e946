//! The I/O driver that wsproto's runtime adapters share.
//!
//! `wsproto-tokio` and `wsproto-smol` are thin: each implements [`Transport`] and [`Runtime`] for
//! its runtime and adds `connect`/`accept` and TLS. Everything else they have in common lives
//! here, once: the async [`WebSocketStream`] (`Stream` + `Sink`), its [`split`](WebSocketStream::split)
//! halves, the opening handshake over a transport, and the [`Error`] type. The blocking adapter
//! shares the error type. None of it holds protocol or timer logic: that is the core's.
//!
//! Application code normally uses an adapter crate rather than this one.

#![deny(missing_docs)]

mod driver;
mod error;
pub mod handshake;
pub mod message;
mod request;
mod setup;
mod split;
mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
mod transport;

pub use driver::LINGER;
pub use error::{Error, Result};
pub use request::IntoClientRequest;
pub use setup::{default_config, upgraded_connection, within_handshake_timeout};
pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::WebSocketStream;
pub use transport::{Runtime, Timer, Transport};

pub use http;
pub use wsproto;
pub use wsproto::handshake::{Accept, Reject, Request};
pub use wsproto::{Bytes, ClientRequest, CloseCode, CloseFrame, Config, Message, MessageKind, Role, Utf8Bytes};
