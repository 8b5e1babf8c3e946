//! Frame decode and encode throughput: wsproto against tungstenite 0.30, fastwebsockets 0.10 and
//! tokio-websockets 0.13, in the same run, on the same bytes.
//!
//! **Decode** (`decode_ascii`, `decode_utf8`): masked client-to-server TEXT frames of 16 B, 128 B,
//! 1 KiB, 64 KiB and 1 MiB, read by a server. One iteration decodes a batch of
//! `decode_batch_frames(len)` frames (256 KiB of payload; one frame at 1 MiB), so that the per-frame
//! cost shows for small frames. Every library validates UTF-8 (its default). Every library copies
//! the pre-built masked batch into its own input buffer once per iteration, in reads of at most
//! 64 KiB, and unmasks there: wsproto through `Connection::receive`, the peers through an in-memory
//! stream (`Mem`) that replays the batch. Each library picks its read sizes the way its own I/O
//! layer does: the peers ask `Mem` for their buffer's free space; wsproto reads what its adapters
//! read: `read_hint()` (the rest of the frame) reserved in the input buffer, or one 16 KiB stack
//! buffer. `wsproto-64k-reads` instead receives fixed 64 KiB chunks whatever the frame boundaries,
//! without reserving, as a caller that ignores `read_hint()` would. The ASCII payload is
//! printable text; the `utf8` variant (1 KiB and 64 KiB) is about half multi-byte characters,
//! where ASCII fast paths do not apply.
//! Throughput is frames per second for 16 B and 128 B, bytes per second otherwise.
//!
//! **Encode** (`encode`): unmasked server TEXT frames of 16 B (a batch of 64), 1 KiB (8) and
//! 64 KiB (1), with each library's public encoder: wsproto `send_text` then `pending_output` /
//! `advance_output` (the bytes are handed to a black box, as to a socket write); tungstenite
//! `Frame::format` into a reused `Vec`; fastwebsockets `Frame::write` into a reused buffer;
//! tokio-websockets `Sink::feed` + `flush` into a stream that discards. `wsproto-send-bytes` is
//! `Connection::send(Message::Text(..))`, which queues payloads of 4 KiB and more without a copy.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime};
use futures_util::{SinkExt, StreamExt};
use wsproto::{Config, Connection, Event, Instant};
use wsproto_benches::{ascii_payload, decode_batch_frames, masked_text_batch, utf8_payload};

#[path = "support/mem.rs"]
mod mem;
use mem::{Mem, READ, block_now};

fn label(len: usize) -> String {
    match len {
        n if n >= 1 << 20 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

fn throughput(len: usize, frames: usize) -> Throughput {
    if len <= 128 { Throughput::Elements(frames as u64) } else { Throughput::BytesDecimal((len * frames) as u64) }
}

// ---------------------------------------------------------------------------------------------
// Decoders. Each reads `frames` text messages and hands every payload to `black_box`.

/// The smallest read wsproto's adapters make (`wsproto-tokio`, `wsproto-blocking`): below this,
/// they read into a stack buffer of this size; above it, straight into the input buffer.
const STACK_READ: usize = 16 << 10;

/// The most wsproto's adapters reserve in the input buffer for one direct read.
const MAX_DIRECT_READ: usize = 1 << 20;

/// Does what wsproto's adapters do before a read (`wsproto-tokio`'s `poll_read_into`) and returns
/// how many bytes that read asks for: when `read_hint()` (the rest of the current frame, or a
/// default) is more than a stack buffer, reserve it in the input buffer and read into the free
/// space; else read one stack buffer. Never more than the transport gives at once.
fn adapter_read_len(conn: &mut Connection) -> usize {
    let want = conn.read_hint();
    if want > STACK_READ {
        let mut buf = conn.input_buffer();
        buf.reserve(want.min(MAX_DIRECT_READ));
        buf.spare_capacity().min(READ)
    } else {
        STACK_READ
    }
}

/// wsproto's run loop: receive one read's worth of bytes, then drain the events. `read_len`
/// decides the size of each read.
#[inline(never)] // a symbol of its own, for profilers
fn wsproto_decode(
    conn: &mut Connection,
    batch: &[u8],
    frames: usize,
    read_len: impl Fn(&mut Connection) -> usize,
    mut each: impl FnMut(&[u8]),
) {
    let mut seen = 0;
    let mut rest = batch;
    while !rest.is_empty() {
        let (read, tail) = rest.split_at(read_len(conn).min(rest.len()));
        rest = tail;
        conn.receive(read);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(text) => {
                    each(text.as_bytes());
                    black_box(text);
                    seen += 1;
                }
                other => panic!("wsproto: unexpected {other:?}"),
            }
        }
    }
    assert_eq!(seen, frames);
}

