//! The syntax of `Sec-WebSocket-Extensions` (RFC 6455 §9.1), without any one extension's meaning.

use super::headers::is_token;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One extension in a `Sec-WebSocket-Extensions` list, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension's name, such as `permessage-deflate`.
    pub name: String,
    /// The parameters in order, each with its value if it has one (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, "; {name}={v}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// The header value does not follow the `extension-list` grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedExtensions;

/// Parses every `Sec-WebSocket-Extensions` value into its list of extensions, in order.
pub fn parse_extensions<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<ExtensionOffer>, MalformedExtensions> {
    let mut out = Vec::new();
    for value in values {
        let mut p = Parser { s: value, i: 0 };
        loop {
            p.skip_ws();
            if p.at_end() {
                break;
            }
            if p.eat(b',') {
                // Empty list elements are allowed by the list rule (RFC 9110 §5.6.1).
                continue;
            }
            out.push(p.extension()?);
            p.skip_ws();
            if !p.at_end() && !p.eat(b',') {
                return Err(MalformedExtensions);
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Result<String, MalformedExtensions> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if !is_token(&[b]) {
                break;
            }
            self.i += 1;
        }
        let tok = &self.s[start..self.i];
        if tok.is_empty() {
            return Err(MalformedExtensions);
        }
        // Tokens are ASCII by construction.
        Ok(String::from_utf8_lossy(tok).into_owned())
    }

    fn quoted(&mut self) -> Result<String, MalformedExtensions> {
        // Called after the opening quote.
        let mut v = Vec::new();
        loop {
            match self.peek() {
                None => return Err(MalformedExtensions),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or(MalformedExtensions)?;
                    v.push(c);
                    self.i += 1;
                }
                Some(c) => {
                    v.push(c);
                    self.i += 1;
                }
            }
        }
        // RFC 6455 §9.1: a quoted value must still be a token once unquoted.
        if !is_token(&v) {
            return Err(MalformedExtensions);
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }

    fn extension(&mut self) -> Result<ExtensionOffer, MalformedExtensions> {
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_ws();
            if !self.eat(b';') {
                break;
            }
            self.skip_ws();
            let pname = self.token()?;
            self.skip_ws();
            let value = if self.eat(b'=') {
                self.skip_ws();
                Some(if self.eat(b'"') { self.quoted()? } else { self.token()? })
            } else {
                None
            };
            params.push((pname, value));
        }
        Ok(ExtensionOffer { name, params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    fn parse(s: &str) -> Result<Vec<ExtensionOffer>, MalformedExtensions> {
        parse_extensions([s.as_bytes()])
    }

    #[test]
    fn parses_offers_with_parameters_in_order() {
        let offers = parse("permessage-deflate; client_max_window_bits, permessage-deflate;server_max_window_bits=\"10\" ; client_no_context_takeover,x-foo").unwrap();
        assert_eq!(offers.len(), 3);
        assert_eq!(offers[0].name, "permessage-deflate");
        assert_eq!(offers[0].params, [("client_max_window_bits".into(), None)]);
        assert_eq!(offers[1].params, [("server_max_window_bits".into(), Some("10".into())), ("client_no_context_takeover".into(), None)]);
        assert_eq!(offers[2].name, "x-foo");
        assert_eq!(offers[1].to_string(), "permessage-deflate; server_max_window_bits=10; client_no_context_takeover");
    }

    #[test]
    fn several_header_lines_form_one_list() {
        let offers = parse_extensions([&b"a"[..], b"b; c=1", b""]).unwrap();
        assert_eq!(offers.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in ["; x", "a;", "a; =1", "a; b=", "a b", "a; b=\"unterminated", "a; b=\"not token\"", "a; b=c d"] {
            assert_eq!(parse(bad), Err(MalformedExtensions), "{bad}");
        }
        assert_eq!(parse(" , ,"), Ok(vec![]));
    }
}
