//! RFC 6455 §4.1: the client's opening handshake.

use crate::common::*;
use core::time::Duration;
use wsproto::handshake::accept_key;
use wsproto::{
    ClientRequest, Config, Connection, ConnectionError, ConnectionState, Event, HandshakeError, Instant, LocalError, SeededRandom,
};

fn client(req: &ClientRequest) -> (Connection, String) {
    let mut c = Connection::client(req, Config::default(), Box::new(SeededRandom::new(1)), Instant::ZERO).unwrap();
    let request = String::from_utf8(drain(&mut c)).unwrap();
    let key = request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap().to_string();
    (c, key)
}

fn ok_response(key: &str) -> String {
    format!("{ACCEPT_101}{}\r\n\r\n", accept_key(key.as_bytes()))
}

#[test]
fn the_request_is_exact_and_the_key_is_16_random_bytes() {
    let req = ClientRequest::new("example.com", 9001, "/chat?x=1", false)
        .subprotocol("chat")
        .origin("http://example.com")
        .header("Cookie", "a=b");
    let mut c = Connection::client(&req, Config::default(), Box::new(SeededRandom::new(1)), Instant::ZERO).unwrap();
    let request = String::from_utf8(drain(&mut c)).unwrap();
    let key = request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap();
    assert_eq!(
        request,
        format!(
            "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\
             Origin: http://example.com\r\nCookie: a=b\r\n\r\n"
        )
    );
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(key).unwrap().len(), 16);
    // A different random source gives a different key.
    let mut other = Connection::client(&req, Config::default(), Box::new(SeededRandom::new(2)), Instant::ZERO).unwrap();
    assert!(!String::from_utf8(drain(&mut other)).unwrap().contains(key));
    assert_eq!(c.state(), ConnectionState::Connecting);
}

#[test]
fn a_valid_response_opens_the_connection_and_following_bytes_are_frames() {
    let req = ClientRequest::new("h", 80, "/", false).subprotocol("chat").subprotocol("v2");
    let (mut c, key) = client(&req);
    let mut bytes = format!("{ACCEPT_101}{}\r\nSec-WebSocket-Protocol: v2\r\n\r\n", accept_key(key.as_bytes())).into_bytes();
    bytes.extend_from_slice(&server_frame(0x81, b"Hello"));
    c.receive(&bytes);
    match c.poll_event() {
        Some(Event::Connected(r)) => assert_eq!(r.subprotocol(), Some("v2")),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.subprotocol(), Some("v2"));
    assert_eq!(c.poll_event(), Some(Event::Text("Hello".into())));
    assert!(c.is_open());
}

#[test]
fn the_response_split_at_every_byte_gives_the_same_events() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (_, key) = client(&req);
    let mut bytes = ok_response(&key).into_bytes();
    bytes.extend_from_slice(&server_frame(0x82, &[1, 2, 3]));
    for split in 0..bytes.len() {
        let (mut c, _) = client(&req);
        c.receive(&bytes[..split]);
        let mut evs = events(&mut c);
        c.receive(&bytes[split..]);
        evs.extend(events(&mut c));
        assert_eq!(evs.len(), 2, "split at {split}: {evs:?}");
        assert!(matches!(evs[0], Event::Connected(_)));
        assert_eq!(evs[1], Event::Binary(vec![1u8, 2, 3].into()));
    }
}

#[test]
fn bad_responses_fail_the_handshake() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (_, key) = client(&req);
    let good = ok_response(&key);
    let cases = [
        (
            good.replace(&accept_key(key.as_bytes()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            HandshakeError::BadResponse("wrong Sec-WebSocket-Accept"),
        ),
        (good.replace("Upgrade: websocket\r\n", ""), HandshakeError::BadResponse("missing Upgrade: websocket")),
        (good.replace("Connection: Upgrade", "Connection: keep-alive"), HandshakeError::BadResponse("missing Connection: upgrade")),
        (good.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n"), HandshakeError::UnexpectedSubprotocol("chat".into())),
        (
            good.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-custom\r\n\r\n"),
            HandshakeError::UnexpectedExtension("x-custom".into()),
        ),
    ];
    for (response, want) in cases {
        let (mut c, _) = client(&req);
        c.receive(response.as_bytes());
        let evs = events(&mut c);
        assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(want)), "{response}");
        assert!(c.is_closed());
        assert_eq!(c.send_text("x"), Err(LocalError::Closing));
    }
}

