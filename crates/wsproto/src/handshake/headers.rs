//! HTTP header fields as the handshake sees them.

use alloc::string::String;
use alloc::vec::Vec;

/// An ordered list of HTTP header fields. Names are compared case-insensitively.
///
/// Values are kept as bytes, since HTTP allows bytes that are not UTF-8 (`obs-text`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// No fields.
    pub const fn new() -> Headers {
        Headers { fields: Vec::new() }
    }

    /// Appends a field, keeping any others with the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.fields.push((name.into(), value.into()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// How many fields have `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether any field named `name` lists `token` in its comma-separated value, ignoring ASCII
    /// case: `Connection: keep-alive, Upgrade` has the token `upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| split_list(v).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub(crate) fn from_httparse(headers: &[httparse::Header<'_>]) -> Headers {
        Headers { fields: headers.iter().map(|h| (String::from(h.name), h.value.to_vec())).collect() }
    }
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), trimmed, without empty ones.
pub(crate) fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim).filter(|t| !t.is_empty())
}

/// `value` without leading and trailing spaces and tabs.
pub(crate) fn trim(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(start, |e| e + 1);
    &value[start..end]
}

/// Whether `name` is a valid header name (an RFC 9110 token).
pub(crate) fn is_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
        })
}

/// Whether `value` can be sent as a header value (RFC 9110 §5.5): visible characters, spaces,
/// tabs and bytes above 0x7F. Control characters (CR and LF above all, which would end the
/// header) are refused, as every HTTP parser on the other end would refuse them.
pub(crate) fn is_safe_value(value: &[u8]) -> bool {
    value.iter().all(|&b| matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xFF))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn tokens_are_found_in_lists_ignoring_case() {
        let mut h = Headers::new();
        h.append("connection", "keep-alive, Upgrade");
        h.append("Upgrade", "WebSocket");
        assert!(h.has_token("Connection", "upgrade"));
        assert!(h.has_token("UPGRADE", "websocket"));
        assert!(!h.has_token("Connection", "close"));
        assert_eq!(h.get_str("CONNECTION"), Some("keep-alive, Upgrade"));
        let list: Vec<&[u8]> = split_list(b" a ,, b\t,c ").collect();
        assert_eq!(list, [&b"a"[..], b"b", b"c"]);
    }

    #[test]
    fn header_names_and_values_are_checked() {
        assert!(is_token(b"Sec-WebSocket-Key"));
        assert!(!is_token(b"Bad Name"));
        assert!(!is_token(b""));
        assert!(is_safe_value(b"fine value"));
        assert!(!is_safe_value(b"evil\r\nSet-Cookie: x"));
    }
}
