//! Memory under attack, measured by a counting global allocator: deflate bombs (one message, many
//! fragments, a dictionary grown by context takeover), endless fragments, header floods, and a
//! ping flood to a peer that never reads all stay under the configured caps.
//!
//! The allocator counts live bytes and the peak since the last reset. Tests in this binary run
//! one at a time (a lock), so that peaks are not mixed up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use wsproto::deflate::{Backend, DeflateConfig};
use wsproto::handshake::Accept;
use wsproto::{ClientRequest, Config, Connection, ConnectionError, Event, Instant, MessageKind, ProtocolError, SeededRandom};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    // Growth in place (mremap for large blocks) never holds old and new at once; count it as the
    // system allocator does it.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `attack` and returns the most memory it held at once beyond what was live before.
fn peak_during(attack: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    attack();
    PEAK.load(Ordering::Relaxed) - base
}

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

fn backends() -> [Backend; 2] {
    [Backend::Miniz, Backend::ZlibRs]
}

/// A client and a server with deflate, the server with `limit` as its message cap.
fn pair(backend: Backend, limit: usize) -> (Connection, Connection) {
    let deflate = DeflateConfig::default().backend(backend);
    let client_cfg = Config::default().max_message_size(usize::MAX).max_frame_size(usize::MAX).deflate(Some(deflate.clone()));
    let server_cfg = Config::default().max_message_size(limit).max_frame_size(limit).deflate(Some(deflate));
    let req = ClientRequest::new("h", 80, "/", false);
    let mut c = Connection::client(&req, client_cfg, Box::new(SeededRandom::new(5)), Instant::ZERO).unwrap();
    let mut s = Connection::server(server_cfg, Instant::ZERO);
    let mut wire = Vec::new();
    c.drain_output_into(&mut wire);
    s.receive(&wire);
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    s.accept(Accept::new()).unwrap();
    wire.clear();
    s.drain_output_into(&mut wire);
    c.receive(&wire);
    assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
    (c, s)
}

fn wire_of(c: &mut Connection) -> Vec<u8> {
    let mut wire = Vec::new();
    c.drain_output_into(&mut wire);
    wire
}

fn closed_with(events: &[Event]) -> Option<&ConnectionError> {
    events.iter().find_map(|e| match e {
        Event::Closed(c) => c.error.as_ref(),
        _ => None,
    })
}

fn drain_events(c: &mut Connection) -> Vec<Event> {
    let mut all = Vec::new();
    while let Some(ev) = c.poll_event() {
        all.push(ev);
    }
    all
}

/// The decompressor's own state is allocated on the first compressed message; this much on top
/// of the message cap is the decompressor, buffers and bookkeeping.
const DEFLATE_OVERHEAD: usize = 160 * KIB;

#[test]
fn a_single_message_bomb_fails_with_1009_under_the_cap() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for backend in backends() {
        let limit = MIB;
        let (mut c, mut s) = pair(backend, limit);
        // 32 MiB of zeros in one frame, compressed to a few hundred KiB.
        c.send_binary(&vec![0u8; 32 * MIB]).unwrap();
        let bomb = wire_of(&mut c);
        assert!(bomb.len() < limit, "{}", bomb.len());
        drop(c);
        let peak = peak_during(|| {
            s.receive(&bomb);
            let events = drain_events(&mut s);
            assert_eq!(closed_with(&events), Some(&ConnectionError::Protocol(ProtocolError::MessageTooBig { limit })), "{backend:?}");
        });
        // The input copy itself is the bomb's compressed size.
        assert!(peak < limit + bomb.len() + DEFLATE_OVERHEAD, "{backend:?}: peak {peak} B for a {limit} B cap");
    }
}

#[test]
fn a_bomb_in_many_fragments_fails_with_1009_under_the_cap() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for backend in backends() {
        let limit = MIB;
        let (mut c, mut s) = pair(backend, limit);
        let piece = vec![0u8; 256 * KIB];
        let mut wire = Vec::new();
        for i in 0..32 {
            c.send_fragment(MessageKind::Binary, &piece, i == 31).unwrap();
            c.drain_output_into(&mut wire);
        }
        drop(c);
        let peak = peak_during(|| {
            // Delivered in 4 KiB reads, as a socket would.
            let mut events = Vec::new();
            for chunk in wire.chunks(4 * KIB) {
                s.receive(chunk);
                events.extend(drain_events(&mut s));
                if s.is_closed() {
                    break;
                }
            }
            assert_eq!(closed_with(&events), Some(&ConnectionError::Protocol(ProtocolError::MessageTooBig { limit })), "{backend:?}");
        });
        assert!(peak < limit + DEFLATE_OVERHEAD + 64 * KIB, "{backend:?}: peak {peak} B for a {limit} B cap");
    }
}

