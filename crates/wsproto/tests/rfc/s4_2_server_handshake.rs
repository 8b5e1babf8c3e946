//! RFC 6455 §4.2: the server's opening handshake.

use crate::common::*;
use wsproto::handshake::{Accept, Reject};
use wsproto::{Config, Connection, ConnectionError, Event, HandshakeError, Instant, LocalError};

fn server() -> Connection {
    Connection::server(Config::default(), Instant::ZERO)
}

/// The status line the server answers a bad request with, and the error it reports.
fn refusal(config: Config, bytes: &[u8]) -> (String, HandshakeError) {
    let mut s = Connection::server(config, Instant::ZERO);
    s.receive(bytes);
    let evs = events(&mut s);
    let Some(ConnectionError::Handshake(err)) = closed(&evs).error.clone() else { panic!("{evs:?}") };
    let out = String::from_utf8(drain(&mut s)).unwrap();
    assert!(s.is_closed());
    (out, err)
}

#[test]
fn rfc_example_is_accepted_with_the_exact_response() {
    let mut s = server();
    s.receive(request("Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n").as_bytes());
    let Some(Event::Request(req)) = s.poll_event() else { panic!() };
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.host(), Some("server.example.com"));
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.subprotocols(), ["chat", "superchat"]);
    assert_eq!(s.poll_event(), None, "waits for accept or reject");
    s.accept(Accept::new().subprotocol("chat").header("X-Server", "wsproto")).unwrap();
    assert_eq!(
        String::from_utf8(drain(&mut s)).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\nX-Server: wsproto\r\n\r\n"
    );
    assert!(s.is_open());
    assert_eq!(s.subprotocol(), Some("chat"));
    assert_eq!(s.accept(Accept::new()), Err(LocalError::NoRequestPending));
    assert_eq!(s.reject(Reject::new(403)), Err(LocalError::NoRequestPending), "nor can it be refused once accepted");
}

#[test]
fn nothing_is_read_after_the_end() {
    let mut s = server();
    assert_eq!(s.reject(Reject::new(403)), Err(LocalError::NoRequestPending), "no request has come yet");
    assert!(s.read_hint() > 0, "a connecting server wants its request");
    s.receive_eof();
    events(&mut s);
    assert!(s.is_closed());
    assert_eq!(s.read_hint(), 0, "a closed connection wants nothing more");
}

#[test]
fn frames_that_arrive_with_the_request_are_not_lost() {
    let mut s = server();
    let mut bytes = request("").into_bytes();
    bytes.extend_from_slice(&client_frame(0x81, b"early"));
    s.receive(&bytes);
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    s.accept(Accept::new()).unwrap();
    assert_eq!(s.poll_event(), Some(Event::Text("early".into())));
}

#[test]
fn a_request_fed_one_byte_at_a_time_gives_the_same_result() {
    let bytes = request("Sec-WebSocket-Protocol: chat\r\n");
    let mut whole = server();
    whole.receive(bytes.as_bytes());
    let expected = events(&mut whole);
    let mut s = server();
    let mut got = Vec::new();
    for b in bytes.as_bytes() {
        s.receive(std::slice::from_ref(b));
        got.extend(events(&mut s));
    }
    assert_eq!(got, expected);
    assert_eq!(got.len(), 1);
}

#[test]
fn a_subprotocol_that_was_not_offered_cannot_be_chosen() {
    let mut s = server();
    s.receive(request("Sec-WebSocket-Protocol: chat\r\n").as_bytes());
    s.poll_event();
    assert_eq!(s.accept(Accept::new().subprotocol("other")), Err(LocalError::SubprotocolNotOffered("other".into())));
    // The state did not change: a correct answer still works.
    s.accept(Accept::new().subprotocol("chat")).unwrap();
}

#[test]
fn the_application_can_reject_with_its_own_response() {
    let mut s = server();
    s.receive(request("").as_bytes());
    s.poll_event();
    s.reject(Reject::new(401).header("WWW-Authenticate", "Bearer").body("log in\n")).unwrap();
    assert_eq!(
        String::from_utf8(drain(&mut s)).unwrap(),
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 7\r\nConnection: close\r\n\r\nlog in\n"
    );
    let evs = events(&mut s);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::RejectedByApplication(401))));
}

