//! Errors, split by who made the mistake (after h11).
//!
//! - [`ProtocolError`]: the peer broke RFC 6455 or a negotiated extension. The connection fails:
//!   the core queues a close frame with [`ProtocolError::close_code`] and reports the error in
//!   [`Closed::error`](crate::Closed::error).
//! - [`HandshakeError`]: the opening handshake failed. On a server the core queues the HTTP
//!   response that [`HandshakeError::status`] names.
//! - [`LocalError`]: the caller asked for something the connection cannot do now. Nothing is
//!   queued and the state does not change, so the caller can carry on.
//! - [`ConnectionError`]: why a connection ended abnormally; one of the above or a timeout.

use crate::close::CloseCode;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::handshake::Headers;

/// The peer broke the protocol. Each variant maps to the close code the core answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV bits set that no negotiated extension allows on this frame (1002).
    ReservedBits(u8),
    /// A reserved opcode (1002).
    ReservedOpcode(u8),
    /// A control frame without FIN (1002).
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload (1002).
    ControlFrameTooLong(u64),
    /// A frame from a client that is not masked (1002).
    UnmaskedFrame,
    /// A frame from a server that is masked (1002).
    MaskedFrame,
    /// A 64-bit length with its top bit set (1002).
    LengthTopBitSet,
    /// A continuation frame with no fragmented message open (1002).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is open (1002).
    ExpectedContinuation,
    /// A close frame with a one-byte payload (1002).
    InvalidClosePayload,
    /// A close frame with a code that may not be sent (1002).
    InvalidCloseCode(u16),
    /// Text, or a close reason, that is not valid UTF-8 (1007).
    InvalidUtf8,
    /// A frame longer than the configured maximum (1009).
    FrameTooBig {
        /// The declared payload length.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message longer than the configured maximum, counted after decompression (1009).
    MessageTooBig {
        /// The configured limit.
        limit: usize,
    },
    /// An extension could not decode a message, for example a corrupt deflate stream (1007).
    InvalidExtensionData(&'static str),
}

impl ProtocolError {
    /// The close code that the core sends when the peer makes this mistake.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidExtensionData(_) => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBits(bits) => write!(f, "reserved bits {:#04x} set without a negotiated extension", bits),
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::ControlFrameTooLong(n) => write!(f, "control frame payload of {n} bytes (at most 125)"),
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::LengthTopBitSet => f.write_str("64-bit payload length with its top bit set"),
            ProtocolError::UnexpectedContinuation => f.write_str("continuation frame without a message to continue"),
            ProtocolError::ExpectedContinuation => f.write_str("new data frame while a fragmented message is open"),
            ProtocolError::InvalidClosePayload => f.write_str("close frame with a one-byte payload"),
            ProtocolError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            ProtocolError::FrameTooBig { len, limit } => write!(f, "frame of {len} bytes exceeds the limit of {limit}"),
            ProtocolError::MessageTooBig { limit } => write!(f, "message exceeds the limit of {limit} bytes"),
            ProtocolError::InvalidExtensionData(why) => write!(f, "invalid extension data: {why}"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// The opening handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Server: the request is not a valid WebSocket upgrade. The core answers with `status`.
    BadRequest {
        /// The HTTP status sent back: 400, 426 (version) or 431 (too large).
        status: u16,
        /// What was wrong.
        reason: &'static str,
    },
    /// Server: the request's `Origin` is not on the allow-list (403).
    OriginNotAllowed(String),
    /// Server: the application rejected the request with this status.
    RejectedByApplication(u16),
    /// Client: the server answered with something other than 101.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The response headers.
        headers: Headers,
        /// The response body, up to the handshake size limit.
        body: Vec<u8>,
    },
    /// Client: the 101 response is not a valid WebSocket upgrade.
    BadResponse(&'static str),
    /// Client: the server chose a subprotocol that was not offered.
    UnexpectedSubprotocol(String),
    /// Client: the server answered with an extension, or extension parameters, that were not offered.
    UnexpectedExtension(String),
    /// The handshake did not finish within the configured timeout.
    Timeout,
    /// The transport ended before the handshake finished.
    UnexpectedEof,
}

impl HandshakeError {
    /// Server side: the HTTP status that the core answers with, if it answers at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeError::BadRequest { status, .. } => Some(*status),
            HandshakeError::OriginNotAllowed(_) => Some(403),
            HandshakeError::RejectedByApplication(status) => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::BadRequest { status, reason } => write!(f, "bad handshake request ({status}): {reason}"),
            HandshakeError::OriginNotAllowed(o) => write!(f, "origin {o:?} is not allowed"),
            HandshakeError::RejectedByApplication(s) => write!(f, "the application rejected the handshake with {s}"),
            HandshakeError::Rejected { status, body, .. } => {
                write!(f, "the server rejected the handshake with HTTP {status}")?;
                if !body.is_empty() {
                    let shown = &body[..body.len().min(200)];
                    write!(f, ": {}", String::from_utf8_lossy(shown).trim_end())?;
                }
                Ok(())
            }
            HandshakeError::BadResponse(why) => write!(f, "bad handshake response: {why}"),
            HandshakeError::UnexpectedSubprotocol(p) => write!(f, "the server chose subprotocol {p:?}, which was not offered"),
            HandshakeError::UnexpectedExtension(e) => write!(f, "the server answered with extension {e:?}, which was not offered"),
            HandshakeError::Timeout => f.write_str("the opening handshake timed out"),
            HandshakeError::UnexpectedEof => f.write_str("the connection ended during the opening handshake"),
        }
    }
}