#[inline(never)] // a symbol of its own, for profilers
fn tungstenite_decode(ws: &mut tungstenite::WebSocket<Mem>, frames: usize, mut each: impl FnMut(&[u8])) {
    for _ in 0..frames {
        match ws.read().expect("tungstenite read") {
            tungstenite::Message::Text(text) => {
                each(text.as_bytes());
                black_box(text);
            }
            other => panic!("tungstenite: unexpected {other:?}"),
        }
    }
}

#[inline(never)] // a symbol of its own, for profilers
fn fastwebsockets_decode(ws: &mut fastwebsockets::WebSocket<Mem>, frames: usize, mut each: impl FnMut(&[u8])) {
    for _ in 0..frames {
        let frame = block_now(ws.read_frame()).expect("fastwebsockets read");
        assert!(frame.fin && frame.opcode == fastwebsockets::OpCode::Text);
        each(&frame.payload);
        black_box(frame);
    }
}

#[inline(never)] // a symbol of its own, for profilers
fn tokio_websockets_decode(ws: &mut tokio_websockets::WebSocketStream<Mem>, frames: usize, mut each: impl FnMut(&[u8])) {
    for _ in 0..frames {
        let msg = block_now(ws.next()).expect("tokio-websockets: end of stream").expect("tokio-websockets read");
        let text = msg.as_text().expect("tokio-websockets: a text message");
        each(text.as_bytes());
        black_box(msg);
    }
}

fn wsproto_server() -> Connection {
    Connection::upgraded_server(Config::default(), None, Instant::ZERO)
}

fn tungstenite_server(input: Vec<u8>) -> tungstenite::WebSocket<Mem> {
    tungstenite::WebSocket::from_raw_socket(Mem::new(input), tungstenite::protocol::Role::Server, None)
}

fn fastwebsockets_server(input: Vec<u8>) -> fastwebsockets::WebSocket<Mem> {
    fastwebsockets::WebSocket::after_handshake(Mem::new(input), fastwebsockets::Role::Server)
}

fn tokio_websockets_server(input: Vec<u8>) -> tokio_websockets::WebSocketStream<Mem> {
    tokio_websockets::ServerBuilder::new().serve(Mem::new(input))
}

