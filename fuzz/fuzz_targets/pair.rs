//! A client core and a server core talking through a pipe that the fuzzer runs: what each side
//! sends (text, binary, fragmented messages, pings, a close), how the bytes are cut on the way,
//! when time passes, and whether the pipe is cut. Whatever the order:
//! - every message arrives at the other side intact and in order (each arrival is the next one
//!   sent), with or without permessage-deflate;
//! - with nothing closed, timed out or cut, everything sent has arrived once the pipe is empty;
//! - a side whose closing handshake completed got the code the other side closed with (or its
//!   own, echoed);
//! - a cut pipe ends each open side with one `Closed` event that is not clean;
//! - a side never reports more than one `Closed`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use wsproto::deflate::{DeflateConfig, negotiate_client, negotiate_server};
use wsproto::handshake::parse_extensions;
use wsproto::{CloseCode, Config, Connection, Event, Extension, Instant, MessageKind, SeededRandom};

#[derive(Arbitrary, Debug)]
enum Step {
    Text { client: bool, text: String },
    Binary { client: bool, data: Vec<u8> },
    Fragmented { client: bool, text: bool, parts: Vec<Vec<u8>> },
    Ping { client: bool, data: Vec<u8> },
    Close { client: bool, code: u16 },
    /// Moves up to this many bytes from one side's output into the other's input.
    Pipe { to_server: bool, bytes: u16 },
    Advance(u16),
    Cut,
}

#[derive(Arbitrary, Debug)]
struct Input {
    deflate: bool,
    steps: Vec<Step>,
}

/// One side and what it is owed.
struct Side {
    conn: Connection,
    /// Messages the other side sent, not yet arrived here, in order.
    owed: VecDeque<(MessageKind, Vec<u8>)>,
    /// A message of the other side's fragments went out only in part: its content is unknown.
    unsure: bool,
    /// The first close code this side sent of its own accord.
    closed_with: Option<u16>,
    closed: Option<Box<wsproto::Closed>>,
    closed_events: usize,
}

fn side(conn: Connection) -> Side {
    Side { conn, owed: VecDeque::new(), unsure: false, closed_with: None, closed: None, closed_events: 0 }
}

/// Takes `side`'s events, checking each message against what it is owed.
fn events(side: &mut Side) {
    while let Some(event) = side.conn.poll_event() {
        let (kind, payload) = match event {
            Event::Text(t) => (MessageKind::Text, t.as_bytes().to_vec()),
            Event::Binary(b) => (MessageKind::Binary, b.to_vec()),
            Event::Closed(c) => {
                side.closed_events += 1;
                side.closed = Some(c);
                continue;
            }
            _ => continue,
        };
        if side.unsure {
            continue;
        }
        let expected = side.owed.pop_front().expect("a message arrived that was never sent");
        assert_eq!((kind, payload), expected, "a message arrived changed or out of order");
    }
}

/// Moves up to `limit` bytes of `from`'s output to `to`; returns how many.
fn pipe(from: &mut Side, to: &mut Side, limit: usize) -> usize {
    let mut chunk = Vec::new();
    let mut slices = [&[][..]; 16];
    let count = from.conn.pending_output_slices(&mut slices);
    for s in &slices[..count] {
        let take = (limit - chunk.len()).min(s.len());
        chunk.extend_from_slice(&s[..take]);
        if chunk.len() == limit {
            break;
        }
    }
    from.conn.advance_output(chunk.len());
    if !chunk.is_empty() {
        to.conn.receive(&chunk);
    }
    chunk.len()
}