impl core::error::Error for HandshakeError {}

/// The caller asked for something that the connection cannot do now. Nothing was queued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalError {
    /// The opening handshake has not finished.
    NotOpen,
    /// A close frame was already sent, or the connection is closed: no more data may be sent.
    Closing,
    /// The output buffer holds `buffered` bytes, over the configured limit: drain it first.
    WriteBufferFull {
        /// Bytes waiting to be written.
        buffered: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A ping, pong or close payload over 125 bytes.
    ControlPayloadTooLong(usize),
    /// A close code that may not be sent (1005, 1006, 1015, or one outside the valid ranges).
    InvalidCloseCode(CloseCode),
    /// A fragmented message is being sent; finish it before starting another message.
    FragmentInProgress,
    /// A fragment of a different kind (text or binary) than the message it continues.
    FragmentKindMismatch,
    /// `accept` or `reject` without a request waiting for an answer.
    NoRequestPending,
    /// The chosen subprotocol was not offered by the client.
    SubprotocolNotOffered(String),
    /// A header name or value that would break the HTTP message (for example, it holds CR or LF).
    InvalidHeader(String),
    /// An extension failed to encode a message.
    Extension(&'static str),
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalError::NotOpen => f.write_str("the opening handshake has not finished"),
            LocalError::Closing => f.write_str("the connection is closing or closed"),
            LocalError::WriteBufferFull { buffered, limit } => {
                write!(f, "write buffer full: {buffered} bytes buffered, limit {limit}")
            }
            LocalError::ControlPayloadTooLong(n) => write!(f, "control frame payload of {n} bytes (at most 125)"),
            LocalError::InvalidCloseCode(c) => write!(f, "close code {} may not be sent", c.0),
            LocalError::FragmentInProgress => f.write_str("a fragmented message is still being sent"),
            LocalError::FragmentKindMismatch => f.write_str("fragment kind differs from the message it continues"),
            LocalError::NoRequestPending => f.write_str("no handshake request is waiting for an answer"),
            LocalError::SubprotocolNotOffered(p) => write!(f, "subprotocol {p:?} was not offered by the client"),
            LocalError::InvalidHeader(h) => write!(f, "invalid header {h:?}"),
            LocalError::Extension(why) => write!(f, "extension failed: {why}"),
        }
    }
}

impl core::error::Error for LocalError {}

/// Why a connection ended abnormally.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol; the matching close frame was sent.
    Protocol(ProtocolError),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The peer did not answer a keepalive ping in time.
    KeepaliveTimeout,
    /// The peer did not answer our close frame in time.
    CloseTimeout,
    /// The transport ended without a closing handshake.
    UnexpectedEof,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnectionError::Handshake(e) => write!(f, "handshake failed: {e}"),
            ConnectionError::KeepaliveTimeout => f.write_str("keepalive ping timed out"),
            ConnectionError::CloseTimeout => f.write_str("the peer did not answer the close frame in time"),
            ConnectionError::UnexpectedEof => f.write_str("the connection ended without a closing handshake"),
        }
    }
}

impl core::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ConnectionError::Protocol(e) => Some(e),
            ConnectionError::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for ConnectionError {
    fn from(e: ProtocolError) -> Self {
        ConnectionError::Protocol(e)
    }
}

