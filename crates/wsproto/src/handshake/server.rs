//! The server's side of the opening handshake (RFC 6455 §4.2).

use super::extensions::{ExtensionOffer, parse_extensions};
use super::headers::{Headers, is_safe_value, is_token, split_list};
use super::{accept_key, is_valid_key, reason_phrase};
use crate::error::{HandshakeError, LocalError};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

#[cfg(feature = "deflate")]
use crate::deflate::DeflateConfig;

/// A valid WebSocket upgrade request, for the application to route and authorise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    headers: Headers,
    key: String,
    subprotocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    extended_connect: bool,
}

const fn bad(reason: &'static str) -> HandshakeError {
    HandshakeError::BadRequest { status: 400, reason }
}

impl Request {
    /// Checks a request's method, version and headers against RFC 6455 §4.2.1.
    ///
    /// `http11` says whether the request was HTTP/1.1. This is what the core runs on every request
    /// it parses; it is public for servers whose HTTP stack parsed the request already.
    pub fn from_parts(method: &str, target: &str, http11: bool, headers: Headers) -> Result<Request, HandshakeError> {
        if method != "GET" {
            return Err(bad("the method must be GET"));
        }
        if !http11 {
            return Err(bad("the request must be HTTP/1.1"));
        }
        if headers.count("host") != 1 {
            return Err(bad("exactly one Host header is required"));
        }
        if !headers.has_token("upgrade", "websocket") {
            return Err(bad("missing Upgrade: websocket"));
        }
        if !headers.has_token("connection", "upgrade") {
            return Err(bad("missing Connection: upgrade"));
        }
        let key = {
            let mut keys = headers.get_all("sec-websocket-key");
            match (keys.next(), keys.next()) {
                (Some(k), None) if is_valid_key(super::headers::trim(k)) => String::from_utf8_lossy(super::headers::trim(k)).into_owned(),
                (None, _) => return Err(bad("missing Sec-WebSocket-Key")),
                (Some(_), Some(_)) => return Err(bad("more than one Sec-WebSocket-Key")),
                _ => return Err(bad("Sec-WebSocket-Key must be base64 of 16 bytes")),
            }
        };
        check_version(&headers)?;
        if headers.get("transfer-encoding").is_some() || headers.get_all("content-length").any(|v| super::headers::trim(v) != b"0") {
            return Err(bad("an upgrade request cannot have a body"));
        }
        let (subprotocols, extensions) = parse_offers(&headers)?;
        Ok(Request {
            method: method.to_string(),
            target: target.to_string(),
            headers,
            key,
            subprotocols,
            extensions,
            extended_connect: false,
        })
    }

    /// Checks an HTTP/2 extended CONNECT request (RFC 8441 §4 and §5): `protocol` is the value of
    /// its `:protocol` pseudo-header, which must be `websocket`, and `Sec-WebSocket-Version` must
    /// be 13. There is no `Sec-WebSocket-Key` (the stream itself is the proof that the server
    /// accepted), and `Upgrade` and `Connection` do not exist in HTTP/2. The subprotocols and
    /// extensions are offered and answered as in HTTP/1.1.
    ///
    /// ```
    /// use wsproto::handshake::{Headers, Request};
    ///
    /// let mut headers = Headers::new();
    /// headers.append("sec-websocket-version", "13");
    /// headers.append("sec-websocket-protocol", "chat");
    /// let req = Request::from_extended_connect("/chat", "websocket", headers.clone()).unwrap();
    /// assert!(req.is_extended_connect());
    /// assert_eq!(req.subprotocols(), ["chat"]);
    /// assert_eq!(Request::from_extended_connect("/chat", "chat", headers).unwrap_err().status(), Some(400));
    /// ```
    pub fn from_extended_connect(target: &str, protocol: &str, headers: Headers) -> Result<Request, HandshakeError> {
        if !protocol.eq_ignore_ascii_case("websocket") {
            return Err(bad("the :protocol pseudo-header must be websocket"));
        }
        check_version(&headers)?;
        let (subprotocols, extensions) = parse_offers(&headers)?;
        Ok(Request {
            method: "CONNECT".to_string(),
            target: target.to_string(),
            headers,
            key: String::new(),
            subprotocols,
            extensions,
            extended_connect: true,
        })
    }

