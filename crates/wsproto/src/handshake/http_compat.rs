//! Conversions to and from the `http` crate's types (feature `http`).
//!
//! These let the adapters take the request types that tungstenite users pass to `connect`, and
//! let a hyper or axum server validate an upgrade and build its 101 response.

use super::{ClientRequest, Headers, Request, Response, UrlError, accept_key};
use crate::error::HandshakeError;
use alloc::string::String;

impl From<&http::HeaderMap> for Headers {
    fn from(map: &http::HeaderMap) -> Headers {
        let mut h = Headers::new();
        for (name, value) in map {
            h.append(name.as_str(), value.as_bytes());
        }
        h
    }
}

impl From<&Headers> for http::HeaderMap {
    /// Fields whose name or value `http` refuses are left out.
    fn from(headers: &Headers) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(headers.len());
        for (name, value) in headers.iter() {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(value)) {
                map.append(n, v);
            }
        }
        map
    }
}

/// The headers that the handshake writes itself; copies from a user's request are dropped.
fn is_handshake_header(name: &http::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "upgrade"
            | "connection"
            | "sec-websocket-key"
            | "sec-websocket-version"
            | "sec-websocket-extensions"
            | "sec-websocket-protocol"
            | "origin"
    )
}

impl ClientRequest {
    /// Parses a `ws://` or `wss://` URL (`http://` and `https://` are accepted as synonyms) with
    /// the `http` crate's URI parser.
    ///
    /// IPv6 hosts go in brackets (`ws://[::1]:9001/`). Credentials (`user:pass@`) are refused:
    /// send an `Authorization` header instead. A fragment is refused (RFC 6455 §3).
    pub fn from_url(url: &str) -> Result<ClientRequest, UrlError> {
        if url.contains('#') {
            return Err(UrlError::new("WebSocket URLs cannot have a fragment (#)"));
        }
        let uri: http::Uri = url.parse().map_err(|e| UrlError::new(alloc::format!("{url:?}: {e}")))?;
        ClientRequest::from_uri(&uri)
    }

