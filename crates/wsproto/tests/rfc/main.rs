//! The core's behaviour, by RFC 6455 section, through the public sans-IO API only.
//!
//! One test binary with a module per section, so that the suite links once.

#![allow(unreachable_pub)]

mod common;

mod limits_and_misuse;
#[cfg(feature = "deflate")]
mod pair;
#[cfg(feature = "deflate")]
mod rfc7692_deflate;
mod s4_1_client_handshake;
mod s4_2_server_handshake;
mod s5_4_fragmentation;
mod s5_5_control;
mod s5_framing;
mod s7_close;
mod s8_utf8;
mod s9_extensions;
mod timers;
