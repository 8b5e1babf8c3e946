//! Helpers shared by the RFC tests: raw frames, opened connections, draining.

#![allow(dead_code)]

use wsproto::handshake::Accept;
use wsproto::{ClientRequest, Closed, Config, Connection, Event, Instant, SeededRandom};

pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The bytes of one frame. `mask` masks the payload as a client would.
pub fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xFFFF {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A frame from a client (masked with [`MASK`]).
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some(MASK))
}

/// A frame from a server (unmasked).
pub fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, None)
}

/// A close frame's payload.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

pub fn request(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

pub fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.drain_output_into(&mut out);
    out
}

pub fn events(conn: &mut Connection) -> Vec<Event> {
    let mut all = Vec::new();
    while let Some(ev) = conn.poll_event() {
        all.push(ev);
    }
    all
}

/// A server that has accepted a handshake with `config`; its output is drained.
pub fn open_server(config: Config) -> Connection {
    open_server_with(config, "")
}

pub fn open_server_with(config: Config, extra_headers: &str) -> Connection {
    let mut s = Connection::server(config, Instant::ZERO);
    s.receive(request(extra_headers).as_bytes());
    match s.poll_event() {
        Some(Event::Request(_)) => {}
        other => panic!("expected a request, got {other:?}"),
    }
    s.accept(Accept::new()).unwrap();
    drain(&mut s);
    s
}

pub const ACCEPT_101: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";

/// A client whose handshake is done (against a hand-written 101); its output is drained.
pub fn open_client(config: Config) -> Connection {
    let req = ClientRequest::new("server.example.com", 80, "/chat", false);
    let mut c = Connection::client(&req, config, Box::new(SeededRandom::new(42)), Instant::ZERO).unwrap();
    let request = String::from_utf8(drain(&mut c)).unwrap();
    let key = request.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap().to_string();
    let response = format!("{ACCEPT_101}{}\r\n\r\n", wsproto::handshake::accept_key(key.as_bytes()));
    c.receive(response.as_bytes());
    match c.poll_event() {
        Some(Event::Connected(_)) => {}
        other => panic!("expected Connected, got {other:?}"),
    }
    c
}

/// The single `Closed` event among `evs`.
pub fn closed(evs: &[Event]) -> &Closed {
    let all: Vec<&Closed> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Closed(c) => Some(&**c),
            _ => None,
        })
        .collect();
    assert_eq!(all.len(), 1, "exactly one Closed event in {evs:?}");
    all[0]
}

/// Feeds `bytes` to a server and returns the events and output; asserts the server failed with
/// `code` and sent exactly that close frame first.
pub fn server_fails_with(config: Config, bytes: &[u8], code: u16) -> Vec<Event> {
    let mut s = open_server(config);
    s.receive(bytes);
    let evs = events(&mut s);
    let c = closed(&evs);
    let err = c.error.as_ref().unwrap_or_else(|| panic!("no error in {c:?}"));
    let sent = c.sent.as_ref().expect("a close frame was sent");
    assert_eq!(sent.code.0, code, "{err}");
    assert!(!c.clean);
    let out = drain(&mut s);
    // Unmasked close frame with the code first.
    assert_eq!(out[0], 0x88, "{out:?}");
    assert_eq!(&out[2..4], &code.to_be_bytes());
    assert!(s.is_closed());
    evs
}