    /// Whether this came over HTTP/2 as an extended CONNECT (RFC 8441) rather than as an
    /// HTTP/1.1 `GET` with `Upgrade`; it is then accepted with `200` instead of `101`.
    pub fn is_extended_connect(&self) -> bool {
        self.extended_connect
    }

    /// The method: `GET`, or `CONNECT` for an HTTP/2 request (RFC 8441).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query string after `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// Every request header.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The `Host` header (over HTTP/2, the stack that parsed the request may give the
    /// `:authority` as `Host`).
    pub fn host(&self) -> Option<&str> {
        self.headers.get_str("host")
    }

    /// The `Origin` header, which browsers always send.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("origin")
    }

    /// The `Sec-WebSocket-Key`; empty for an HTTP/2 request, which has none.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols that the client offered, in its order of preference.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extensions that the client offered, in order.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The first of `supported` (in the server's order of preference) that the client offered.
    pub fn choose_subprotocol<'a>(&self, supported: &[&'a str]) -> Option<&'a str> {
        supported.iter().copied().find(|s| self.subprotocols.iter().any(|o| o == s))
    }

    /// Checks `Origin` against an allow-list (RFC 6455 §10.2); an empty list allows any origin.
    /// Checks the `Origin` against the configuration's allow-list
    /// ([`Config::allowed_origins`](crate::Config) and `require_origin`), as the core does for
    /// every request it parses itself: [`HandshakeError::OriginNotAllowed`] (403) otherwise.
    pub fn check_origin_for(&self, config: &crate::Config) -> Result<(), HandshakeError> {
        self.check_origin(&config.allowed_origins, config.require_origin)
    }

    pub(crate) fn check_origin(&self, allowed: &[String], require: bool) -> Result<(), HandshakeError> {
        if allowed.is_empty() {
            return Ok(());
        }
        match self.origin() {
            None if !require => Ok(()),
            Some(o) if allowed.iter().any(|a| a.eq_ignore_ascii_case(o.trim())) => Ok(()),
            other => Err(HandshakeError::OriginNotAllowed(other.unwrap_or("").to_string())),
        }
    }
}

/// Exactly one `Sec-WebSocket-Version: 13`, in HTTP/1.1 and HTTP/2 alike (426 for another
/// version).
fn check_version(headers: &Headers) -> Result<(), HandshakeError> {
    let mut versions = headers.get_all("sec-websocket-version");
    match (versions.next(), versions.next()) {
        (Some(v), None) if super::headers::trim(v) == b"13" => Ok(()),
        (None, _) => Err(bad("missing Sec-WebSocket-Version")),
        _ => Err(HandshakeError::BadRequest { status: 426, reason: "unsupported Sec-WebSocket-Version; only 13 is supported" }),
    }
}

/// The subprotocols and extensions a request offers.
fn parse_offers(headers: &Headers) -> Result<(Vec<String>, Vec<ExtensionOffer>), HandshakeError> {
    let subprotocols =
        headers.get_all("sec-websocket-protocol").flat_map(split_list).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    let extensions =
        parse_extensions(headers.get_all("sec-websocket-extensions")).map_err(|_| bad("malformed Sec-WebSocket-Extensions"))?;
    Ok((subprotocols, extensions))
}

/// Validates an upgrade request parsed by another HTTP stack and returns its
/// `Sec-WebSocket-Accept` value. See [`Request::from_parts`] for the checks.
pub fn validate_request(method: &str, http11: bool, headers: &Headers) -> Result<String, HandshakeError> {
    let req = Request::from_parts(method, "/", http11, headers.clone())?;
    Ok(accept_key(req.key.as_bytes()))
}

/// Parses a complete request head.
pub(crate) fn parse_request(head: &[u8], max_headers: usize) -> Result<Request, HandshakeError> {
    let mut storage = alloc::vec![httparse::EMPTY_HEADER; max_headers];
    let mut req = httparse::Request::new(&mut storage);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete request head")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HandshakeError::BadRequest { status: 431, reason: "too many headers" });
        }
        Err(_) => return Err(bad("malformed HTTP request")),
    }
    let headers = Headers::from_httparse(req.headers);
    Request::from_parts(req.method.unwrap_or(""), req.path.unwrap_or("/"), req.version == Some(1), headers)
}