    /// The request as an HTTP/2 extended CONNECT (RFC 8441 §4): method `CONNECT`, version 2,
    /// the URL as `https://` (or `http://`) authority and path, `Sec-WebSocket-Version: 13`, the
    /// subprotocols, the `Origin` and every other header. The `:protocol` pseudo-header is the
    /// HTTP/2 stack's to add (hyper: the `hyper::ext::Protocol` extension), as are the extensions
    /// offered.
    ///
    /// ```
    /// use wsproto::ClientRequest;
    ///
    /// let req = ClientRequest::from_url("wss://example.com/feed")?.origin("https://example.com").subprotocol("v1");
    /// let h2 = req.to_http2();
    /// assert_eq!((h2.method().as_str(), h2.uri().to_string().as_str()), ("CONNECT", "https://example.com/feed"));
    /// assert_eq!(h2.headers()["origin"], "https://example.com");
    /// assert_eq!(h2.headers()["sec-websocket-protocol"], "v1");
    /// # Ok::<(), wsproto::handshake::UrlError>(())
    /// ```
    pub fn to_http2(&self) -> http::Request<()> {
        let scheme = if self.is_secure() { "https" } else { "http" };
        let mut req = http::Request::new(());
        *req.method_mut() = http::Method::CONNECT;
        *req.version_mut() = http::Version::HTTP_2;
        *req.uri_mut() = alloc::format!("{scheme}://{}{}", self.authority(), self.target()).parse().unwrap_or_default();
        let h = req.headers_mut();
        h.insert(http::header::SEC_WEBSOCKET_VERSION, http::HeaderValue::from_static("13"));
        if !self.subprotocols().is_empty() {
            if let Ok(v) = http::HeaderValue::from_str(&self.subprotocols().join(", ")) {
                h.insert(http::header::SEC_WEBSOCKET_PROTOCOL, v);
            }
        }
        if let Some(v) = self.origin.as_deref().and_then(|o| http::HeaderValue::from_str(o).ok()) {
            h.insert(http::header::ORIGIN, v);
        }
        for (name, value) in self.headers() {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(value)) {
                h.append(n, v);
            }
        }
        req
    }

    /// A request for an `http::Uri` with a `ws`, `wss`, `http` or `https` scheme.
    pub fn from_uri(uri: &http::Uri) -> Result<ClientRequest, UrlError> {
        let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ws" | "http") => false,
            Some("wss" | "https") => true,
            Some(_) => return Err(UrlError::new("the scheme must be ws or wss")),
            None => return Err(UrlError::new("missing scheme (ws:// or wss://)")),
        };
        let authority = uri.authority().ok_or_else(|| UrlError::new("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(UrlError::new("credentials in the URL are not supported; send an Authorization header"));
        }
        // `http` keeps the brackets of an IPv6 literal; the host to connect to has none.
        let bracketed = authority.host();
        let host = bracketed.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(bracketed);
        if host.is_empty() {
            return Err(UrlError::new("missing host"));
        }
        // `http` reads a port it cannot parse (`:99999`) as no port at all; that is an error here.
        let port = match authority.as_str()[bracketed.len()..].strip_prefix(':') {
            None | Some("") => {
                if secure {
                    443
                } else {
                    80
                }
            }
            Some(p) => p.parse().map_err(|_| UrlError::new(alloc::format!("invalid port {p:?}")))?,
        };
        let target = match uri.path_and_query().map(|p| p.as_str()) {
            None | Some("") => String::from("/"),
            Some(q) if q.starts_with('?') => alloc::format!("/{q}"),
            Some(p) => String::from(p),
        };
        Ok(ClientRequest::new(host, port, target, secure))
    }

    /// A request from an `http::Request`: its URI gives the target, `Sec-WebSocket-Protocol` the
    /// subprotocols, `Origin` the origin, and every other header is sent as it is. The handshake's
    /// own headers (`Sec-WebSocket-Key` and the like) are always generated afresh.
    pub fn from_http<B>(req: &http::Request<B>) -> Result<ClientRequest, UrlError> {
        let mut out = ClientRequest::from_uri(req.uri())?;
        for value in req.headers().get_all(http::header::SEC_WEBSOCKET_PROTOCOL) {
            for p in super::headers::split_list(value.as_bytes()) {
                out = out.subprotocol(String::from_utf8_lossy(p));
            }
        }
        if let Some(origin) = req.headers().get(http::header::ORIGIN).and_then(|o| o.to_str().ok()) {
            out = out.origin(origin);
        }
        for (name, value) in req.headers() {
            if !is_handshake_header(name) {
                out = out.header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
            }
        }
        Ok(out)
    }
}

impl Request {
    /// Validates an upgrade request that another HTTP stack parsed (RFC 6455 §4.2.1).
    pub fn from_http<B>(req: &http::Request<B>) -> Result<Request, HandshakeError> {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        Request::from_parts(req.method().as_str(), target, req.version() == http::Version::HTTP_11, Headers::from(req.headers()))
    }

    /// Validates a WebSocket request over HTTP/2 (RFC 8441): an extended `CONNECT` whose
    /// `:protocol` pseudo-header is `protocol` (hyper gives it as the `hyper::ext::Protocol`
    /// request extension). See [`Request::from_extended_connect`] for the checks.
    pub fn from_http2<B>(req: &http::Request<B>, protocol: Option<&str>) -> Result<Request, HandshakeError> {
        if req.method() != http::Method::CONNECT {
            return Err(HandshakeError::BadRequest { status: 400, reason: "a WebSocket over HTTP/2 is opened with CONNECT" });
        }
        let Some(protocol) = protocol else {
            return Err(HandshakeError::BadRequest { status: 400, reason: "a CONNECT without :protocol is not a WebSocket" });
        };
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let mut headers = Headers::from(req.headers());
        if headers.get("host").is_none() {
            if let Some(authority) = req.uri().authority() {
                headers.append("host", authority.as_str());
            }
        }
        Request::from_extended_connect(target, protocol, headers)
    }

    /// The request as an `http::Request` (without a body).
    pub fn to_http(&self) -> http::Request<()> {
        let mut req = http::Request::new(());
        *req.method_mut() = if self.is_extended_connect() { http::Method::CONNECT } else { http::Method::GET };
        *req.uri_mut() = self.target().parse().unwrap_or_default();
        *req.headers_mut() = http::HeaderMap::from(self.headers());
        req
    }