#[test]
fn bad_requests_get_400() {
    let good = request("");
    for bad in [
        good.replace("GET", "POST"),
        good.replace("HTTP/1.1", "HTTP/1.0"),
        good.replace("Host: server.example.com\r\n", ""),
        good.replace("Upgrade: websocket\r\n", ""),
        good.replace("Connection: Upgrade", "Connection: close"),
        good.replace(KEY, "short"),
        good.replace(&format!("Sec-WebSocket-Key: {KEY}\r\n"), ""),
        good.replace("\r\n\r\n", "\r\nContent-Length: 10\r\n\r\n"),
        "NOT HTTP AT ALL\r\n\r\n".to_string(),
    ] {
        let (out, err) = refusal(Config::default(), bad.as_bytes());
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad:?} -> {out:?}");
        assert!(out.contains("\r\nConnection: close\r\n"));
        assert_eq!(err.status(), Some(400));
    }
}

/// A TLS ClientHello sent to a plain port (`wss://` to a `ws://` server) is refused at its first
/// byte, so the client hears back at once rather than at the handshake timeout.
#[test]
fn bytes_that_cannot_start_a_request_get_400_at_once() {
    let (out, err) = refusal(Config::default(), &[0x16, 0x03, 0x01, 0x02, 0x00]);
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    assert_eq!(err, HandshakeError::BadRequest { status: 400, reason: "not an HTTP request" });
}

#[test]
fn a_wrong_version_gets_426_naming_13() {
    let (out, err) = refusal(Config::default(), request("").replace("Version: 13", "Version: 8").as_bytes());
    assert!(out.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{out}");
    assert!(out.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{out}");
    assert_eq!(err.status(), Some(426));
}

#[test]
fn a_refused_origin_gets_403() {
    let config = Config::default().allow_origin("https://chat.example.com");
    let (out, err) = refusal(config.clone(), request("Origin: https://evil.example\r\n").as_bytes());
    assert!(out.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{out}");
    assert_eq!(err, HandshakeError::OriginNotAllowed("https://evil.example".into()));
    let mut s = Connection::server(config, Instant::ZERO);
    s.receive(request("Origin: https://chat.example.com\r\n").as_bytes());
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
}

#[test]
fn too_many_headers_get_431() {
    let mut extra = String::new();
    for i in 0..3000 {
        extra.push_str(&format!("X-{i}: v\r\n"));
    }
    let (out, err) = refusal(Config::default(), request(&extra).as_bytes());
    assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{out}");
    assert_eq!(err.status(), Some(431));
}

#[test]
fn a_huge_header_line_fed_in_small_pieces_gets_431_in_linear_time() {
    // 1 MB of header line, 10 bytes at a time. A parser that re-parsed the whole head on every
    // piece would do about 5e10 byte steps here; this one stops at the 8 KiB line limit.
    let mut s = server();
    s.receive(b"GET / HTTP/1.1\r\nX-Long: ");
    let piece = [b'a'; 10];
    let mut fed = 0;
    while fed < 1_000_000 && !s.is_closed() {
        s.receive(&piece);
        fed += piece.len();
        while s.poll_event().is_some() {}
    }
    assert!(s.is_closed());
    assert!(fed < 9 << 10, "stopped after {fed} bytes, at the 8 KiB line limit");
    assert!(String::from_utf8(drain(&mut s)).unwrap().starts_with("HTTP/1.1 431 "));
}

#[test]
fn the_total_head_size_is_capped() {
    let mut extra = String::new();
    for i in 0..100 {
        extra.push_str(&format!("X-{i}: {}\r\n", "v".repeat(200)));
    }
    let (out, _) = refusal(Config::default(), request(&extra).as_bytes());
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    // A smaller configured cap applies.
    let (out, _) = refusal(Config::default().max_handshake_size(100), request("").as_bytes());
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
}

#[test]
fn the_handshake_times_out_and_eof_is_reported() {
    let mut s = server();
    s.receive(b"GET / HTTP/1.1\r\n");
    s.handle_timeout(Instant::from_secs(10));
    let evs = events(&mut s);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::Timeout)));
    let mut s = server();
    s.receive(b"GET / HTTP/1.1\r\n");
    s.receive_eof();
    let evs = events(&mut s);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Handshake(HandshakeError::UnexpectedEof)));
    assert_eq!(drain(&mut s), b"", "nothing to say to a client that left");
}
