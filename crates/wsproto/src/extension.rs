//! The extension seam (RFC 6455 §9): RSV bits and a per-message transform.
//!
//! The connection owns framing, fragmentation, limits and UTF-8; an [`Extension`] only turns a
//! message's payload into another one and back. permessage-deflate is built on this trait, and
//! the connection does not know it exists. A custom extension can be installed with
//! [`Connection::upgraded_server`](crate::Connection::upgraded_server) or
//! [`Connection::upgraded_client`](crate::Connection::upgraded_client).

use bytes::BytesMut;
use core::fmt;
use core::time::Duration;

/// Why an extension could not decode a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The decoded message would exceed the limit it was given (the connection answers 1009).
    TooBig,
    /// The data is corrupt (the connection answers 1007).
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooBig => f.write_str("decoded message too big"),
            DecodeError::Invalid(why) => f.write_str(why),
        }
    }
}

impl core::error::Error for DecodeError {}

/// A negotiated extension that transforms data messages.
///
/// The connection calls the decode side for each incoming data message whose first frame has one
/// of [`rsv_bits`](Extension::rsv_bits) set, and the encode side for each outgoing data message.
/// Control frames never pass through an extension. The RSV bits may appear only on the first
/// frame of a data message; the connection enforces that.
pub trait Extension: Send + fmt::Debug {
    /// The RSV bits, in their first-byte positions (`0x40` is RSV1), that this extension sets.
    fn rsv_bits(&self) -> u8;

    /// Decodes the next piece of a transformed message, appending the result to `out`.
    ///
    /// `out` may grow by at most `limit` bytes; if the message needs more, return
    /// [`DecodeError::TooBig`] rather than allocate. Pieces arrive as the network delivers them.
    fn decode(&mut self, input: &[u8], out: &mut BytesMut, limit: usize) -> Result<(), DecodeError>;

    /// Ends a transformed message after its last piece, appending any remaining output.
    fn finish_decode(&mut self, out: &mut BytesMut, limit: usize) -> Result<(), DecodeError>;

    /// Starts an outgoing data message and decides whether to transform it.
    ///
    /// `len` is the message length when the whole message is known, `None` when it is sent in
    /// fragments. Returns the RSV bits for the first frame, or 0 to send the message as it is.
    fn begin_encode(&mut self, len: Option<usize>) -> u8;

    /// Encodes the next piece of a transformed message, appending to `out`. `last` marks the end.
    fn encode(&mut self, input: &[u8], last: bool, out: &mut BytesMut) -> Result<(), &'static str>;

    /// The whole message just encoded came out larger than it went in: forget it, so that the
    /// connection can send it untransformed instead. Returns whether that is possible; the
    /// default says no, and the encoded form is sent.
    fn discard_encode(&mut self) -> bool {
        false
    }

    /// How long the connection waits after a message that went through this extension before
    /// it calls [`hibernate`](Extension::hibernate). `None` (the default): never.
    /// `Some(Duration::ZERO)`: right after every such message.
    fn hibernate_after(&self) -> Option<Duration> {
        None
    }

    /// The connection has been quiet: free what can be rebuilt, keeping only what later messages
    /// need. The next message rebuilds the rest. It may be called while a message is half sent
    /// or half received; that direction must then be left as it is.
    fn hibernate(&mut self) {}
}
