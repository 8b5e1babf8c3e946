//! Two cores in memory, driven by proptest (after quinn-proto's `Pair` and str0m's `progress`).
//!
//! A client and a server are joined by two pipes that deliver chunks of random size, with a
//! virtual clock. Random operations run against them. The invariants:
//! - messages arrive in order and intact (a prefix of what was sent, all of it if nobody closed);
//! - the same operations with one-byte delivery give the same events as with whole delivery;
//! - both sides reach `Closed`, with matching codes when the closing handshake completed;
//! - `poll_timeout` is never earlier than the time last passed in;
//! - nothing panics.

use proptest::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;
use wsproto::handshake::Accept;
use wsproto::{ClientRequest, CloseCode, Config, Connection, Event, Instant, MessageKind, SeededRandom};

#[derive(Clone, Debug)]
enum Op {
    Send { from_client: bool, text: bool, len: usize, compressible: bool },
    SendFragmented { from_client: bool, pieces: Vec<usize> },
    Ping { from_client: bool, len: usize },
    Close { from_client: bool, code: u16 },
    Deliver { to_client: bool, max: usize },
    Advance { millis: u64 },
}

/// The largest message the operations send: past 64 KiB (a 64-bit length), or, under Miri, which
/// runs about a thousand times slower and delivers byte by byte in one property, past 125 B and
/// 126 B (the 16-bit length) only.
const LARGEST: usize = if cfg!(miri) { 1_000 } else { 70_000 };

/// A case runs fewer operations than this: fewer still under Miri, where these two properties
/// took 13 minutes of its run (deflate contexts made and dropped per message, every byte
/// delivered alone); each case still mixes sends, fragments, pings, closes and timers.
const OPS: usize = if cfg!(miri) { 12 } else { 40 };

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), any::<bool>(), prop_oneof![Just(0usize), 0usize..200, 0usize..LARGEST], any::<bool>())
            .prop_map(|(from_client, text, len, compressible)| Op::Send { from_client, text, len, compressible }),
        1 => (any::<bool>(), proptest::collection::vec(prop_oneof![Just(0usize), 0usize..3000.min(LARGEST)], 1..5)).prop_map(|(from_client, pieces)| Op::SendFragmented { from_client, pieces }),
        1 => (any::<bool>(), 0usize..126).prop_map(|(from_client, len)| Op::Ping { from_client, len }),
        1 => (any::<bool>(), prop_oneof![Just(1000u16), Just(1001), Just(4000)]).prop_map(|(from_client, code)| Op::Close { from_client, code }),
        6 => (any::<bool>(), 1usize..5000).prop_map(|(to_client, max)| Op::Deliver { to_client, max }),
        1 => (0u64..30_000).prop_map(|millis| Op::Advance { millis }),
    ]
}

/// Payload bytes: compressible (repeated words) or not (pseudo-random), valid UTF-8 either way.
fn payload(len: usize, compressible: bool, seed: usize) -> Vec<u8> {
    if compressible {
        b"lorem ipsum dolor sit amet ".iter().cycle().take(len).copied().collect()
    } else {
        let mut x = seed as u64 | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'!' + (x % 90) as u8
            })
            .collect()
    }
}

struct Side {
    conn: Connection,
    /// Bytes written by this side, not yet delivered to the other.
    pipe: VecDeque<u8>,
    events: Vec<Event>,
    sent: Vec<(MessageKind, Vec<u8>)>,
    closed: bool,
}

struct Pair {
    client: Side,
    server: Side,
    now: Instant,
    /// Deliver at most this many bytes per delivery, whatever the op asks (1 in the chunking check).
    chunk_cap: usize,
}

impl Pair {
    fn new(config: Config, chunk_cap: usize) -> Pair {
        let req = ClientRequest::new("peer", 80, "/pair", false);
        let client = Connection::client(&req, config.clone(), Box::new(SeededRandom::new(11)), Instant::ZERO).unwrap();
        let server = Connection::server(config, Instant::ZERO);
        let side = |conn| Side { conn, pipe: VecDeque::new(), events: Vec::new(), sent: Vec::new(), closed: false };
        let mut pair = Pair { client: side(client), server: side(server), now: Instant::ZERO, chunk_cap };
        pair.collect_output();
        pair
    }

    fn side(&mut self, client: bool) -> &mut Side {
        if client { &mut self.client } else { &mut self.server }
    }

    fn collect_output(&mut self) {
        for side in [&mut self.client, &mut self.server] {
            let mut out = Vec::new();
            side.conn.drain_output_into(&mut out);
            side.pipe.extend(out);
        }
    }

