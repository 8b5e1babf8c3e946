//! permessage-deflate cost: wsproto's extension against the raw backend calls doing the same
//! work, for both backends (miniz_oxide 0.9 and zlib-rs 0.6), in the same run.
//!
//! Messages are realistic JSON (chat and market-data events, generated deterministically by
//! `wsproto_benches::json_messages`): 64 distinct messages of about 1 KiB, or 8 of about 64 KiB.
//! Each iteration handles the next message in turn, so with context takeover the compressor's
//! window always holds earlier, different messages, as on a real connection. Level 1 (wsproto's
//! default), 15 window bits, zlib memory level 8.
//!
//! For each of `compress` and `inflate`, `{1KiB,64KiB}-{takeover,no-takeover}`:
//! - `<backend>-raw`: the backend called directly, as lean as a caller can: an output buffer sized
//!   once and reused, a sync flush with the `00 00 ff ff` tail stripped (compress), or the tail
//!   appended as a second input (inflate); `reset()` after each message without context takeover.
//! - `<backend>-ext`: the same work through wsproto's `DeflateExtension` (`begin_encode` +
//!   `encode(msg, true, out)`, or `decode` + `finish_decode`) into a reused `BytesMut`. The issue's
//!   target is that this adds at most 10% over `-raw`.
//! - `<backend>-ext-wake` (context takeover only): `-ext` with `hibernate()` before every message,
//!   so each one frees the backend's state and rebuilds it from the kept window. The difference
//!   from `-ext` is the cost of a wake-up.
//! - `<backend>-conn`: the whole connection: `Connection::send_text` plus draining the output, or
//!   `receive` of a masked, RSV1 frame plus `poll_event` (which adds unmasking, framing, UTF-8
//!   validation and a fresh message buffer per message). For information; no target.
//!
//! Inflate inputs are the same bytes for both backends: the messages compressed by zlib-rs at
//! level 1 (reset after every message for `no-takeover`). Without context takeover the inflater is
//! not reset between messages, by either path: the peer's streams simply never refer back.
//! Throughput is uncompressed bytes per second.

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime};
use wsproto::deflate::Backend;
use wsproto::{Config, Connection, Event, Extension as _, Instant};
use wsproto_benches::{MASK_KEY, json_messages, masked_frame};

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Miniz => "miniz",
        Backend::ZlibRs => "zlib-rs",
        _ => "other",
    }
}

#[path = "support/deflate_paths.rs"]
mod deflate_paths;
use deflate_paths::{LEVEL, RawCompress, RawInflate, ext_compress, ext_inflate, extension};

// ---------------------------------------------------------------------------------------------
// wsproto.

fn connection(backend: Backend, takeover: bool) -> Connection {
    Connection::upgraded_server(Config::default(), Some(Box::new(extension(backend, takeover))), Instant::ZERO)
}

fn conn_send(conn: &mut Connection, text: &str, mut sink: impl FnMut(&[u8])) {
    conn.send_text(text).expect("send_text");
    while conn.output_len() > 0 {
        let chunk = conn.pending_output();
        sink(chunk);
        let n = chunk.len();
        conn.advance_output(n);
    }
}

fn conn_receive(conn: &mut Connection, frame: &[u8]) -> wsproto::Utf8Bytes {
    conn.receive(frame);
    let Some(Event::Text(text)) = conn.poll_event() else { panic!("expected a text message") };
    assert!(conn.poll_event().is_none());
    text
}

// ---------------------------------------------------------------------------------------------

struct Case {
    size_label: &'static str,
    msgs: Vec<Vec<u8>>,
    takeover: bool,
}

impl Case {
    fn param(&self) -> String {
        format!("{}-{}", self.size_label, if self.takeover { "takeover" } else { "no-takeover" })
    }

    fn throughput(&self) -> Throughput {
        let total: usize = self.msgs.iter().map(Vec::len).sum();
        Throughput::BytesDecimal((total / self.msgs.len()) as u64)
    }
}

fn bench_compress(g: &mut BenchmarkGroup<'_, WallTime>, case: &Case, backend: Backend) {
    let msgs = &case.msgs;
    let name = backend_name(backend);
    let param = case.param();

    // The wrapper and the raw calls produce the same bytes, so they do the same work.
    let mut raw = RawCompress::new(backend, case.takeover);
    let mut ext = extension(backend, case.takeover);
    let mut conn = connection(backend, case.takeover);
    let mut out = BytesMut::new();
    let mut wire = Vec::new();
    for m in msgs.iter().take(3) {
        ext_compress(&mut ext, m, &mut out);
        let r = raw.compress(m);
        assert_eq!(&out[..], r, "{name}: wrapper and raw output differ");
        wire.clear();
        conn_send(&mut conn, std::str::from_utf8(m).expect("JSON is text"), |b| wire.extend_from_slice(b));
        assert_eq!(&wire[wire.len() - r.len()..], r, "{name}: connection payload differs");
        assert_eq!(wire[0], 0xC1, "{name}: FIN, RSV1, text");
    }

    let mut i = 0;
    g.bench_function(BenchmarkId::new(format!("{name}-raw"), &param), |b| {
        b.iter(|| {
            black_box(raw.compress(black_box(&msgs[i])));
            i = (i + 1) % msgs.len();
        })
    });
    let mut i = 0;
    g.bench_function(BenchmarkId::new(format!("{name}-ext"), &param), |b| {
        b.iter(|| {
            ext_compress(&mut ext, black_box(&msgs[i]), &mut out);
            black_box(&out);
            i = (i + 1) % msgs.len();
        })
    });
    if case.takeover {
        // Hibernation before every message: the difference from `-ext` is what one wake-up
        // costs (freeing the state, a new compressor, loading the 32 KiB window).
        let mut sleepy = extension(backend, true);
        let mut i = 0;
        g.bench_function(BenchmarkId::new(format!("{name}-ext-wake"), &param), |b| {
            b.iter(|| {
                sleepy.hibernate();
                ext_compress(&mut sleepy, black_box(&msgs[i]), &mut out);
                black_box(&out);
                i = (i + 1) % msgs.len();
            })
        });
    }
    let texts: Vec<&str> = msgs.iter().map(|m| std::str::from_utf8(m).expect("JSON is text")).collect();
    let mut i = 0;
    g.bench_function(BenchmarkId::new(format!("{name}-conn"), &param), |b| {
        b.iter(|| {
            conn_send(&mut conn, black_box(texts[i]), |b| {
                black_box(b);
            });
            i = (i + 1) % texts.len();
        })
    });
}

