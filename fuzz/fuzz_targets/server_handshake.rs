//! The server handshake fed arbitrary bytes in arbitrary pieces: never panics, stays within its
//! limits, answers a refused request with an HTTP status, and gives the same result whatever the
//! split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto::handshake::Accept;
use wsproto::{Config, Connection, Event, Instant};

fn run(data: &[u8], piece: usize) -> (Vec<u8>, bool) {
    let config = Config::default().max_handshake_size(4096).max_handshake_line(1024).max_handshake_headers(16).with_deflate();
    let mut conn = Connection::server(config, Instant::ZERO);
    let mut accepted = false;
    for chunk in data.chunks(piece.max(1)) {
        conn.receive(chunk);
        while let Some(ev) = conn.poll_event() {
            if let Event::Request(req) = ev {
                assert_eq!(req.method(), "GET");
                let accept = match req.subprotocols().first() {
                    Some(p) => Accept::new().subprotocol(p.clone()),
                    None => Accept::new(),
                };
                conn.accept(accept).expect("an offered subprotocol can be chosen");
                accepted = true;
            }
        }
    }
    let mut out = Vec::new();
    conn.drain_output_into(&mut out);
    (out, accepted)
}

fuzz_target!(|input: (u8, &[u8])| {
    let (piece, data) = input;
    let whole = run(data, data.len());
    let pieces = run(data, usize::from(piece) % 17 + 1);
    assert_eq!(whole.1, pieces.1, "accepting must not depend on how the bytes arrive");
    if !whole.0.is_empty() {
        assert!(whole.0.starts_with(b"HTTP/1.1 "), "a response, or nothing");
    }
    if whole.1 {
        assert!(whole.0.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    }
});
