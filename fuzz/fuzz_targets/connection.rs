//! A whole connection, server or client side, with or without permessage-deflate, fed arbitrary
//! bytes in arbitrary pieces with commands and timeouts in between: never panics, never holds
//! more than its limits, and ends with exactly one `Closed` event at most.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::deflate::{DeflateConfig, negotiate_server};
use wsproto::handshake::parse_extensions;
use wsproto::{CloseCode, Config, Connection, Event, Extension, Instant, MessageKind, SeededRandom};

#[derive(Arbitrary, Debug)]
enum Step {
    Receive(Vec<u8>),
    SendText(String),
    SendBinary(Vec<u8>),
    Fragment(bool, Vec<u8>),
    Ping(Vec<u8>),
    Close(u16),
    Advance(u16),
    Drain(u16),
    Eof,
}

#[derive(Arbitrary, Debug)]
struct Input {
    client: bool,
    deflate: bool,
    zlib: bool,
    streaming: bool,
    steps: Vec<Step>,
}

const MAX_MESSAGE: usize = 64 << 10;

fuzz_target!(|input: Input| {
    let config = Config::default()
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .write_buffer_limit(16 << 10)
        .stream_fragments(input.streaming)
        .ping_interval(Some(core::time::Duration::from_secs(5)))
        .idle_timeout(Some(core::time::Duration::from_secs(60)));
    let extension = input.deflate.then(|| {
        let backend = if input.zlib { wsproto::deflate::Backend::ZlibRs } else { wsproto::deflate::Backend::Miniz };
        let offers = parse_extensions([&b"permessage-deflate; client_max_window_bits"[..]]).unwrap();
        Box::new(negotiate_server(&DeflateConfig::default().backend(backend), &offers).unwrap().1) as Box<dyn Extension>
    });
    let mut conn = if input.client {
        Connection::upgraded_client(config, extension, Box::new(SeededRandom::new(1)), Instant::ZERO)
    } else {
        Connection::upgraded_server(config, extension, Instant::ZERO)
    };
    let mut now = Instant::ZERO;
    let mut closed_events = 0;
    for step in input.steps {
        match step {
            Step::Receive(bytes) => conn.receive(&bytes),
            Step::SendText(t) => drop(conn.send_text(&t)),
            Step::SendBinary(b) => drop(conn.send_binary(&b)),
            Step::Fragment(last, b) => drop(conn.send_fragment(MessageKind::Binary, &b, last)),
            Step::Ping(p) => drop(conn.ping(&p)),
            Step::Close(code) => drop(conn.close(CloseCode(code), "")),
            Step::Advance(ms) => {
                now += core::time::Duration::from_millis(u64::from(ms));
                conn.handle_timeout(now);
            }
            Step::Drain(n) => {
                let n = usize::from(n).min(conn.output_len());
                conn.advance_output(n);
            }
            Step::Eof => conn.receive_eof(),
        }
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Text(t) => assert!(t.len() <= MAX_MESSAGE),
                Event::Binary(b) => assert!(b.len() <= MAX_MESSAGE),
                Event::Fragment { payload, .. } => assert!(payload.len() <= MAX_MESSAGE),
                Event::Ping(p) | Event::Pong(p) => assert!(p.len() <= 125),
                Event::Closed(_) => closed_events += 1,
                _ => {}
            }
        }
        if let Some(t) = conn.poll_timeout() {
            assert!(t >= now || conn.is_closed());
        }
    }
    assert!(closed_events <= 1);
});