/// How the application accepts a request: the subprotocol, extra headers, and optionally other
/// extension settings than the connection's configuration.
///
/// ```
/// use wsproto::handshake::Accept;
/// let accept = Accept::new().subprotocol("chat").header("Set-Cookie", "session=1");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Accept {
    pub(crate) subprotocol: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<Option<DeflateConfig>>,
}

impl Accept {
    /// Accept with no subprotocol and no extra headers.
    pub fn new() -> Accept {
        Accept::default()
    }

    /// Chooses a subprotocol; it must be one that the client offered.
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Accept {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Adds a header to the 101 response.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Accept {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Negotiates permessage-deflate with these settings instead of the connection's
    /// configuration; `None` declines it for this connection.
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Accept {
        self.deflate = Some(deflate);
        self
    }
}

/// How the application refuses a request: a status, headers and a body.
///
/// ```
/// use wsproto::handshake::Reject;
/// let reject = Reject::new(401).header("WWW-Authenticate", "Bearer").body("log in first\n");
/// ```
#[derive(Clone, Debug)]
pub struct Reject {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reject {
    /// A response with `status` and an empty body.
    pub fn new(status: u16) -> Reject {
        Reject { status, headers: Vec::new(), body: Vec::new() }
    }

    /// The status it answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reject {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reject {
        self.body = body.into();
        self
    }
}

fn check_headers(headers: &[(String, String)]) -> Result<(), LocalError> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) || !is_safe_value(value.as_bytes()) {
            return Err(LocalError::InvalidHeader(name.clone()));
        }
    }
    Ok(())
}

fn push_headers(out: &mut String, headers: &[(String, String)]) {
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
}

/// The bytes of a 101 response.
pub(crate) fn write_accept(
    key: &str,
    subprotocol: Option<&str>,
    extensions: Option<&str>,
    headers: &[(String, String)],
) -> Result<Vec<u8>, LocalError> {
    check_headers(headers)?;
    let mut out = String::with_capacity(160);
    out.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.push_str(&accept_key(key.as_bytes()));
    out.push_str("\r\n");
    if let Some(p) = subprotocol {
        out.push_str("Sec-WebSocket-Protocol: ");
        out.push_str(p);
        out.push_str("\r\n");
    }
    if let Some(e) = extensions {
        out.push_str("Sec-WebSocket-Extensions: ");
        out.push_str(e);
        out.push_str("\r\n");
    }
    push_headers(&mut out, headers);
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// The bytes of a refusal. The connection closes after it, so it says so.
pub(crate) fn write_reject(reject: &Reject) -> Result<Vec<u8>, LocalError> {
    check_headers(&reject.headers)?;
    let mut out = String::with_capacity(128);
    out.push_str("HTTP/1.1 ");
    out.push_str(&reject.status.to_string());
    out.push(' ');
    out.push_str(reason_phrase(reject.status));
    out.push_str("\r\n");
    push_headers(&mut out, &reject.headers);
    if !reject.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        out.push_str("Content-Length: ");
        out.push_str(&reject.body.len().to_string());
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&reject.body);
    Ok(bytes)
}