    fn poll(&mut self, client: bool) {
        loop {
            let side = self.side(client);
            let Some(ev) = side.conn.poll_event() else { break };
            match &ev {
                Event::Request(_) => side.conn.accept(Accept::new()).unwrap(),
                Event::Closed(_) => side.closed = true,
                _ => {}
            }
            side.events.push(ev);
        }
        let now = self.now;
        let t = self.side(client).conn.poll_timeout();
        assert!(t.is_none_or(|t| t >= now), "poll_timeout {t:?} before now {now:?}");
        self.collect_output();
    }

    /// Moves up to `max` bytes to one side, in pieces of at most `chunk_cap` bytes.
    fn deliver(&mut self, to_client: bool, max: usize) {
        let mut delivered = 0;
        let cap = self.chunk_cap;
        while delivered < max {
            let from = self.side(!to_client);
            let n = (max - delivered).min(from.pipe.len()).min(cap);
            if n == 0 {
                break;
            }
            let bytes: Vec<u8> = from.pipe.drain(..n).collect();
            delivered += n;
            let to = self.side(to_client);
            if !to.closed {
                to.conn.receive(&bytes);
            }
            self.poll(to_client);
        }
    }

    fn run(&mut self, op: &Op, seed: usize) {
        match *op {
            Op::Send { from_client, text, len, compressible } => {
                let data = payload(len, compressible, seed);
                let side = self.side(from_client);
                let (kind, result) = if text {
                    (MessageKind::Text, side.conn.send_text(std::str::from_utf8(&data).unwrap()))
                } else {
                    (MessageKind::Binary, side.conn.send_binary(&data))
                };
                if result.is_ok() {
                    side.sent.push((kind, data));
                }
            }
            Op::SendFragmented { from_client, ref pieces } => {
                let side = self.side(from_client);
                let mut whole = Vec::new();
                let mut ok = true;
                for (i, &len) in pieces.iter().enumerate() {
                    let data = payload(len, i % 2 == 0, seed + i);
                    if side.conn.send_fragment(MessageKind::Binary, &data, i + 1 == pieces.len()).is_err() {
                        ok = false;
                        break;
                    }
                    whole.extend(data);
                }
                if ok {
                    side.sent.push((MessageKind::Binary, whole));
                } else {
                    // Only possible once closing; nothing more may be sent anyway.
                    assert!(!side.conn.is_open() || side.conn.is_write_buffer_full());
                }
            }
            Op::Ping { from_client, len } => {
                let _ = self.side(from_client).conn.ping(&vec![7u8; len]);
            }
            Op::Close { from_client, code } => {
                let _ = self.side(from_client).conn.close(CloseCode(code), "bye");
            }
            Op::Deliver { to_client, max } => self.deliver(to_client, max),
            Op::Advance { millis } => {
                self.now += Duration::from_millis(millis);
                let now = self.now;
                self.client.conn.handle_timeout(now);
                self.server.conn.handle_timeout(now);
                self.poll(true);
                self.poll(false);
            }
        }
        self.collect_output();
    }

    /// Delivers everything in flight, in both directions, until nothing moves.
    fn settle(&mut self) {
        for _ in 0..1000 {
            if self.client.pipe.is_empty() && self.server.pipe.is_empty() {
                return;
            }
            self.deliver(true, usize::MAX);
            self.deliver(false, usize::MAX);
        }
        panic!("the pipes never drained");
    }

    /// Ends the connection: close from the client, deliver, and end both transports.
    fn finish(&mut self) {
        self.settle();
        let _ = self.client.conn.close(CloseCode::NORMAL, "done");
        self.collect_output();
        self.settle();
        // The server ends the transport after the closing handshake; the client then sees EOF.
        if self.server.conn.is_closed() {
            self.client.conn.receive_eof();
            self.poll(true);
        }
        // Anything still open (a link that broke mid-handshake, say) ends by EOF.
        for client in [true, false] {
            if !self.side(client).closed {
                self.side(client).conn.receive_eof();
                self.poll(client);
            }
        }
    }
}

fn received(events: &[Event]) -> Vec<(MessageKind, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) => Some((MessageKind::Text, t.as_bytes().to_vec())),
            Event::Binary(b) => Some((MessageKind::Binary, b.to_vec())),
            _ => None,
        })
        .collect()
}