#[test]
fn a_refusal_carries_status_headers_and_body() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (mut c, _) = client(&req);
    c.receive(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nnot for");
    assert!(events(&mut c).is_empty(), "waits for the rest of the body");
    c.receive(b" you");
    let evs = events(&mut c);
    match &closed(&evs).error {
        Some(ConnectionError::Handshake(HandshakeError::Rejected { status, headers, body })) => {
            assert_eq!(*status, 403);
            assert_eq!(headers.get_str("content-type"), Some("text/plain"));
            assert_eq!(body, b"not for you");
        }
        other => panic!("{other:?}"),
    }
    // Without Content-Length, the body runs to end of file.
    let (mut c, _) = client(&req);
    c.receive(b"HTTP/1.1 500 Internal Server Error\r\n\r\noops");
    assert!(events(&mut c).is_empty());
    c.receive_eof();
    let evs = events(&mut c);
    assert!(
        matches!(&closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::Rejected { status: 500, body, .. })) if body == b"oops")
    );
}

#[test]
fn the_handshake_times_out() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (mut c, _) = client(&req);
    assert_eq!(c.poll_timeout(), Some(Instant::from_secs(10)));
    c.handle_timeout(Instant::from_secs(9));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(Instant::from_secs(10));
    let evs = events(&mut c);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::Timeout)));
    assert_eq!(c.poll_timeout(), None);
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(1500)));
    let c = Connection::client(&req, config, Box::new(SeededRandom::new(1)), Instant::from_secs(1)).unwrap();
    assert_eq!(c.poll_timeout(), Some(Instant::from_millis(2500)));
}

#[test]
fn end_of_file_during_the_handshake_is_reported() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (mut c, _) = client(&req);
    c.receive(b"HTTP/1.1 101 Switching");
    c.receive_eof();
    let evs = events(&mut c);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::UnexpectedEof)));
}

#[test]
fn an_oversized_response_head_is_refused() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (mut c, _) = client(&req);
    c.receive(b"HTTP/1.1 101 Switching Protocols\r\n");
    for _ in 0..2000 {
        c.receive(b"X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n");
        if c.poll_event().is_some() {
            break;
        }
    }
    assert!(c.is_closed());
}

#[test]
fn sending_before_the_handshake_completes_is_a_local_error() {
    let req = ClientRequest::new("h", 80, "/", false);
    let (mut c, _) = client(&req);
    assert_eq!(c.send_text("early"), Err(LocalError::NotOpen));
    assert_eq!(c.ping(b""), Err(LocalError::NotOpen));
    assert_eq!(c.close(wsproto::CloseCode::NORMAL, ""), Err(LocalError::NotOpen));
    assert_eq!(c.output_len(), 0);
}

/// RFC 8441 §4–5: the same request as an extended CONNECT over HTTP/2.
#[cfg(feature = "http")]
#[test]
fn over_http2_the_request_is_an_extended_connect_with_the_same_headers() {
    let plain = ClientRequest::from_url("ws://example.com:8080/feed?x=1").unwrap();
    let h2 = plain.to_http2();
    assert_eq!((h2.method(), h2.version()), (&http::Method::CONNECT, http::Version::HTTP_2));
    assert_eq!(h2.uri().to_string(), "http://example.com:8080/feed?x=1");
    assert_eq!(h2.headers()["sec-websocket-version"], "13");
    assert!(!h2.headers().contains_key("sec-websocket-protocol") && !h2.headers().contains_key("origin"));

    let full = ClientRequest::from_url("wss://example.com/feed")
        .unwrap()
        .subprotocol("v2")
        .subprotocol("v1")
        .origin("https://example.com")
        .header("x-trace", "a")
        .header("x-trace", "b");
    let h2 = full.to_http2();
    assert_eq!(h2.uri().to_string(), "https://example.com/feed");
    assert_eq!(h2.headers()["sec-websocket-protocol"], "v2, v1");
    assert_eq!(h2.headers()["origin"], "https://example.com");
    let traces: Vec<_> = h2.headers().get_all("x-trace").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(traces, ["a", "b"], "repeated headers keep every value, in order");
}

