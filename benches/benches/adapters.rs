//! Speed as users get it: each library through its public API (`Stream`/`Sink`, `send`/`read`),
//! over the same in-memory stream, in the same run.
//!
//! - **Encode** (`encode_feed`, `encode_send`): unmasked server binary messages of 16 B, 128 B,
//!   1 KiB, 64 KiB and 1 MiB, 256 KiB of payload per iteration (at least one message).
//!   `encode_feed` queues every message and flushes once (`feed` × n + `flush`); `encode_send`
//!   sends them one at a time (`send`, which flushes). Each message is built as users build it:
//!   a `Bytes` clone of the payload wrapped in the library's message type. fastwebsockets has no
//!   queue: its `write_frame` writes each frame, so its rows are the same in both groups. The
//!   stream counts and drops what is written.
//! - **Decode** (`decode`): masked client text frames of the same sizes, read by a server through
//!   `Stream::next` (fastwebsockets: `read_frame`; tungstenite: its blocking `read`). The stream
//!   replays the pre-built frames, at most 64 KiB per read.
//! - **Blocking** (`blocking_send`, `blocking_read`): `wsproto-blocking` against tungstenite's
//!   `WebSocket`, `send` one message at a time and `read`.
//!
//! wsproto runs with `default_config()` (keepalive on, as `connect` and `accept` use it); the
//! peers with their defaults. The async libraries run inside one current-thread tokio runtime
//! (wsproto's keepalive needs its timer); nothing ever waits, so each iteration is one
//! `block_on`.
//!
//! `cargo bench -p wsproto-benches --bench adapters -- --save-baseline a1`, then
//! `python3 benches/report.py a1 a2 a3` for the tables in docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime};
use futures_util::{SinkExt, StreamExt};
use wsproto_benches::{ascii_payload, masked_text_batch};

#[path = "support/mem.rs"]
mod mem;
use mem::Mem;

const SIZES: [usize; 5] = [16, 128, 1 << 10, 64 << 10, 1 << 20];

/// Messages per iteration: 256 KiB of payload, at least one.
fn batch(len: usize) -> usize {
    ((256usize << 10) / len).max(1)
}