/// The response to a request that failed the checks.
pub(crate) fn bad_request_response(err: &HandshakeError) -> Option<Vec<u8>> {
    let status = err.status()?;
    let mut reject = Reject::new(status).header("Content-Type", "text/plain; charset=utf-8");
    if status == 426 {
        reject = reject.header("Sec-WebSocket-Version", "13").header("Upgrade", "websocket");
    }
    let mut body = err.to_string();
    body.push('\n');
    write_reject(&reject.body(body)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    const GOOD: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    fn parse(head: &str) -> Result<Request, HandshakeError> {
        parse_request(head.as_bytes(), 128)
    }

    #[test]
    fn rfc_6455_1_2_request_is_accepted() {
        let r = parse(GOOD).unwrap();
        assert_eq!(
            (r.path(), r.query(), r.host(), r.origin()),
            ("/chat", Some("room=1"), Some("server.example.com"), Some("http://example.com"))
        );
        assert_eq!(r.subprotocols(), ["chat", "superchat"]);
        assert_eq!(r.choose_subprotocol(&["superchat", "chat"]), Some("superchat"));
        assert_eq!(r.choose_subprotocol(&["other"]), None);
        let resp = write_accept(r.key(), Some("chat"), None, &[]).unwrap();
        assert_eq!(
            String::from_utf8(resp).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn tokens_are_matched_case_insensitively_inside_lists() {
        let head =
            GOOD.replace("Upgrade: websocket", "upgrade: WebSocket").replace("Connection: Upgrade", "connection: keep-alive, upgrade");
        assert!(parse(&head).is_ok());
    }

    #[test]
    fn every_bad_request_has_its_status() {
        let cases: &[(String, u16)] = &[
            (GOOD.replace("GET", "POST"), 400),
            (GOOD.replace("HTTP/1.1", "HTTP/1.0"), 400),
            (GOOD.replace("Host: server.example.com\r\n", ""), 400),
            (GOOD.replace("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n"), 400),
            (GOOD.replace("Upgrade: websocket\r\n", ""), 400),
            (GOOD.replace("Upgrade: websocket", "Upgrade: h2c"), 400),
            (GOOD.replace("Connection: Upgrade", "Connection: keep-alive"), 400),
            (GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), 400),
            (GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ"), 400),
            (GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAAAA"), 400),
            (
                GOOD.replace(
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                ),
                400,
            ),
            (GOOD.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), 426),
            (GOOD.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13, 8"), 426),
            (GOOD.replace("Sec-WebSocket-Version: 13\r\n", ""), 400),
            (GOOD.replace("\r\n\r\n", "\r\nContent-Length: 5\r\n\r\n"), 400),
            (GOOD.replace("\r\n\r\n", "\r\nTransfer-Encoding: chunked\r\n\r\n"), 400),
            (GOOD.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: ;;\r\n\r\n"), 400),
            ("GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_string(), 400),
        ];
        for (head, status) in cases {
            let err = parse(head).unwrap_err();
            assert_eq!(err.status(), Some(*status), "{head} -> {err}");
        }
        assert!(parse(&GOOD.replace("\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n")).is_ok());
    }

    #[test]
    fn too_many_headers_is_431() {
        let mut head = GOOD.trim_end().to_string();
        for i in 0..200 {
            head.push_str(&format!("\r\nX-{i}: y"));
        }
        head.push_str("\r\n\r\n");
        assert_eq!(parse(&head).unwrap_err().status(), Some(431));
    }

    #[test]
    fn the_426_response_names_version_13() {
        let err = parse(&GOOD.replace("Version: 13", "Version: 7")).unwrap_err();
        let resp = String::from_utf8(bad_request_response(&err).unwrap()).unwrap();
        assert!(resp.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{resp}");
        assert!(resp.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{resp}");
        assert!(resp.contains("\r\nConnection: close\r\n"), "{resp}");
    }

    #[test]
    fn origins_are_checked_against_the_allow_list() {
        let r = parse(GOOD).unwrap();
        assert!(r.check_origin(&[], false).is_ok());
        assert!(r.check_origin(&["HTTP://EXAMPLE.COM".into()], false).is_ok());
        assert_eq!(
            r.check_origin(&["https://other.example".into()], false),
            Err(HandshakeError::OriginNotAllowed("http://example.com".into()))
        );
        let no_origin = parse(&GOOD.replace("Origin: http://example.com\r\n", "")).unwrap();
        assert!(no_origin.check_origin(&["https://a".into()], false).is_ok());
        assert_eq!(no_origin.check_origin(&["https://a".into()], true).unwrap_err().status(), Some(403));
    }

    #[test]
    fn rejects_carry_status_headers_and_body() {
        let bytes = write_reject(&Reject::new(404).header("X-Why", "room").body("no such room")).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 404 Not Found\r\nX-Why: room\r\nContent-Length: 12\r\nConnection: close\r\n\r\nno such room"
        );
        assert!(write_reject(&Reject::new(400).header("X", "a\nb")).is_err());
    }

    #[test]
    fn validate_request_gives_the_accept_key() {
        let r = parse(GOOD).unwrap();
        assert_eq!(validate_request("GET", true, r.headers()).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(validate_request("GET", false, r.headers()).is_err());
    }
}