fn bench_inflate(g: &mut BenchmarkGroup<'_, WallTime>, case: &Case, backend: Backend, payloads: &[Vec<u8>], frames: &[Vec<u8>]) {
    let msgs = &case.msgs;
    let name = backend_name(backend);
    let param = case.param();

    // All three paths give back the original messages.
    let mut raw = RawInflate::new(backend);
    let mut ext = extension(backend, case.takeover);
    let mut conn = connection(backend, case.takeover);
    let mut out = BytesMut::new();
    for ((m, p), f) in msgs.iter().zip(payloads).zip(frames) {
        assert_eq!(raw.inflate(p), &m[..], "{name}: raw inflate");
        ext_inflate(&mut ext, p, &mut out);
        assert_eq!(&out[..], &m[..], "{name}: wrapper inflate");
        assert_eq!(conn_receive(&mut conn, f).as_bytes(), &m[..], "{name}: connection inflate");
    }

    let mut i = 0;
    g.bench_function(BenchmarkId::new(format!("{name}-raw"), &param), |b| {
        b.iter(|| {
            black_box(raw.inflate(black_box(&payloads[i])));
            i = (i + 1) % payloads.len();
        })
    });
    let mut i = 0;
    g.bench_function(BenchmarkId::new(format!("{name}-ext"), &param), |b| {
        b.iter(|| {
            ext_inflate(&mut ext, black_box(&payloads[i]), &mut out);
            black_box(&out);
            i = (i + 1) % payloads.len();
        })
    });
    if case.takeover {
        // As for compress: a wake-up before every message.
        let mut sleepy = extension(backend, true);
        let mut i = 0;
        g.bench_function(BenchmarkId::new(format!("{name}-ext-wake"), &param), |b| {
            b.iter(|| {
                sleepy.hibernate();
                ext_inflate(&mut sleepy, black_box(&payloads[i]), &mut out);
                black_box(&out);
                i = (i + 1) % payloads.len();
            })
        });
    }
    let mut i = 0;
    g.bench_function(BenchmarkId::new(format!("{name}-conn"), &param), |b| {
        b.iter(|| {
            black_box(conn_receive(&mut conn, black_box(&frames[i])));
            i = (i + 1) % frames.len();
        })
    });
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for takeover in [true, false] {
        v.push(Case { size_label: "1KiB", msgs: json_messages(1 << 10, 64, 0x5eed_0001), takeover });
        v.push(Case { size_label: "64KiB", msgs: json_messages(64 << 10, 8, 0x5eed_0002), takeover });
    }
    v
}

fn deflate(c: &mut Criterion) {
    let cases = cases();
    for case in &cases {
        let total: usize = case.msgs.iter().map(Vec::len).sum();
        let mut z = RawCompress::new(Backend::ZlibRs, case.takeover);
        let packed: usize = case.msgs.iter().map(|m| z.compress(m).len()).sum();
        eprintln!(
            "{}: {} messages, mean {} B, zlib-rs level {LEVEL} ratio {:.3}",
            case.param(),
            case.msgs.len(),
            total / case.msgs.len(),
            packed as f64 / total as f64
        );
    }

    let mut g = c.benchmark_group("compress");
    for case in &cases {
        g.throughput(case.throughput());
        for backend in [Backend::Miniz, Backend::ZlibRs] {
            bench_compress(&mut g, case, backend);
        }
    }
    g.finish();

    let mut g = c.benchmark_group("inflate");
    for case in &cases {
        g.throughput(case.throughput());
        // The same compressed input for both backends: zlib-rs, level 1.
        let mut z = RawCompress::new(Backend::ZlibRs, case.takeover);
        let payloads: Vec<Vec<u8>> = case.msgs.iter().map(|m| z.compress(m).to_vec()).collect();
        let frames: Vec<Vec<u8>> = payloads
            .iter()
            .map(|p| {
                let mut f = Vec::new();
                masked_frame(0x1, 0x40, p, MASK_KEY, &mut f);
                f
            })
            .collect();
        for backend in [Backend::Miniz, Backend::ZlibRs] {
            bench_inflate(&mut g, case, backend, &payloads, &frames);
        }
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = deflate
}
criterion_main!(benches);