impl From<HandshakeError> for ConnectionError {
    fn from(e: HandshakeError) -> Self {
        ConnectionError::Handshake(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn protocol_errors_map_to_their_close_codes() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode(1007));
        assert_eq!(ProtocolError::InvalidExtensionData("x").close_code(), CloseCode(1007));
        assert_eq!(ProtocolError::MessageTooBig { limit: 1 }.close_code(), CloseCode(1009));
        assert_eq!(ProtocolError::FrameTooBig { len: 2, limit: 1 }.close_code(), CloseCode(1009));
        for e in [
            ProtocolError::ReservedBits(0x40),
            ProtocolError::ReservedOpcode(3),
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooLong(126),
            ProtocolError::UnmaskedFrame,
            ProtocolError::MaskedFrame,
            ProtocolError::LengthTopBitSet,
            ProtocolError::UnexpectedContinuation,
            ProtocolError::ExpectedContinuation,
            ProtocolError::InvalidClosePayload,
            ProtocolError::InvalidCloseCode(999),
        ] {
            assert_eq!(e.close_code(), CloseCode(1002), "{e}");
        }
    }

    #[test]
    fn handshake_errors_name_their_status() {
        assert_eq!(HandshakeError::BadRequest { status: 426, reason: "version" }.status(), Some(426));
        assert_eq!(HandshakeError::OriginNotAllowed("https://evil.example".into()).status(), Some(403));
        assert_eq!(HandshakeError::Timeout.status(), None);
        let e = HandshakeError::Rejected { status: 404, headers: Headers::new(), body: b"no such room\n".to_vec() };
        assert_eq!(e.to_string(), "the server rejected the handshake with HTTP 404: no such room");
    }

    #[test]
    fn every_error_says_what_happened() {
        use alloc::string::ToString;
        let cases: [(&dyn fmt::Display, &str); 24] = [
            (&HandshakeError::RejectedByApplication(401), "the application rejected the handshake with 401"),
            (&HandshakeError::BadResponse("no Upgrade header"), "bad handshake response: no Upgrade header"),
            (&HandshakeError::UnexpectedSubprotocol("mqtt".into()), "the server chose subprotocol \"mqtt\", which was not offered"),
            (&HandshakeError::UnexpectedExtension("x-zip".into()), "the server answered with extension \"x-zip\", which was not offered"),
            (&HandshakeError::Timeout, "the opening handshake timed out"),
            (&HandshakeError::UnexpectedEof, "the connection ended during the opening handshake"),
            (
                &HandshakeError::Rejected { status: 503, headers: Headers::new(), body: Vec::new() },
                "the server rejected the handshake with HTTP 503",
            ),
            (&LocalError::NotOpen, "the opening handshake has not finished"),
            (&LocalError::Closing, "the connection is closing or closed"),
            (&LocalError::WriteBufferFull { buffered: 200, limit: 100 }, "write buffer full: 200 bytes buffered, limit 100"),
            (&LocalError::ControlPayloadTooLong(126), "control frame payload of 126 bytes (at most 125)"),
            (&LocalError::InvalidCloseCode(CloseCode(1005)), "close code 1005 may not be sent"),
            (&LocalError::FragmentInProgress, "a fragmented message is still being sent"),
            (&LocalError::FragmentKindMismatch, "fragment kind differs from the message it continues"),
            (&LocalError::NoRequestPending, "no handshake request is waiting for an answer"),
            (&LocalError::SubprotocolNotOffered("chat".into()), "subprotocol \"chat\" was not offered by the client"),
            (&LocalError::InvalidHeader("x\r\ny".into()), "invalid header \"x\\r\\ny\""),
            (&LocalError::Extension("window too small"), "extension failed: window too small"),
            (&ConnectionError::Protocol(ProtocolError::UnmaskedFrame), "protocol error: unmasked frame from a client"),
            (&ConnectionError::Handshake(HandshakeError::Timeout), "handshake failed: the opening handshake timed out"),
            (&ConnectionError::KeepaliveTimeout, "keepalive ping timed out"),
            (&ConnectionError::CloseTimeout, "the peer did not answer the close frame in time"),
            (&ConnectionError::UnexpectedEof, "the connection ended without a closing handshake"),
            (&ProtocolError::InvalidExtensionData("bad block"), "invalid extension data: bad block"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn a_connection_error_leads_to_its_cause() {
        use core::error::Error;
        let protocol = ConnectionError::from(ProtocolError::InvalidUtf8);
        assert_eq!(protocol.source().map(|e| e.to_string()), Some(ProtocolError::InvalidUtf8.to_string()));
        let handshake = ConnectionError::from(HandshakeError::UnexpectedEof);
        assert_eq!(handshake.source().map(|e| e.to_string()), Some(HandshakeError::UnexpectedEof.to_string()));
        assert!(ConnectionError::KeepaliveTimeout.source().is_none());
        assert_eq!(HandshakeError::RejectedByApplication(401).status(), Some(401));
    }
}