    /// The response that accepts this request, for a server whose HTTP stack writes it: `101`
    /// with `Sec-WebSocket-Accept` over HTTP/1.1, `200` over HTTP/2 (RFC 8441 §5, where
    /// `Upgrade` and `Connection` do not exist).
    ///
    /// `extensions` is the value from [`negotiate_server`](crate::deflate::negotiate_server), if
    /// any.
    pub fn upgrade_response(&self, subprotocol: Option<&str>, extensions: Option<&str>) -> http::Response<()> {
        let mut resp = http::Response::new(());
        if !self.is_extended_connect() {
            *resp.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        }
        let h = resp.headers_mut();
        if !self.is_extended_connect() {
            h.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
            h.insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
            if let Ok(v) = http::HeaderValue::from_str(&accept_key(self.key().as_bytes())) {
                h.insert(http::header::SEC_WEBSOCKET_ACCEPT, v);
            }
        }
        if let Some(v) = subprotocol.and_then(|p| http::HeaderValue::from_str(p).ok()) {
            h.insert(http::header::SEC_WEBSOCKET_PROTOCOL, v);
        }
        if let Some(v) = extensions.and_then(|e| http::HeaderValue::from_str(e).ok()) {
            h.insert(http::header::SEC_WEBSOCKET_EXTENSIONS, v);
        }
        resp
    }
}

