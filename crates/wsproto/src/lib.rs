//! A sans-IO WebSocket protocol core: RFC 6455 and RFC 7692 (permessage-deflate).
//!
//! [`Connection`] is a state machine that takes bytes and time in and gives events and bytes out.
//! It has no sockets, no runtime and no clock, and it is `#![no_std]` with `alloc`, so the same
//! core runs under tokio, smol, blocking std I/O, an embedded network stack or a property test.
//! The `wsproto-tokio`, `wsproto-smol` and `wsproto-blocking` crates bind it to real I/O.
//!
//! # The run loop
//!
//! A driver repeats four steps, in this order:
//!
//! 1. **Input**: bytes from the transport go to [`Connection::receive`] (or are read straight
//!    into [`Connection::input_buffer`]); end of file goes to [`Connection::receive_eof`]; the
//!    time goes to [`Connection::handle_timeout`] whenever the deadline passes.
//! 2. **Events**: call [`Connection::poll_event`] until it returns `None`. Answer an
//!    [`Event::Request`] with [`Connection::accept`] or [`Connection::reject`]. Send with the
//!    command methods whenever you like.
//! 3. **Output**: write [`Connection::pending_output`] to the transport and report progress with
//!    [`Connection::advance_output`], until [`Connection::output_len`] is zero.
//! 4. **Wait** for the transport to be readable or for [`Connection::poll_timeout`], whichever
//!    comes first. After [`Event::Closed`] (or once [`Connection::is_closed`]), flush the output
//!    and close the transport.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use wsproto::{ClientRequest, Config, Connection, Event, Instant, OsRandom};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let request = ClientRequest::from_url("ws://127.0.0.1:9001/echo")?;
//! let mut tcp = TcpStream::connect((request.host(), request.port()))?;
//! let mut ws = Connection::client(&request, Config::default(), Box::new(OsRandom::new()), Instant::now())?;
//! let mut buf = [0u8; 16 * 1024];
//! loop {
//!     // 2. Events.
//!     while let Some(event) = ws.poll_event() {
//!         match event {
//!             Event::Connected(_) => ws.send_text("Hello")?,
//!             Event::Text(text) => {
//!                 println!("echo: {text}");
//!                 ws.close(wsproto::CloseCode::NORMAL, "done")?;
//!             }
//!             Event::Closed(closed) => println!("closed: {}", closed.code()),
//!             _ => {}
//!         }
//!     }
//!     // 3. Output.
//!     while ws.output_len() > 0 {
//!         let n = tcp.write(ws.pending_output())?;
//!         ws.advance_output(n);
//!     }
//!     if ws.is_closed() {
//!         return Ok(());
//!     }
//!     // 4 and 1. Wait for input (a real driver also sleeps until `poll_timeout`).
//!     match tcp.read(&mut buf)? {
//!         0 => ws.receive_eof(),
//!         n => ws.receive(&buf[..n]),
//!     }
//!     ws.handle_timeout(Instant::now());
//! }
//! # }
//! ```
//!
//! # Two cores in memory
//!
//! Because nothing here does I/O, a client and a server can talk through plain byte copies:
//!
//! ```
//! use wsproto::handshake::Accept;
//! use wsproto::{ClientRequest, Config, Connection, Event, Instant, SeededRandom};
//!
//! let now = Instant::ZERO;
//! let request = ClientRequest::from_url("ws://example.com/chat").unwrap();
//! let mut client = Connection::client(&request, Config::default(), Box::new(SeededRandom::new(1)), now).unwrap();
//! let mut server = Connection::server(Config::default(), now);
//! let mut wire = Vec::new();
//!
//! client.drain_output_into(&mut wire);
//! server.receive(&wire);
//! let Some(Event::Request(req)) = server.poll_event() else { panic!() };
//! assert_eq!(req.path(), "/chat");
//! server.accept(Accept::new()).unwrap();
//! server.send_text("welcome").unwrap();
//!
//! wire.clear();
//! server.drain_output_into(&mut wire);
//! client.receive(&wire);
//! assert!(matches!(client.poll_event(), Some(Event::Connected(_))));
//! assert_eq!(client.poll_event(), Some(Event::Text("welcome".into())));
//! ```
//!
//! # Features
//!
//! - `std` (default): [`OsRandom`], runtime SIMD detection, `std::time` conversions.
//! - `deflate` (default): permessage-deflate with the pure-Rust `miniz_oxide` backend.
//! - `zlib-rs`: the faster `zlib-rs` backend for permessage-deflate.
//! - `http`: conversions to and from the `http` crate's types.
//!
//! With default features off the crate needs only `core` and `alloc`.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(all(feature = "std", not(test)))]
extern crate std;
#[cfg(test)]
extern crate std;

pub mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod event;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod mask;
mod prepared;
mod rng;
mod time;
pub mod utf8;

pub use bytes::{Bytes, BytesMut};
pub use close::{CloseCode, CloseFrame};
pub use config::{Config, DEFAULT_KEEPALIVE};
pub use connection::{Connection, ConnectionState, InputBuffer, Role};
pub use error::{ConnectionError, HandshakeError, LocalError, ProtocolError};
pub use event::{Closed, Event, Message, MessageKind};
pub use extension::Extension;
pub use handshake::ClientRequest;
pub use prepared::PreparedMessage;
#[cfg(feature = "std")]
pub use rng::OsRandom;
pub use rng::{Random, SeededRandom};
pub use time::Instant;
pub use utf8::Utf8Bytes;

/// What unit tests need from `alloc`, since a `no_std` crate has no std prelude.
#[cfg(test)]
#[allow(unused_imports)]
mod test_prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec::Vec;
    pub(crate) use alloc::{format, vec};
}
