//! Heap used per permessage-deflate stream and per idle connection, measured with a counting
//! global allocator.
//!
//! For each backend and window setting, one 1 KiB JSON message is compressed (or inflated)
//! through wsproto's `DeflateExtension`; the extension creates its backend state on first use.
//! "retained" is the heap still held afterwards (the stream's state, which lives as long as the
//! connection); "peak" is the most held at any moment during the call. The output buffer is
//! reserved before counting starts, so neither figure includes it.
//!
//! Run with `cargo run --release -p wsproto-benches --bin memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use wsproto::deflate::{Backend, DeflateConfig, negotiate_server};
use wsproto::{BytesMut, Config, Connection, Event, Extension, Instant};
use wsproto_benches::{json_messages, masked_frame, masked_text_frame};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc` and `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grow(new_size as isize - layout.size() as isize);
        }
        p
    }
}

fn grow(delta: isize) {
    let now = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns (retained, peak) heap bytes over what was live before it.
fn measure<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let value = f();
    (value, LIVE.load(Ordering::Relaxed) - base, PEAK.load(Ordering::Relaxed) - base)
}

fn name(b: Backend) -> &'static str {
    match b {
        Backend::Miniz => "miniz_oxide",
        Backend::ZlibRs => "zlib-rs",
        _ => "other",
    }
}

fn main() {
    let msg = &json_messages(1 << 10, 1, 42)[0];
    let offers = wsproto::handshake::parse_extensions([b"permessage-deflate; client_max_window_bits".as_slice()]).expect("offer");

    println!("| backend | direction | window bits | memory level | retained B | peak B |");
    println!("|---|---|---|---|---|---|");
    for backend in [Backend::Miniz, Backend::ZlibRs] {
        let levels: &[u8] = if backend == Backend::ZlibRs { &[1, 8, 9] } else { &[8] };
        for bits in [15u8, 12, 9] {
            for &mem in levels {
                let cfg = DeflateConfig::default().backend(backend).server_max_window_bits(bits).memory_level(mem);
                let (_, mut ext) = negotiate_server(&cfg, &offers).expect("negotiated");
                let mut out = BytesMut::with_capacity(64 << 10);
                let (_, retained, peak) = measure(|| {
                    ext.begin_encode(Some(msg.len()));
                    ext.encode(msg, true, &mut out).expect("encode");
                });
                let mem_label = if backend == Backend::ZlibRs { mem.to_string() } else { "n/a".into() };
                println!("| {} | compress | {bits} | {mem_label} | {retained} | {peak} |", name(backend));
                drop(ext);
            }
        }
        // The inflater does not depend on the window the peer uses.
        let cfg = DeflateConfig::default().backend(backend);
        let (_, mut ext) = negotiate_server(&cfg, &offers).expect("negotiated");
        let mut packer = negotiate_server(&cfg, &offers).expect("negotiated").1;
        let mut payload = BytesMut::new();
        packer.begin_encode(Some(msg.len()));
        packer.encode(msg, true, &mut payload).expect("encode");
        let mut out = BytesMut::with_capacity(64 << 10);
        let (_, retained, peak) = measure(|| {
            ext.decode(&payload, &mut out, usize::MAX).expect("decode");
            ext.finish_decode(&mut out, usize::MAX).expect("finish");
        });
        assert_eq!(&out[..], &msg[..]);
        println!("| {} | inflate | any | n/a | {retained} | {peak} |", name(backend));
    }

    println!();
    println!("| connection (server, upgraded, no extension) | retained B | peak B |");
    println!("|---|---|---|");
    let (mut conn, retained, peak) = measure(|| Connection::upgraded_server(Config::default(), None, Instant::ZERO));
    println!("| new | {retained} | {peak} |");
    let mut frame = Vec::new();
    masked_text_frame(msg, &mut frame);
    let (_, retained, peak) = measure(|| echo_one(&mut conn, &frame));
    println!("| after echoing one 1 KiB message (the message dropped) | {retained} | {peak} |");
    drop(conn);

    println!();
    println!("| connection (server, deflate negotiated, default settings) | retained B | peak B |");
    println!("|---|---|---|");
    for backend in [Backend::Miniz, Backend::ZlibRs] {
        let cfg = DeflateConfig::default().backend(backend);
        let (_, ext) = negotiate_server(&cfg, &offers).expect("negotiated");
        let mut packer = negotiate_server(&cfg, &offers).expect("negotiated").1;
        let mut payload = BytesMut::new();
        packer.begin_encode(Some(msg.len()));
        packer.encode(msg, true, &mut payload).expect("encode");
        let mut frame = Vec::new();
        masked_frame(0x1, 0x40, &payload, [1, 2, 3, 4], &mut frame);
        let base = LIVE.load(Ordering::Relaxed);
        let (mut conn, _, _) = measure(|| Connection::upgraded_server(Config::default(), Some(Box::new(ext)), Instant::ZERO));
        let (_, retained, peak) = measure(|| echo_one(&mut conn, &frame));
        println!("| {} after echoing one 1 KiB message | {retained} | {peak} |", name(backend));
        // Quiet past `hibernate_after` (1 s by default): only the two windows stay.
        conn.handle_timeout(Instant::ZERO + std::time::Duration::from_secs(2));
        let held = LIVE.load(Ordering::Relaxed) - base;
        println!("| {} the same, then quiet for 2 s (hibernated) | {held} | {peak} |", name(backend));
    }
}

/// Receives one text message, echoes it, writes the output out and drops the message.
fn echo_one(conn: &mut Connection, frame: &[u8]) {
    conn.receive(frame);
    let Some(Event::Text(t)) = conn.poll_event() else { panic!("a text message") };
    conn.send_text(&t).expect("send");
    drop(t);
    let n = conn.output_len();
    conn.advance_output(n);
}