impl Response {
    /// The response as an `http::Response` (without a body).
    pub fn to_http(&self) -> http::Response<()> {
        let mut resp = http::Response::new(());
        *resp.status_mut() = http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::SWITCHING_PROTOCOLS);
        *resp.headers_mut() = http::HeaderMap::from(self.headers());
        resp
    }
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    use super::*;

    #[test]
    fn client_requests_come_from_http_requests() {
        let req = http::Request::builder()
            .uri("wss://example.com:8443/feed?x=1")
            .header("Sec-WebSocket-Protocol", "a, b")
            .header("Origin", "https://example.com")
            .header("Authorization", "Bearer t")
            .header("Sec-WebSocket-Key", "ignored")
            .body(())
            .unwrap();
        let c = ClientRequest::from_http(&req).unwrap();
        assert_eq!((c.host(), c.port(), c.target(), c.is_secure()), ("example.com", 8443, "/feed?x=1", true));
        assert_eq!(c.subprotocols(), ["a", "b"]);
        assert_eq!(c.headers(), [("authorization".to_string(), "Bearer t".to_string())]);
    }

    #[test]
    fn servers_validate_http_requests_and_build_the_101() {
        let req = http::Request::builder()
            .uri("/chat")
            .header("Host", "h")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
            .body(())
            .unwrap();
        let r = Request::from_http(&req).unwrap();
        let resp = r.upgrade_response(None, Some("permessage-deflate"));
        assert_eq!(resp.status(), 101);
        assert_eq!(resp.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(resp.headers()["sec-websocket-extensions"], "permessage-deflate");
        assert_eq!(r.to_http().uri(), "/chat");
        let bad = http::Request::builder().method("POST").uri("/").body(()).unwrap();
        assert_eq!(Request::from_http(&bad).unwrap_err().status(), Some(400));
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn urls_parse_into_host_port_and_target() {
        let r = ClientRequest::from_url("ws://127.0.0.1:9001/echo").unwrap();
        assert_eq!((r.host(), r.port(), r.target(), r.is_secure()), ("127.0.0.1", 9001, "/echo", false));
        assert_eq!(r.authority(), "127.0.0.1:9001");
        let r = ClientRequest::from_url("WSS://Example.com").unwrap();
        assert_eq!((r.host(), r.port(), r.target(), r.is_secure()), ("Example.com", 443, "/", true));
        let r = ClientRequest::from_url("ws://[::1]:9001/").unwrap();
        assert_eq!((r.host(), r.port(), r.target()), ("::1", 9001, "/"));
        assert_eq!(r.authority(), "[::1]:9001");
        let r = ClientRequest::from_url("ws://[::1]:8080?x=1").unwrap();
        assert_eq!((r.host(), r.port(), r.target()), ("::1", 8080, "/?x=1"));
        let r = ClientRequest::from_url("ws://[::1]").unwrap();
        assert_eq!((r.port(), r.authority()), (80, "[::1]".to_string()));
        let r = ClientRequest::from_url("https://h:8443/a/b?c=d%20e").unwrap();
        assert_eq!((r.port(), r.target(), r.is_secure()), (8443, "/a/b?c=d%20e", true));
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        let why = |url: &str| ClientRequest::from_url(url).unwrap_err().to_string();
        assert!(why("ws://a:b:80/").contains("authority"), "{}", why("ws://a:b:80/"));
        assert!(why("ws://u:p@h/").contains("Authorization header"));
        assert!(why("ws://h:99999/").contains("invalid port"));
        assert!(why("ws://h/#frag").contains("fragment"));
        assert!(why("ftp://x").contains("scheme must be ws or wss"));
        assert!(why("example.com").contains("missing scheme"));
        for bad in ["ws://", "ws://h:port", "ws://[::1/", "ws://h/a b", "", "ws://h\\/", "ws://h\r\n/"] {
            assert!(ClientRequest::from_url(bad).is_err(), "{bad}");
        }
    }

    fn extended_connect(protocol: Option<&str>, version: &str) -> Result<Request, HandshakeError> {
        let req = http::Request::builder()
            .method("CONNECT")
            .version(http::Version::HTTP_2)
            .uri("https://example.com/chat?room=1")
            .header("sec-websocket-version", version)
            .header("sec-websocket-protocol", "chat, superchat")
            .header("sec-websocket-extensions", "permessage-deflate; client_max_window_bits")
            .header("origin", "https://example.com")
            .body(())
            .unwrap();
        Request::from_http2(&req, protocol)
    }

    #[test]
    fn http2_extended_connect_is_accepted_with_200_and_no_http1_headers() {
        let request = extended_connect(Some("websocket"), "13").unwrap();
        assert!(request.is_extended_connect());
        assert_eq!((request.method(), request.path(), request.query()), ("CONNECT", "/chat", Some("room=1")));
        assert_eq!(request.host(), Some("example.com"), "the :authority stands in for Host");
        assert_eq!(request.key(), "");
        let config = crate::Config::default().with_deflate().allow_origin("https://example.com");
        request.check_origin_for(&config).unwrap();
        let accept = crate::handshake::Accept::new().subprotocol("superchat");
        let (response, conn) = crate::Connection::accept_http(&request, accept, config, crate::Instant::ZERO).unwrap();
        assert_eq!(response.status(), 200);
        for absent in ["upgrade", "connection", "sec-websocket-accept"] {
            assert!(response.headers().get(absent).is_none(), "{absent} does not exist in HTTP/2");
        }
        assert_eq!(response.headers()["sec-websocket-protocol"], "superchat");
        assert_eq!(response.headers()["sec-websocket-extensions"], "permessage-deflate");
        assert_eq!(conn.subprotocol(), Some("superchat"));
        assert!(conn.extension().is_some());
        assert_eq!(request.to_http().method(), http::Method::CONNECT);
    }

    #[test]
    fn bad_http2_requests_get_the_rfc_statuses() {
        let status = |r: Result<Request, HandshakeError>| r.unwrap_err().status();
        assert_eq!(status(extended_connect(None, "13")), Some(400), "CONNECT without :protocol");
        assert_eq!(status(extended_connect(Some("chat"), "13")), Some(400), ":protocol other than websocket");
        assert_eq!(status(extended_connect(Some("websocket"), "8")), Some(426));
        let get = http::Request::get("https://example.com/").version(http::Version::HTTP_2).body(()).unwrap();
        assert_eq!(status(Request::from_http2(&get, Some("websocket"))), Some(400), "GET over HTTP/2");
        let request = extended_connect(Some("websocket"), "13").unwrap();
        let config = crate::Config::default().allow_origin("https://other.example");
        assert_eq!(request.check_origin_for(&config).unwrap_err().status(), Some(403));
        // A subprotocol the client did not offer is the server's mistake.
        let accept = crate::handshake::Accept::new().subprotocol("mqtt");
        assert!(crate::Connection::accept_http(&request, accept, crate::Config::default(), crate::Instant::ZERO).is_err());
    }
}
