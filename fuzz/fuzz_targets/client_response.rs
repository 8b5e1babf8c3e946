//! The client's response parser fed arbitrary bytes after a real request: never panics, and
//! opens the connection only for a valid 101 carrying the right accept key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto::{ClientRequest, Config, Connection, Event, Instant, SeededRandom};

fuzz_target!(|input: (bool, u8, &[u8])| {
    let (eof, piece, data) = input;
    let request = ClientRequest::from_url("ws://example.com/chat").unwrap().subprotocol("chat");
    let mut conn = Connection::client(&request, Config::default().with_deflate(), Box::new(SeededRandom::new(7)), Instant::ZERO).unwrap();
    let mut sent = Vec::new();
    conn.drain_output_into(&mut sent);
    for chunk in data.chunks(usize::from(piece) % 31 + 1) {
        conn.receive(chunk);
        while let Some(ev) = conn.poll_event() {
            if let Event::Connected(resp) = ev {
                assert_eq!(resp.status(), 101);
                assert!(resp.subprotocol().is_none_or(|p| p == "chat"));
                assert!(conn.is_open());
            }
        }
    }
    if eof {
        conn.receive_eof();
        while conn.poll_event().is_some() {}
    }
});