fn label(len: usize) -> String {
    match len {
        n if n >= 1 << 20 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

fn throughput(len: usize, n: usize) -> Throughput {
    if len <= 128 { Throughput::Elements(n as u64) } else { Throughput::BytesDecimal((len * n) as u64) }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

type Wsproto = wsproto_tokio::WebSocketStream<Mem>;
type TokioTungstenite = tokio_tungstenite::WebSocketStream<Mem>;
type TokioWebsockets = tokio_websockets::WebSocketStream<Mem>;
type Fastwebsockets = fastwebsockets::WebSocket<Mem>;

fn wsproto_server(input: Vec<u8>) -> Wsproto {
    wsproto_tokio::from_upgraded(Mem::new(input), wsproto_tokio::Role::Server, wsproto_tokio::default_config(), None)
}

fn tokio_tungstenite_server(rt: &tokio::runtime::Runtime, input: Vec<u8>) -> TokioTungstenite {
    rt.block_on(tokio_tungstenite::WebSocketStream::from_raw_socket(Mem::new(input), tungstenite::protocol::Role::Server, None))
}

fn tokio_websockets_server(input: Vec<u8>) -> TokioWebsockets {
    tokio_websockets::ServerBuilder::new().serve(Mem::new(input))
}

fn fastwebsockets_server(input: Vec<u8>) -> Fastwebsockets {
    let mut ws = fastwebsockets::WebSocket::after_handshake(Mem::new(input), fastwebsockets::Role::Server);
    ws.set_writev(true);
    ws
}

// ---------------------------------------------------------------------------------------------
// Encode

/// What one iteration of each library's encoder writes: `n` unmasked binary frames.
fn frame_len(len: usize) -> usize {
    len + match len {
        n if n < 126 => 2,
        n if n <= 0xFFFF => 4,
        _ => 10,
    }
}

fn encode_case(g: &mut BenchmarkGroup<'_, WallTime>, rt: &tokio::runtime::Runtime, len: usize, feed: bool) {
    let n = batch(len);
    let payload = Bytes::from(ascii_payload(len));
    let id = |name: &str| BenchmarkId::new(name, label(len));
    let expected = frame_len(len) * n;
    g.throughput(throughput(len, n));

    let mut ws = wsproto_server(vec![0]);
    let run = |ws: &mut Wsproto| {
        rt.block_on(async {
            for _ in 0..n {
                let m = wsproto_tokio::Message::Binary(black_box(&payload).clone());
                if feed { ws.feed(m).await } else { ws.send(m).await }.expect("wsproto send");
            }
            ws.flush().await.expect("wsproto flush");
        })
    };
    run(&mut ws);
    assert_eq!(ws.get_ref().written, expected, "wsproto wrote a different length");
    g.bench_function(id("wsproto-tokio"), |b| b.iter(|| run(&mut ws)));

    let mut ws = tokio_tungstenite_server(rt, vec![0]);
    let run = |ws: &mut TokioTungstenite| {
        rt.block_on(async {
            for _ in 0..n {
                let m = tungstenite::Message::Binary(black_box(&payload).clone());
                if feed { ws.feed(m).await } else { ws.send(m).await }.expect("tokio-tungstenite send");
            }
            ws.flush().await.expect("tokio-tungstenite flush");
        })
    };
    run(&mut ws);
    assert_eq!(ws.get_ref().written, expected, "tokio-tungstenite wrote a different length");
    g.bench_function(id("tokio-tungstenite"), |b| b.iter(|| run(&mut ws)));

    let mut ws = tokio_websockets_server(vec![0]);
    let run = |ws: &mut TokioWebsockets| {
        rt.block_on(async {
            for _ in 0..n {
                let m = tokio_websockets::Message::binary(black_box(&payload).clone());
                if feed { ws.feed(m).await } else { ws.send(m).await }.expect("tokio-websockets send");
            }
            ws.flush().await.expect("tokio-websockets flush");
        })
    };
    run(&mut ws);
    assert_eq!(ws.get_ref().written, expected, "tokio-websockets wrote a different length");
    g.bench_function(id("tokio-websockets"), |b| b.iter(|| run(&mut ws)));

    let mut ws = fastwebsockets_server(vec![0]);
    let run = |ws: &mut Fastwebsockets| {
        rt.block_on(async {
            for _ in 0..n {
                let f = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(black_box(&payload[..])));
                ws.write_frame(f).await.expect("fastwebsockets write");
            }
        })
    };
    run(&mut ws);
    g.bench_function(id("fastwebsockets"), |b| b.iter(|| run(&mut ws)));
}

fn encode(c: &mut Criterion) {
    let rt = runtime();
    for (group, feed) in [("encode_feed", true), ("encode_send", false)] {
        let mut g = c.benchmark_group(group);
        for len in SIZES {
            encode_case(&mut g, &rt, len, feed);
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Decode

fn decode_case(g: &mut BenchmarkGroup<'_, WallTime>, rt: &tokio::runtime::Runtime, len: usize) {
    let n = batch(len);
    let payload = ascii_payload(len);
    let input = masked_text_batch(&payload, n);
    let id = |name: &str| BenchmarkId::new(name, label(len));
    g.throughput(throughput(len, n));

    let mut ws = wsproto_server(input.clone());
    let run = |ws: &mut Wsproto| {
        rt.block_on(async {
            for _ in 0..n {
                let m = ws.next().await.expect("wsproto: the stream ended").expect("wsproto read");
                assert_eq!(m.len(), len);
                black_box(m);
            }
        })
    };
    run(&mut ws);
    g.bench_function(id("wsproto-tokio"), |b| b.iter(|| run(&mut ws)));

    let mut ws = tokio_tungstenite_server(rt, input.clone());
    let run = |ws: &mut TokioTungstenite| {
        rt.block_on(async {
            for _ in 0..n {
                let m = ws.next().await.expect("tokio-tungstenite: the stream ended").expect("tokio-tungstenite read");
                assert_eq!(m.len(), len);
                black_box(m);
            }
        })
    };
    run(&mut ws);
    g.bench_function(id("tokio-tungstenite"), |b| b.iter(|| run(&mut ws)));

    let mut ws = tokio_websockets_server(input.clone());
    let run = |ws: &mut TokioWebsockets| {
        rt.block_on(async {
            for _ in 0..n {
                let m = ws.next().await.expect("tokio-websockets: the stream ended").expect("tokio-websockets read");
                assert_eq!(m.as_payload().len(), len);
                black_box(m);
            }
        })
    };
    run(&mut ws);
    g.bench_function(id("tokio-websockets"), |b| b.iter(|| run(&mut ws)));

    let mut ws = fastwebsockets_server(input.clone());
    let run = |ws: &mut Fastwebsockets| {
        rt.block_on(async {
            for _ in 0..n {
                let f = ws.read_frame().await.expect("fastwebsockets read");
                assert_eq!(f.payload.len(), len);
                black_box(f);
            }
        })
    };
    run(&mut ws);
    g.bench_function(id("fastwebsockets"), |b| b.iter(|| run(&mut ws)));

    let mut ws = tungstenite::WebSocket::from_raw_socket(Mem::new(input), tungstenite::protocol::Role::Server, None);
    let run = |ws: &mut tungstenite::WebSocket<Mem>| {
        for _ in 0..n {
            let m = ws.read().expect("tungstenite read");
            assert_eq!(m.len(), len);
            black_box(m);
        }
    };
    run(&mut ws);
    g.bench_function(id("tungstenite"), |b| b.iter(|| run(&mut ws)));
}

fn decode(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("decode");
    for len in SIZES {
        decode_case(&mut g, &rt, len);
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Blocking

impl wsproto_blocking::Stream for Mem {}

fn blocking(c: &mut Criterion) {
    let mut g = c.benchmark_group("blocking_send");
    for len in SIZES {
        let n = batch(len);
        let payload = Bytes::from(ascii_payload(len));
        let id = |name: &str| BenchmarkId::new(name, label(len));
        g.throughput(throughput(len, n));

        let mut ws =
            wsproto_blocking::from_upgraded(Mem::new(vec![0]), wsproto_blocking::Role::Server, wsproto_blocking::default_config(), None);
        let run = |ws: &mut wsproto_blocking::WebSocket<Mem>| {
            for _ in 0..n {
                ws.send(wsproto_blocking::Message::Binary(black_box(&payload).clone())).expect("wsproto-blocking send");
            }
        };
        run(&mut ws);
        assert_eq!(ws.get_ref().written, frame_len(len) * n);
        g.bench_function(id("wsproto-blocking"), |b| b.iter(|| run(&mut ws)));

        let mut ws = tungstenite::WebSocket::from_raw_socket(Mem::new(vec![0]), tungstenite::protocol::Role::Server, None);
        let run = |ws: &mut tungstenite::WebSocket<Mem>| {
            for _ in 0..n {
                ws.send(tungstenite::Message::Binary(black_box(&payload).clone())).expect("tungstenite send");
            }
        };
        run(&mut ws);
        assert_eq!(ws.get_ref().written, frame_len(len) * n);
        g.bench_function(id("tungstenite"), |b| b.iter(|| run(&mut ws)));
    }
    g.finish();

    let mut g = c.benchmark_group("blocking_read");
    for len in SIZES {
        let n = batch(len);
        let input = masked_text_batch(&ascii_payload(len), n);
        let id = |name: &str| BenchmarkId::new(name, label(len));
        g.throughput(throughput(len, n));

        let mut ws = wsproto_blocking::from_upgraded(
            Mem::new(input.clone()),
            wsproto_blocking::Role::Server,
            wsproto_blocking::default_config(),
            None,
        );
        let run = |ws: &mut wsproto_blocking::WebSocket<Mem>| {
            for _ in 0..n {
                let m = ws.read().expect("wsproto-blocking read");
                assert_eq!(m.len(), len);
                black_box(m);
            }
        };
        run(&mut ws);
        g.bench_function(id("wsproto-blocking"), |b| b.iter(|| run(&mut ws)));

        let mut ws = tungstenite::WebSocket::from_raw_socket(Mem::new(input), tungstenite::protocol::Role::Server, None);
        let run = |ws: &mut tungstenite::WebSocket<Mem>| {
            for _ in 0..n {
                let m = ws.read().expect("tungstenite read");
                assert_eq!(m.len(), len);
                black_box(m);
            }
        };
        run(&mut ws);
        g.bench_function(id("tungstenite"), |b| b.iter(|| run(&mut ws)));
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = encode, decode, blocking
}
criterion_main!(benches);
