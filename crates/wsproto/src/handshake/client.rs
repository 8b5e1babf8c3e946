//! The client's side of the opening handshake (RFC 6455 §4.1).

use super::extensions::{ExtensionOffer, parse_extensions};
use super::headers::{Headers, is_safe_value, is_token, split_list};
use crate::error::{HandshakeError, LocalError};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// What a client asks for in its opening request: where, which subprotocols, and extra headers.
///
/// [`ClientRequest::from_url`] parses a URL (with the `http` feature, on by default);
/// [`ClientRequest::new`] takes the parts, for `no_std` builds.
///
/// ```
/// use wsproto::handshake::ClientRequest;
/// let req = ClientRequest::from_url("wss://chat.example.com/room/7?token=abc")?
///     .subprotocol("chat.v2")
///     .origin("https://chat.example.com")
///     .header("Authorization", "Bearer abc");
/// assert_eq!((req.host(), req.port(), req.is_secure()), ("chat.example.com", 443, true));
/// assert_eq!(req.target(), "/room/7?token=abc");
/// # Ok::<(), wsproto::handshake::UrlError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    secure: bool,
    host: String,
    port: u16,
    target: String,
    subprotocols: Vec<String>,
    pub(crate) origin: Option<String>,
    headers: Vec<(String, String)>,
}

/// A WebSocket URL that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub(crate) String);

impl UrlError {
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn new(why: impl Into<String>) -> UrlError {
        UrlError(why.into())
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid WebSocket URL: {}", self.0)
    }
}

impl core::error::Error for UrlError {}

impl ClientRequest {
    /// A request for `target` (path and query) on `host:port`, over TLS if `secure`.
    pub fn new(host: impl Into<String>, port: u16, target: impl Into<String>, secure: bool) -> ClientRequest {
        let mut target = target.into();
        if !target.starts_with('/') {
            target.insert(0, '/');
        }
        ClientRequest { secure, host: host.into(), port, target, subprotocols: Vec::new(), origin: None, headers: Vec::new() }
    }

    /// Offers a subprotocol; call once per protocol, in order of preference.
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> ClientRequest {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Sends an `Origin` header.
    #[must_use]
    pub fn origin(mut self, origin: impl Into<String>) -> ClientRequest {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header. A `Host` header given here replaces the one derived from the URL.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether the connection should use TLS (`wss://`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The host to connect to (and the TLS server name), without brackets around IPv6 literals.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The subprotocols offered, in order of preference.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extra headers.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The extra headers, to change or remove (the opening request's own headers, such as
    /// `Sec-WebSocket-Key`, are not among them: the connection writes those).
    pub fn headers_mut(&mut self) -> &mut Vec<(String, String)> {
        &mut self.headers
    }

    /// The `Host` header value: the host, with the port unless it is the scheme's default.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let default_port = if self.secure { 443 } else { 80 };
        if self.port == default_port { host } else { format!("{host}:{}", self.port) }
    }

    fn check(&self) -> Result<(), LocalError> {
        let bad = |s: &str| LocalError::InvalidHeader(s.to_string());
        for (name, value) in &self.headers {
            if !is_token(name.as_bytes()) || !is_safe_value(value.as_bytes()) {
                return Err(bad(name));
            }
        }
        for p in &self.subprotocols {
            if !is_token(p.as_bytes()) {
                return Err(bad(p));
            }
        }
        if let Some(o) = &self.origin {
            if !is_safe_value(o.as_bytes()) {
                return Err(bad(o));
            }
        }
        if !self.target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(&self.target));
        }
        if !is_safe_value(self.host.as_bytes()) || self.host.contains(' ') {
            return Err(bad(&self.host));
        }
        Ok(())
    }
}

/// The bytes of the opening request.
pub(crate) fn write_request(req: &ClientRequest, key: &str, extensions: Option<&str>) -> Result<Vec<u8>, LocalError> {
    req.check()?;
    let mut out = String::with_capacity(256);
    out.push_str("GET ");
    out.push_str(&req.target);
    out.push_str(" HTTP/1.1\r\n");
    let custom_host = req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"));
    if !custom_host {
        out.push_str("Host: ");
        out.push_str(&req.authority());
        out.push_str("\r\n");
    }
    out.push_str("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    out.push_str(key);
    out.push_str("\r\nSec-WebSocket-Version: 13\r\n");
    if !req.subprotocols.is_empty() {
        out.push_str("Sec-WebSocket-Protocol: ");
        out.push_str(&req.subprotocols.join(", "));
        out.push_str("\r\n");
    }
    if let Some(ext) = extensions {
        out.push_str("Sec-WebSocket-Extensions: ");
        out.push_str(ext);
        out.push_str("\r\n");
    }
    if let Some(origin) = &req.origin {
        out.push_str("Origin: ");
        out.push_str(origin);
        out.push_str("\r\n");
    }
    for (name, value) in &req.headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out.into_bytes())
}

/// The server's answer to a successful opening handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Headers,
    subprotocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
}