/// Benchmarks decoding one payload with all four libraries, after checking that each of them
/// returns the payload intact for two whole batches.
fn decode_case(g: &mut BenchmarkGroup<'_, WallTime>, payload: &[u8]) {
    let len = payload.len();
    let frames = decode_batch_frames(len);
    let batch = masked_text_batch(payload, frames);
    let check = |got: &[u8]| assert!(got == payload, "a decoder returned a different payload");
    g.throughput(throughput(len, frames));
    let id = |name: &str| BenchmarkId::new(name, label(len));

    let mut conn = wsproto_server();
    for _ in 0..2 {
        wsproto_decode(&mut conn, &batch, frames, adapter_read_len, check);
    }
    g.bench_function(id("wsproto"), |b| b.iter(|| wsproto_decode(&mut conn, black_box(&batch), frames, adapter_read_len, |_| ())));

    let mut conn = wsproto_server();
    for _ in 0..2 {
        wsproto_decode(&mut conn, &batch, frames, |_| READ, check);
    }
    g.bench_function(id("wsproto-64k-reads"), |b| b.iter(|| wsproto_decode(&mut conn, black_box(&batch), frames, |_| READ, |_| ())));

    let mut ws = tungstenite_server(batch.clone());
    for _ in 0..2 {
        tungstenite_decode(&mut ws, frames, check);
    }
    g.bench_function(id("tungstenite"), |b| b.iter(|| tungstenite_decode(&mut ws, frames, |_| ())));

    let mut ws = fastwebsockets_server(batch.clone());
    for _ in 0..2 {
        fastwebsockets_decode(&mut ws, frames, check);
    }
    g.bench_function(id("fastwebsockets"), |b| b.iter(|| fastwebsockets_decode(&mut ws, frames, |_| ())));

    let mut ws = tokio_websockets_server(batch);
    for _ in 0..2 {
        tokio_websockets_decode(&mut ws, frames, check);
    }
    g.bench_function(id("tokio-websockets"), |b| b.iter(|| tokio_websockets_decode(&mut ws, frames, |_| ())));
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_ascii");
    for len in [16, 128, 1 << 10, 64 << 10, 1 << 20] {
        decode_case(&mut g, &ascii_payload(len));
    }
    g.finish();

    let mut g = c.benchmark_group("decode_utf8");
    for len in [1 << 10, 64 << 10] {
        decode_case(&mut g, &utf8_payload(len));
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Encoders.

/// The unmasked server frame that every encoder must produce for `payload`.
fn expected_server_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x81];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n <= 0xFFFF => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

/// Writes out everything a connection has queued, one contiguous chunk at a time, as a socket
/// writer would; the bytes go to `sink`.
fn wsproto_flush(conn: &mut Connection, mut sink: impl FnMut(&[u8])) {
    while conn.output_len() > 0 {
        let chunk = conn.pending_output();
        sink(chunk);
        let n = chunk.len();
        conn.advance_output(n);
    }
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for (len, frames) in [(16usize, 64usize), (1 << 10, 8), (64 << 10, 1)] {
        let payload = ascii_payload(len);
        let text = std::str::from_utf8(&payload).expect("ASCII");
        let bytes = bytes::Bytes::from(payload.clone());
        let expected = expected_server_frame(&payload).repeat(frames);
        let id = |name: &str| BenchmarkId::new(name, label(len));
        g.throughput(throughput(len, frames));

        let mut conn = wsproto_server();
        let mut wire = Vec::new();
        for _ in 0..frames {
            conn.send_text(text).expect("send_text");
        }
        wsproto_flush(&mut conn, |b| wire.extend_from_slice(b));
        assert_eq!(wire, expected, "wsproto send_text");
        g.bench_function(id("wsproto"), |b| {
            b.iter(|| {
                for _ in 0..frames {
                    conn.send_text(black_box(text)).expect("send_text");
                }
                wsproto_flush(&mut conn, |b| {
                    black_box(b);
                });
            })
        });

        let utf8 = wsproto::Utf8Bytes::try_from_bytes(bytes.clone()).expect("ASCII");
        let mut conn = wsproto_server();
        let mut wire = Vec::new();
        for _ in 0..frames {
            conn.send(wsproto::Message::Text(utf8.clone())).expect("send");
        }
        wsproto_flush(&mut conn, |b| wire.extend_from_slice(b));
        assert_eq!(wire, expected, "wsproto send");
        g.bench_function(id("wsproto-send-bytes"), |b| {
            b.iter(|| {
                for _ in 0..frames {
                    conn.send(wsproto::Message::Text(black_box(&utf8).clone())).expect("send");
                }
                wsproto_flush(&mut conn, |b| {
                    black_box(b);
                });
            })
        });

        use tungstenite::protocol::frame::{
            Frame,
            coding::{Data, OpCode},
        };
        let mut out = Vec::with_capacity(expected.len());
        for _ in 0..frames {
            Frame::message(bytes.clone(), OpCode::Data(Data::Text), true).format(&mut out).expect("format");
        }
        assert_eq!(out, expected, "tungstenite Frame::format");
        g.bench_function(id("tungstenite"), |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..frames {
                    Frame::message(black_box(&bytes).clone(), OpCode::Data(Data::Text), true).format(&mut out).expect("format");
                }
                black_box(&out);
            })
        });

        let mut buf = Vec::new();
        let one = expected_server_frame(&payload);
        assert_eq!(fastwebsockets::Frame::text(fastwebsockets::Payload::Borrowed(&payload)).write(&mut buf), &one[..]);
        g.bench_function(id("fastwebsockets"), |b| {
            b.iter(|| {
                for _ in 0..frames {
                    let mut f = fastwebsockets::Frame::text(fastwebsockets::Payload::Borrowed(black_box(&payload)));
                    black_box(f.write(&mut buf));
                }
            })
        });

        let mut ws = tokio_websockets::ServerBuilder::new().serve(Mem::new(vec![0]));
        let send_batch = |ws: &mut tokio_websockets::WebSocketStream<Mem>| {
            block_now(async {
                for _ in 0..frames {
                    ws.feed(tokio_websockets::Message::text(black_box(&bytes).clone())).await.expect("feed");
                }
                ws.flush().await.expect("flush");
            })
        };
        send_batch(&mut ws);
        assert_eq!(ws.get_ref().written, expected.len(), "tokio-websockets wrote a different length");
        g.bench_function(id("tokio-websockets"), |b| b.iter(|| send_batch(&mut ws)));
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = decode, encode
}
criterion_main!(benches);