fn config_strategy() -> impl Strategy<Value = Config> {
    // Hibernation never, after every message, or on a short timer.
    let hibernate = prop_oneof![Just(None), Just(Some(Duration::ZERO)), Just(Some(Duration::from_millis(5)))];
    let deflate = prop_oneof![
        Just(None),
        (any::<bool>(), any::<bool>(), 8u8..=15, 8u8..=15, 0usize..64, any::<bool>(), hibernate).prop_map(
            |(snct, cnct, sbits, cbits, min, zlib, hibernate)| {
                #[allow(unused_mut)]
                let mut d = wsproto::deflate::DeflateConfig::default()
                    .server_no_context_takeover(snct)
                    .client_no_context_takeover(cnct)
                    .server_max_window_bits(sbits)
                    .client_max_window_bits(cbits)
                    .min_compress_size(min)
                    .hibernate_after(hibernate)
                    .backend(wsproto::deflate::Backend::Miniz);
                #[cfg(feature = "zlib-rs")]
                if zlib {
                    d = d.backend(wsproto::deflate::Backend::ZlibRs);
                }
                let _ = zlib;
                Some(d)
            }
        ),
    ];
    (deflate, any::<bool>()).prop_map(|(deflate, keepalive)| {
        let mut c = Config::default().deflate(deflate).write_buffer_limit(1 << 20);
        if keepalive {
            c = c.ping_interval(Some(Duration::from_secs(20)));
        }
        c
    })
}

fn run_all(config: &Config, ops: &[Op], chunk_cap: usize) -> Pair {
    let mut pair = Pair::new(config.clone(), chunk_cap);
    for (i, op) in ops.iter().enumerate() {
        pair.run(op, i);
    }
    pair.finish();
    pair
}

proptest! {
    // PROPTEST_CASES overrides the count for longer runs.
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96), ..ProptestConfig::default() })]

    #[test]
    fn two_cores_agree(config in config_strategy(), ops in proptest::collection::vec(op(), 1..OPS)) {
        let pair = run_all(&config, &ops, usize::MAX);
        for (from, to) in [(&pair.client, &pair.server), (&pair.server, &pair.client)] {
            let got = received(&to.events);
            prop_assert!(got.len() <= from.sent.len());
            for (i, (g, s)) in got.iter().zip(&from.sent).enumerate() {
                prop_assert_eq!(g.0, s.0, "message {} kind", i);
                prop_assert!(g.1 == s.1, "message {} differs ({} vs {} bytes)", i, g.1.len(), s.1.len());
            }
        }
        // Both sides ended, each with exactly one Closed event, last.
        for side in [&pair.client, &pair.server] {
            let closes: Vec<_> = side.events.iter().filter(|e| matches!(e, Event::Closed(_))).collect();
            prop_assert_eq!(closes.len(), 1);
            prop_assert!(matches!(side.events.last(), Some(Event::Closed(_))));
        }
        let (Some(Event::Closed(c)), Some(Event::Closed(s))) = (pair.client.events.last(), pair.server.events.last()) else { unreachable!() };
        if c.clean && s.clean {
            // Each side reports the code of the close frame it received: the other's.
            prop_assert_eq!(Some(c.code()), s.sent.as_ref().map(|f| f.code));
            prop_assert_eq!(Some(s.code()), c.sent.as_ref().map(|f| f.code));
            // The answer echoes the opening code, so unless both closed at once, the codes match.
            let simultaneous = c.sent.as_ref().map(|f| f.code) != s.sent.as_ref().map(|f| f.code);
            if !simultaneous {
                prop_assert_eq!(c.code(), s.code());
            }
            prop_assert_eq!(c.error.as_ref(), None);
        }
        // Without a close before the end and without a keepalive failure, everything arrived.
        let closed_early = ops.iter().any(|o| matches!(o, Op::Close { .. })) || c.error.is_some() || s.error.is_some();
        if !closed_early {
            prop_assert_eq!(received(&pair.server.events).len(), pair.client.sent.len());
            prop_assert_eq!(received(&pair.client.events).len(), pair.server.sent.len());
        }
    }

    #[test]
    fn one_byte_delivery_gives_the_same_events(config in config_strategy(), ops in proptest::collection::vec(op(), 1..OPS * 5 / 8)) {
        let whole = run_all(&config, &ops, usize::MAX);
        let bytewise = run_all(&config, &ops, 1);
        // Delivery granularity may move a delivery boundary relative to a timer or a close, so
        // compare what each side received up to the first close or timer-driven event.
        let upto = |evs: &[Event]| -> Vec<Event> {
            evs.iter().take_while(|e| !matches!(e, Event::CloseReceived(_) | Event::Closed(_))).cloned().collect()
        };
        let timers = ops.iter().any(|o| matches!(o, Op::Advance { .. }));
        let w = upto(&whole.server.events);
        let b = upto(&bytewise.server.events);
        if timers {
            prop_assert!(w.starts_with(&b) || b.starts_with(&w));
        } else {
            prop_assert_eq!(w, b);
            prop_assert_eq!(upto(&whole.client.events), upto(&bytewise.client.events));
        }
    }
}