#[test]
fn context_takeover_cannot_grow_memory_across_messages() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for backend in backends() {
        let limit = 128 * KIB;
        let (mut c, mut s) = pair(backend, limit);
        // Each message is just under the cap and builds on the window the previous ones left.
        let mut wire = Vec::new();
        for i in 0..40u8 {
            c.send_binary(&vec![i % 3; limit - 100]).unwrap();
            c.drain_output_into(&mut wire);
        }
        drop(c);
        let peak = peak_during(|| {
            for chunk in wire.chunks(16 * KIB) {
                s.receive(chunk);
                // Messages are handed out one by one and dropped, as an application would.
                while let Some(ev) = s.poll_event() {
                    assert!(matches!(ev, Event::Binary(ref b) if b.len() == limit - 100), "{backend:?}: {ev:?}");
                }
            }
        });
        // The window is at most 32 KiB; nothing accumulates from message to message.
        assert!(peak < limit + DEFLATE_OVERHEAD, "{backend:?}: peak {peak} B over 40 messages of {limit} B");
    }
}

#[test]
fn endless_one_byte_fragments_hit_the_cap_not_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let limit = 64 * KIB;
    let mut s = Connection::upgraded_server(Config::default().max_message_size(limit), None, Instant::ZERO);
    let frag = [0x00, 0x81, 1, 2, 3, 4, b'x' ^ 1];
    let peak = peak_during(|| {
        s.receive(&[0x02, 0x81, 1, 2, 3, 4, b'x' ^ 1]);
        let mut events = Vec::new();
        for _ in 0..10 * limit {
            s.receive(&frag);
            events.extend(drain_events(&mut s));
            if s.is_closed() {
                break;
            }
        }
        assert_eq!(closed_with(&events), Some(&ConnectionError::Protocol(ProtocolError::MessageTooBig { limit })));
    });
    assert!(peak < 2 * limit + 16 * KIB, "peak {peak} B for a {limit} B cap");
}

#[test]
fn a_header_flood_is_refused_within_the_handshake_cap() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut s = Connection::server(Config::default(), Instant::ZERO);
    let peak = peak_during(|| {
        s.receive(b"GET / HTTP/1.1\r\n");
        for i in 0..3000 {
            s.receive(format!("X-Flood-{i}: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n").as_bytes());
            while s.poll_event().is_some() {}
            if s.is_closed() {
                break;
            }
        }
        assert!(s.is_closed());
    });
    // 16 KiB of head, read into a buffer that grows by doubling, plus the 431 response.
    assert!(peak < 64 * KIB, "peak {peak} B for a 16 KiB cap");
}

#[test]
fn a_ping_flood_to_a_peer_that_never_reads_is_bounded() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let write_limit = 64 * KIB;
    let mut s = Connection::upgraded_server(Config::default().write_buffer_limit(write_limit), None, Instant::ZERO);
    let mut ping = vec![0x89, 0xFD, 1, 2, 3, 4];
    ping.extend(std::iter::repeat_n(0x55, 125));
    let flood: Vec<u8> = ping.iter().copied().cycle().take(ping.len() * 1000).collect();
    let peak = peak_during(|| {
        // 100,000 pings, 13 MB of them; nothing is ever written out.
        for _ in 0..100 {
            s.receive(&flood);
            while s.poll_event().is_some() {}
        }
        assert!(s.output_len() <= write_limit + 127);
    });
    assert!(peak < 2 * write_limit + flood.len() + 16 * KIB, "peak {peak} B for a {write_limit} B write limit");
}

/// Bytes that `conn` owns: what dropping it gives back.
fn owned_by(conn: Connection) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    drop(conn);
    before - LIVE.load(Ordering::Relaxed)
}

/// A JSON chat message of about `len` bytes.
fn chat_json(len: usize) -> String {
    let mut text = String::new();
    let words = ["hello", "lunch", "today", "deploy", "review", "thanks", "see", "you"];
    let mut i = 0;
    while text.len() + 60 < len {
        text.push_str(words[i % words.len()]);
        text.push(' ');
        i += 7;
    }
    format!("{{\"type\":\"message\",\"room\":\"lobby\",\"from\":\"alice\",\"text\":\"{text}\"}}")
}