#[cfg(feature = "http")]
#[test]
fn a_uri_becomes_a_request_or_says_what_is_wrong_with_it() {
    let ok = |s: &str| ClientRequest::from_uri(&s.parse::<http::Uri>().unwrap());
    let r = ok("wss://example.com").unwrap();
    assert_eq!((r.host(), r.port(), r.target(), r.is_secure()), ("example.com", 443, "/", true));
    let r = ok("http://[::1]:9001/a?b").unwrap();
    assert_eq!((r.host(), r.port(), r.target(), r.is_secure()), ("::1", 9001, "/a?b", false));
    let r = ok("ws://h").unwrap();
    assert_eq!(r.port(), 80);
    for (uri, why) in [
        ("ftp://example.com/", "the scheme must be ws or wss"),
        ("/relative", "missing scheme (ws:// or wss://)"),
        ("ws://user:pw@example.com/", "credentials in the URL are not supported; send an Authorization header"),
    ] {
        assert_eq!(ok(uri).unwrap_err().to_string(), format!("invalid WebSocket URL: {why}"), "{uri}");
    }
}

#[test]
fn nothing_can_smuggle_a_line_into_the_request() {
    let base = || ClientRequest::new("example.com", 80, "/", false);
    for (req, culprit) in [
        (base().header("Bad Header", "v"), "Bad Header"),
        (base().header("X-Ok", "a\r\nInjected: 1"), "X-Ok"),
        (base().subprotocol("two words"), "two words"),
        (base().origin("https://a.example\r\nX: y"), "https://a.example\r\nX: y"),
        (ClientRequest::new("example.com", 80, "/a b", false), "/a b"),
        (ClientRequest::new("exa mple.com", 80, "/", false), "exa mple.com"),
    ] {
        let refused = Connection::client(&req, Config::default(), Box::new(SeededRandom::new(1)), Instant::ZERO).unwrap_err();
        assert_eq!(refused, LocalError::InvalidHeader(culprit.into()));
    }
    // A target without its leading slash gets one; an IPv6 host is bracketed in Host.
    let mut c = Connection::client(
        &ClientRequest::new("::1", 9001, "chat", false),
        Config::default(),
        Box::new(SeededRandom::new(1)),
        Instant::ZERO,
    )
    .unwrap();
    let request = String::from_utf8(drain(&mut c)).unwrap();
    assert!(request.starts_with("GET /chat HTTP/1.1\r\n") && request.contains("\r\nHost: [::1]:9001\r\n"), "{request}");
}

#[test]
fn a_101_that_is_not_http_1_1_is_refused() {
    let (mut c, key) = client(&ClientRequest::new("example.com", 80, "/", false));
    let head = format!(
        "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key.as_bytes())
    );
    c.receive(head.as_bytes());
    let evs = events(&mut c);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::BadResponse("not HTTP/1.1"))));
}

#[test]
fn a_server_that_hangs_up_inside_its_response_head_ends_the_handshake() {
    let (mut c, _) = client(&ClientRequest::new("example.com", 80, "/", false));
    c.receive(b"HTTP/1.1 101 Switching Protocols\r\nUpgr");
    assert_eq!(c.poll_event(), None, "waits for the rest of the head");
    c.receive_eof();
    let evs = events(&mut c);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::UnexpectedEof)));
}
