//! Close codes and close frames (RFC 6455 §5.5.1, §7.4).

use crate::utf8::{Utf8Bytes, validate};
use bytes::Bytes;
use core::fmt;

/// A close status code (RFC 6455 §7.4, IANA's WebSocket Close Code Number Registry).
///
/// A plain number with names for the registered codes, so that codes from 3000–4999 that
/// applications define for themselves fit without a catch-all variant.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (a server shutting down, a page navigating away).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint cannot accept this type of data.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: reported locally when a close frame carried no code. Never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reported locally when the connection ended without a close frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a message's data did not match its type (invalid UTF-8 in text, a corrupt
    /// compressed stream).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message was too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client needed an extension that the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway or proxy got an invalid response from upstream.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reported locally when the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may appear in a close frame on the wire.
    ///
    /// 1000–1003, 1007–1014 and 3000–4999. Everything else, including 1005, 1006 and 1015 (which
    /// only ever describe a close locally) and the unassigned 1016–2999, fails the connection with
    /// 1002 when a peer sends it.
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake failure",
            _ => return write!(f, "{}", self.0),
        };
        write!(f, "{} ({name})", self.0)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

/// The code and reason of a close frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8; often empty.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> CloseFrame {
        CloseFrame { code, reason: reason.into() }
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() { write!(f, "{}", self.code) } else { write!(f, "{}: {}", self.code, self.reason) }
    }
}

/// Why a close payload from the peer is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClosePayloadError {
    /// One byte: too short for a code (1002).
    OneByte,
    /// A code that may not be sent (1002).
    InvalidCode(u16),
    /// A reason that is not UTF-8 (1007).
    InvalidReason,
}

/// Parses the payload of a close frame. An empty payload is `None`.
pub(crate) fn parse_close_payload(payload: Bytes) -> Result<Option<CloseFrame>, ClosePayloadError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ClosePayloadError::OneByte),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_valid_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            validate(&payload[2..]).map_err(|_| ClosePayloadError::InvalidReason)?;
            let reason = Utf8Bytes::from_validated(payload.slice(2..));
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn wire_validity_follows_rfc_6455_7_4_and_the_iana_registry() {
        let valid = |c: u16| CloseCode(c).is_valid_on_wire();
        for c in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            assert!(valid(c), "{c}");
        }
        for c in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!valid(c), "{c}");
        }
    }

    #[test]
    fn codes_read_with_their_registered_names() {
        use alloc::string::ToString;
        let names = [
            (1000, "normal closure"),
            (1001, "going away"),
            (1002, "protocol error"),
            (1003, "unsupported data"),
            (1005, "no status received"),
            (1006, "abnormal closure"),
            (1007, "invalid payload data"),
            (1008, "policy violation"),
            (1009, "message too big"),
            (1010, "mandatory extension"),
            (1011, "internal error"),
            (1012, "service restart"),
            (1013, "try again later"),
            (1014, "bad gateway"),
            (1015, "TLS handshake failure"),
        ];
        for (code, name) in names {
            assert_eq!(CloseCode::from(code).to_string(), alloc::format!("{code} ({name})"));
            assert_eq!(u16::from(CloseCode(code)), code);
        }
        assert_eq!(CloseCode(4000).to_string(), "4000", "an application's code has no name");
        assert_eq!(alloc::format!("{:?}", CloseCode(1000)), "CloseCode(1000)");
        assert_eq!(CloseFrame::new(CloseCode(1001), "").to_string(), "1001 (going away)");
        assert_eq!(CloseFrame::new(CloseCode(4000), "bye").to_string(), "4000: bye");
    }

    #[test]
    fn parse_close_payloads() {
        assert_eq!(parse_close_payload(Bytes::new()), Ok(None));
        assert_eq!(parse_close_payload(Bytes::from_static(&[0x03])), Err(ClosePayloadError::OneByte));
        assert_eq!(parse_close_payload(Bytes::from_static(&[0x03, 0xED])), Err(ClosePayloadError::InvalidCode(1005)));
        let ok = parse_close_payload(Bytes::from_static(b"\x03\xe8bye")).unwrap().unwrap();
        assert_eq!(ok, CloseFrame::new(CloseCode::NORMAL, "bye"));
        assert_eq!(
            parse_close_payload(Bytes::from_static(b"\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")),
            Err(ClosePayloadError::InvalidReason)
        );
    }

    #[test]
    fn display_names_registered_codes() {
        assert_eq!(CloseCode::MESSAGE_TOO_BIG.to_string(), "1009 (message too big)");
        assert_eq!(CloseCode(4001).to_string(), "4001");
        assert_eq!(CloseFrame::new(CloseCode::NORMAL, "done").to_string(), "1000 (normal closure): done");
    }
}