impl Response {
    /// The HTTP status: 101.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every response header.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol that the server chose, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions that the server accepted, with their parameters.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }
}

/// The parsed head of a response, before it is judged.
pub(crate) enum ParsedResponse {
    /// A 101 that passed every check in RFC 6455 §4.1.
    Upgrade(Response),
    /// Any other status; the body follows the head.
    Other { status: u16, headers: Headers, body_len: Option<usize> },
}

/// Parses and checks a complete response head against the request that was sent.
pub(crate) fn parse_response(head: &[u8], key: &str, req: &ClientRequest, max_headers: usize) -> Result<ParsedResponse, HandshakeError> {
    let mut storage = alloc::vec![httparse::EMPTY_HEADER; max_headers];
    let mut resp = httparse::Response::new(&mut storage);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HandshakeError::BadResponse("incomplete response head")),
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::BadResponse("too many headers")),
        Err(_) => return Err(HandshakeError::BadResponse("malformed HTTP response")),
    }
    let status = resp.code.unwrap_or(0);
    let headers = Headers::from_httparse(resp.headers);
    if status != 101 {
        let body_len = headers.get_str("content-length").and_then(|v| v.trim().parse().ok());
        return Ok(ParsedResponse::Other { status, headers, body_len });
    }
    if resp.version != Some(1) {
        return Err(HandshakeError::BadResponse("not HTTP/1.1"));
    }
    if !headers.has_token("upgrade", "websocket") {
        return Err(HandshakeError::BadResponse("missing Upgrade: websocket"));
    }
    if !headers.has_token("connection", "upgrade") {
        return Err(HandshakeError::BadResponse("missing Connection: upgrade"));
    }
    let expected = super::accept_key(key.as_bytes());
    let accept_ok = {
        let mut accepts = headers.get_all("sec-websocket-accept");
        match (accepts.next(), accepts.next()) {
            (Some(v), None) => Some(super::headers::trim(v) == expected.as_bytes()),
            (None, _) => None,
            _ => Some(false),
        }
    };
    match accept_ok {
        Some(true) => {}
        None => return Err(HandshakeError::BadResponse("missing Sec-WebSocket-Accept")),
        Some(false) => return Err(HandshakeError::BadResponse("wrong Sec-WebSocket-Accept")),
    }
    let chosen: Vec<&[u8]> = headers.get_all("sec-websocket-protocol").flat_map(split_list).collect();
    let subprotocol = match (chosen.first(), chosen.get(1)) {
        (None, _) => None,
        (Some(p), None) => {
            let p = String::from_utf8_lossy(p).into_owned();
            if !req.subprotocols.contains(&p) {
                return Err(HandshakeError::UnexpectedSubprotocol(p));
            }
            Some(p)
        }
        (Some(_), Some(_)) => return Err(HandshakeError::BadResponse("more than one subprotocol chosen")),
    };
    let extensions = parse_extensions(headers.get_all("sec-websocket-extensions"))
        .map_err(|_| HandshakeError::BadResponse("malformed Sec-WebSocket-Extensions"))?;
    drop(chosen);
    Ok(ParsedResponse::Upgrade(Response { status, headers, subprotocol, extensions }))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn request_bytes_are_exact() {
        let req = ClientRequest::new("example.com", 8080, "/chat?room=1", false)
            .subprotocol("chat")
            .subprotocol("superchat")
            .origin("http://example.com")
            .header("X-Trace", "1");
        let bytes = write_request(&req, "dGhlIHNhbXBsZSBub25jZQ==", Some("permessage-deflate")).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "GET /chat?room=1 HTTP/1.1\r\n\
             Host: example.com:8080\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\
             Origin: http://example.com\r\n\
             X-Trace: 1\r\n\r\n"
        );
    }

    #[test]
    fn headers_can_be_changed_after_the_request_is_built() {
        let mut req = ClientRequest::new("h", 80, "/", false).header("Authorization", "Bearer old").header("X-Trace", "1");
        req.headers_mut()[0].1 = "Bearer new".into();
        req.headers_mut().retain(|(name, _)| name != "X-Trace");
        let bytes = String::from_utf8(write_request(&req, "k", None).unwrap()).unwrap();
        assert!(bytes.contains("\r\nAuthorization: Bearer new\r\n") && !bytes.contains("X-Trace"), "{bytes}");
    }

    #[test]
    fn header_injection_is_refused() {
        let req = ClientRequest::new("h", 80, "/", false).header("X", "a\r\nEvil: 1");
        assert_eq!(write_request(&req, "k", None), Err(LocalError::InvalidHeader("X".into())));
        let req = ClientRequest::new("h", 80, "/", false).subprotocol("a b");
        assert!(write_request(&req, "k", None).is_err());
    }

    fn judge(head: &str, req: &ClientRequest) -> Result<ParsedResponse, HandshakeError> {
        parse_response(head.as_bytes(), "dGhlIHNhbXBsZSBub25jZQ==", req, 16)
    }

    const OK: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

    #[test]
    fn a_valid_101_is_accepted_with_case_insensitive_tokens() {
        let req = ClientRequest::new("h", 80, "/", false).subprotocol("chat");
        let head = format!("{OK}Sec-WebSocket-Protocol: chat\r\n\r\n");
        let Ok(ParsedResponse::Upgrade(r)) = judge(&head, &req) else { panic!() };
        assert_eq!((r.status(), r.subprotocol()), (101, Some("chat")));
    }

    #[test]
    fn invalid_101_responses_are_refused() {
        let req = ClientRequest::new("h", 80, "/", false).subprotocol("chat");
        let cases = [
            (OK.replace("s3pP", "xxxx") + "\r\n", HandshakeError::BadResponse("wrong Sec-WebSocket-Accept")),
            (OK.replace("Upgrade: WebSocket\r\n", "") + "\r\n", HandshakeError::BadResponse("missing Upgrade: websocket")),
            (OK.replace("keep-alive, UPGRADE", "close") + "\r\n", HandshakeError::BadResponse("missing Connection: upgrade")),
            (format!("{OK}Sec-WebSocket-Protocol: other\r\n\r\n"), HandshakeError::UnexpectedSubprotocol("other".into())),
            (format!("{OK}Sec-WebSocket-Protocol: chat, chat\r\n\r\n"), HandshakeError::BadResponse("more than one subprotocol chosen")),
            (
                format!("{OK}Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
                HandshakeError::BadResponse("wrong Sec-WebSocket-Accept"),
            ),
            (OK.replace("HTTP/1.1", "HTTP/1.0") + "\r\n", HandshakeError::BadResponse("not HTTP/1.1")),
            ("garbage\r\n\r\n".to_string(), HandshakeError::BadResponse("malformed HTTP response")),
        ];
        for (head, want) in cases {
            assert_eq!(judge(&head, &req).err(), Some(want), "{head}");
        }
    }

    #[test]
    fn other_statuses_are_returned_with_their_headers() {
        let req = ClientRequest::new("h", 80, "/", false);
        let r = judge("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\n", &req);
        let Ok(ParsedResponse::Other { status, headers, body_len }) = r else { panic!() };
        assert_eq!((status, body_len, headers.get_str("content-length")), (403, Some(5), Some("5")));
    }
}