/// The server of an idle compressed connection (context takeover both ways) keeps at most
/// 16 KiB once it has hibernated, on every backend; before, it holds its compressor and
/// decompressor, hundreds of KiB.
#[test]
fn an_idle_compressed_connection_keeps_under_16_kib() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for backend in backends() {
        let held = |hibernate: bool| {
            let (mut c, mut s) = pair(backend, MIB);
            let msg = chat_json(1024);
            c.send_text(&msg).unwrap();
            s.receive(&wire_of(&mut c));
            let Some(Event::Text(t)) = s.poll_event() else { panic!("{backend:?}: no message") };
            s.send_text(t.as_str()).unwrap();
            c.receive(&wire_of(&mut s));
            assert!(matches!(c.poll_event(), Some(Event::Text(ref e)) if e.as_str() == msg), "{backend:?}");
            if hibernate {
                s.handle_timeout(Instant::ZERO + std::time::Duration::from_secs(60));
            }
            owned_by(s)
        };
        let (busy, idle) = (held(false), held(true));
        eprintln!("{backend:?}: the server holds {busy} B busy, {idle} B idle");
        assert!(busy > 64 * KIB, "{backend:?}: {busy} B with the compression state live");
        assert!(idle <= 16 * KIB, "{backend:?}: {idle} B for an idle compressed connection");
    }
}

/// A client that sends many tiny compressed messages, or one large incompressible one, leaves
/// the idle server holding its windows and nothing more: at most 2^window_bits bytes each way.
#[test]
fn hostile_traffic_cannot_raise_the_idle_footprint_past_the_windows() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for backend in backends() {
        for big in [false, true] {
            let (mut c, mut s) = pair(backend, MIB);
            let mut seed = 0x2545_f491_u32;
            let mut noise = |n: usize| -> Vec<u8> {
                (0..n)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        seed as u8
                    })
                    .collect()
            };
            let msgs: Vec<Vec<u8>> = if big { vec![noise(200 * KIB)] } else { (0..2000).map(|i| format!("m{i}").into_bytes()).collect() };
            for m in &msgs {
                c.send_binary(m).unwrap();
                s.receive(&wire_of(&mut c));
                let Some(Event::Binary(b)) = s.poll_event() else { panic!("{backend:?}: no message") };
                s.send_binary(&b).unwrap();
                c.receive(&wire_of(&mut s));
                assert!(matches!(c.poll_event(), Some(Event::Binary(_))));
            }
            s.handle_timeout(Instant::ZERO + std::time::Duration::from_secs(60));
            let idle = owned_by(s);
            let bound = if big { 2 * 32 * KIB + 16 * KIB } else { 16 * KIB };
            assert!(idle <= bound, "{backend:?} big={big}: {idle} B idle, bound {bound} B");
        }
    }
}

/// The worst case at rest is a full window each way. A server that must stay under 16 KiB per
/// idle connection whatever its clients send asks for 12-bit windows (4 KiB) both ways: then even
/// window-filling, incompressible traffic in both directions leaves it under the bound.
#[test]
fn with_12_bit_windows_the_idle_bound_holds_for_any_traffic() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for backend in backends() {
        let lean = DeflateConfig::default().backend(backend).server_max_window_bits(12).client_max_window_bits(12);
        let client_cfg = Config::default().deflate(Some(DeflateConfig::default().backend(backend)));
        let server_cfg = Config::default().deflate(Some(lean));
        let req = ClientRequest::new("h", 80, "/", false);
        let mut c = Connection::client(&req, client_cfg, Box::new(SeededRandom::new(9)), Instant::ZERO).unwrap();
        let mut s = Connection::server(server_cfg, Instant::ZERO);
        s.receive(&wire_of(&mut c));
        assert!(matches!(s.poll_event(), Some(Event::Request(_))));
        s.accept(Accept::new()).unwrap();
        c.receive(&wire_of(&mut s));
        assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
        // Text that compresses a little (so it is sent compressed) but fills the window with
        // distinct bytes: 64 KiB of words from a large vocabulary.
        let mut x = 7u32;
        let text: String = (0..12_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                format!("w{:04x} ", (x >> 12) & 0xffff)
            })
            .collect();
        c.send_text(&text).unwrap();
        s.receive(&wire_of(&mut c));
        let Some(Event::Text(t)) = s.poll_event() else { panic!("{backend:?}: no message") };
        s.send_text(t.as_str()).unwrap();
        c.receive(&wire_of(&mut s));
        assert!(matches!(c.poll_event(), Some(Event::Text(ref e)) if e.as_str() == text), "{backend:?}");
        s.handle_timeout(Instant::ZERO + std::time::Duration::from_secs(60));
        let idle = owned_by(s);
        assert!(idle <= 16 * KIB, "{backend:?}: {idle} B idle with 12-bit windows");
        // zlib-rs keeps both 4 KiB windows. miniz_oxide cannot compress with a 4 KiB window,
        // so it starts every message afresh (and sends this long one uncompressed): it keeps none.
        if backend == Backend::ZlibRs {
            assert!(idle >= 8 * KIB, "{backend:?}: {idle} B: both 4 KiB windows should be full");
        }
    }
}