fuzz_target!(|input: Input| {
    let config = Config::default().max_message_size(64 << 10).max_frame_size(64 << 10).write_buffer_limit(4 << 20);
    let (client_ext, server_ext): (Option<Box<dyn Extension>>, Option<Box<dyn Extension>>) = if input.deflate {
        let offer = wsproto::deflate::client_offer(&DeflateConfig::default());
        let offers = parse_extensions([offer.as_bytes()]).unwrap();
        let (answer, server) = negotiate_server(&DeflateConfig::default(), &offers).unwrap();
        let answers = parse_extensions([answer.as_bytes()]).unwrap();
        let client = negotiate_client(Some(&DeflateConfig::default()), &answers).unwrap().unwrap();
        (Some(Box::new(client)), Some(Box::new(server)))
    } else {
        (None, None)
    };
    let mut client = side(Connection::upgraded_client(config.clone(), client_ext, Box::new(SeededRandom::new(7)), Instant::ZERO));
    let mut server = side(Connection::upgraded_server(config, server_ext, Instant::ZERO));
    let mut now = Instant::ZERO;
    let (mut disturbed, mut cut) = (false, false);
    for step in input.steps {
        match step {
            Step::Text { client: c, text } => {
                let (from, to) = if c { (&mut client, &mut server) } else { (&mut server, &mut client) };
                if from.conn.send_text(&text).is_ok() {
                    to.owed.push_back((MessageKind::Text, text.into_bytes()));
                }
            }
            Step::Binary { client: c, data } => {
                let (from, to) = if c { (&mut client, &mut server) } else { (&mut server, &mut client) };
                if from.conn.send_binary(&data).is_ok() {
                    to.owed.push_back((MessageKind::Binary, data));
                }
            }
            Step::Fragmented { client: c, text, parts } => {
                let (from, to) = if c { (&mut client, &mut server) } else { (&mut server, &mut client) };
                // Text fragments must join into valid UTF-8: the parts are taken as bytes of
                // one lossily-decoded string, cut at character boundaries.
                let kind = if text { MessageKind::Text } else { MessageKind::Binary };
                let parts: Vec<Vec<u8>> = if text {
                    parts.iter().map(|p| String::from_utf8_lossy(p).into_owned().into_bytes()).collect()
                } else {
                    parts
                };
                if parts.is_empty() {
                    continue;
                }
                let mut sent = 0;
                for (i, part) in parts.iter().enumerate() {
                    if from.conn.send_fragment(kind, part, i + 1 == parts.len()).is_err() {
                        break;
                    }
                    sent += 1;
                }
                if sent == parts.len() {
                    to.owed.push_back((kind, parts.concat()));
                } else if sent > 0 {
                    to.unsure = true;
                }
            }
            Step::Ping { client: c, data } => {
                let from = if c { &mut client } else { &mut server };
                let _ = from.conn.ping(&data);
            }
            Step::Close { client: c, code } => {
                let from = if c { &mut client } else { &mut server };
                if from.conn.close(CloseCode(code), "bye").is_ok() && from.closed_with.is_none() {
                    from.closed_with = Some(code);
                }
                disturbed = true;
            }
            Step::Pipe { to_server, bytes } => {
                if !cut {
                    let limit = usize::from(bytes);
                    if to_server {
                        pipe(&mut client, &mut server, limit);
                    } else {
                        pipe(&mut server, &mut client, limit);
                    }
                }
            }
            Step::Advance(ms) => {
                now += core::time::Duration::from_millis(u64::from(ms));
                client.conn.handle_timeout(now);
                server.conn.handle_timeout(now);
                disturbed = true;
            }
            Step::Cut => {
                if !cut {
                    cut = true;
                    client.conn.receive_eof();
                    server.conn.receive_eof();
                }
            }
        }
        events(&mut client);
        events(&mut server);
    }
    if !cut {
        // Empty the pipe both ways.
        while pipe(&mut client, &mut server, usize::MAX) + pipe(&mut server, &mut client, usize::MAX) > 0 {
            events(&mut client);
            events(&mut server);
        }
        events(&mut client);
        events(&mut server);
        if !disturbed {
            assert!(client.unsure || client.owed.is_empty(), "the client never got {} messages", client.owed.len());
            assert!(server.unsure || server.owed.is_empty(), "the server never got {} messages", server.owed.len());
        }
    }
    for (me, other) in [(&client, &server), (&server, &client)] {
        assert!(me.closed_events <= 1, "more than one Closed");
        if let Some(closed) = &me.closed {
            if closed.clean && !cut {
                let got = closed.received.as_ref().expect("a clean close received a close frame").code.0;
                let want = other.closed_with.or(me.closed_with);
                assert_eq!(Some(got), want, "the close code that arrived");
            }
        } else if cut {
            panic!("a cut pipe left a side without its Closed event");
        }
    }
});
