//! The opening handshake (RFC 6455 §4), as pure functions and plain data.
//!
//! [`Connection`](crate::Connection) drives these for you. They are public so that a server that
//! upgrades through another HTTP stack (hyper, axum) can validate the request and compute the
//! `Sec-WebSocket-Accept` value itself, and so that the fuzzers can reach them.

mod client;
mod extensions;
mod headers;
#[cfg(feature = "http")]
mod http_compat;
mod server;

pub use client::{ClientRequest, Response, UrlError};
pub use extensions::{ExtensionOffer, MalformedExtensions, parse_extensions};
pub use headers::Headers;
pub use server::{Accept, Reject, Request, validate_request};

pub(crate) use client::{ParsedResponse, parse_response, write_request};
pub(crate) use server::{bad_request_response, parse_request, write_accept, write_reject};

use alloc::string::String;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The GUID that RFC 6455 §1.3 appends to the key.
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
///
/// ```
/// assert_eq!(wsproto::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key);
    sha1.update(GUID);
    BASE64.encode(sha1.digest().bytes())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded.
pub(crate) fn new_key(rng: &mut dyn crate::Random) -> String {
    let mut nonce = [0u8; 16];
    rng.fill(&mut nonce);
    BASE64.encode(nonce)
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of exactly 16 bytes.
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24 && BASE64.decode(key).is_ok_and(|k| k.len() == 16)
}

/// The size limits for an HTTP head.
#[derive(Clone, Copy, Debug)]
pub struct HeadLimits {
    /// The most bytes in the whole head.
    pub total: usize,
    /// The most bytes in one line.
    pub line: usize,
    /// The most header fields (checked when the head is parsed).
    pub headers: usize,
}

impl HeadLimits {
    /// The limits a [`Config`](crate::Config) sets.
    pub fn from_config(config: &crate::Config) -> HeadLimits {
        HeadLimits { total: config.max_handshake_size, line: config.max_handshake_line, headers: config.max_handshake_headers }
    }
}

/// What [`HeadReader::scan`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadStatus {
    /// No blank line yet.
    Partial,
    /// The head ends after this many bytes.
    Complete(usize),
    /// The head is over a limit.
    TooLarge(&'static str),
    /// The bytes cannot start an HTTP head: the first byte is not a letter (a TLS ClientHello
    /// sent to a plain port starts with 0x16). Known from the first byte, so the peer gets its
    /// answer at once instead of at the handshake timeout.
    NotHttp,
}

/// Finds the end of an HTTP head in input that arrives in pieces, within size limits.
///
/// Each byte is looked at once, so feeding a head one byte at a time costs linear time (the
/// quadratic re-parse of tungstenite's CVE-2023-43669 cannot happen). Parse the head once it is
/// complete. Servers that route plain HTTP and WebSocket on one port use it to read a request
/// head before deciding what it is.
#[derive(Clone, Debug, Default)]
pub struct HeadReader {
    scanned: usize,
    line_len: usize,
    prev: u8,
}

impl HeadReader {
    /// Scans `buf`, which holds everything received so far (the same buffer, growing), for the
    /// blank line that ends the head. Only the bytes not seen before are looked at.
    pub fn scan(&mut self, buf: &[u8], limits: &HeadLimits) -> HeadStatus {
        // A request line starts with a method and a status line with "HTTP": a letter either way.
        if self.scanned == 0 && buf.first().is_some_and(|b| !b.is_ascii_alphabetic()) {
            return HeadStatus::NotHttp;
        }
        while self.scanned < buf.len() {
            let b = buf[self.scanned];
            self.scanned += 1;
            if b == b'\n' {
                // A line that is empty, or holds only CR, ends the head.
                if self.line_len == 0 || (self.line_len == 1 && self.prev == b'\r') {
                    return HeadStatus::Complete(self.scanned);
                }
                self.line_len = 0;
            } else {
                self.line_len += 1;
                if self.line_len > limits.line {
                    return HeadStatus::TooLarge("header line too long");
                }
            }
            self.prev = b;
            if self.scanned >= limits.total {
                return HeadStatus::TooLarge("handshake too large");
            }
        }
        HeadStatus::Partial
    }
}

/// The reason phrase for the statuses the handshake uses.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    const LIMITS: HeadLimits = HeadLimits { total: 64, line: 20, headers: 4 };

    #[test]
    fn rfc_6455_1_3_accept_key() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn keys_must_decode_to_16_bytes() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ")); // no padding
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZWU=")); // 17 bytes
        assert!(!is_valid_key(b"!!!!!!!!!!!!!!!!!!!!!!=="));
        let mut rng = crate::SeededRandom::new(1);
        assert!(is_valid_key(new_key(&mut rng).as_bytes()));
    }

    #[test]
    fn head_reader_finds_the_end_whatever_the_pieces() {
        let head = b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest";
        let end = head.len() - 4;
        let mut r = HeadReader::default();
        assert_eq!(r.scan(head, &LIMITS), HeadStatus::Complete(end));
        let mut r = HeadReader::default();
        for n in 1..=head.len() {
            match r.scan(&head[..n], &LIMITS) {
                HeadStatus::Partial => assert!(n < end),
                HeadStatus::Complete(at) => {
                    assert_eq!((n, at), (end, end));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        let mut r = HeadReader::default();
        assert_eq!(r.scan(b"GET / HTTP/1.1\n\n", &LIMITS), HeadStatus::Complete(16));
    }

    #[test]
    fn head_reader_knows_a_tls_hello_or_binary_from_the_first_byte() {
        for start in [&[0x16u8, 0x03, 0x01][..], b"\r\n", b" GET", b"\x00"] {
            assert_eq!(HeadReader::default().scan(start, &LIMITS), HeadStatus::NotHttp, "{start:?}");
        }
        assert_eq!(HeadReader::default().scan(b"G", &LIMITS), HeadStatus::Partial);
        assert_eq!(HeadReader::default().scan(b"", &LIMITS), HeadStatus::Partial);
    }

    #[test]
    fn head_reader_enforces_line_and_total_limits() {
        let mut r = HeadReader::default();
        assert_eq!(r.scan(b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &LIMITS), HeadStatus::TooLarge("header line too long"));
        let mut r = HeadReader::default();
        let many = b"A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n";
        assert_eq!(r.scan(many, &LIMITS), HeadStatus::TooLarge("handshake too large"));
    }
}
