//! A deterministic companion to `benches/adapters.rs`, for counting instructions instead of
//! timing: it runs one workload through one library's public API, `n` messages, over the same
//! in-memory stream as the bench, so that `valgrind --tool=callgrind` gives instructions per
//! message and where they go, free of the noise of a shared machine.
//!
//! ```text
//! cargo build --release -p wsproto-benches --example adapters_ir
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/adapters_ir encode_feed wsproto-tokio 16 100000
//! callgrind_annotate --inclusive=yes cg.out | head -40
//! ```
//!
//! Arguments: `encode_feed|encode_send|decode|blocking_read`, the library (`wsproto-tokio`,
//! `fastwebsockets`, `tokio-websockets`, `tungstenite`, `wsproto-blocking`), the message size in
//! bytes, and the number of messages. It prints the messages handled, so that the total count can
//! be divided by it (the set-up before the loop is the same for every `n`: run two `n` and take
//! the difference to cancel it).

use std::hint::black_box;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use wsproto_benches::{ascii_payload, masked_text_batch};

#[path = "../benches/support/mem.rs"]
mod mem;
use mem::Mem;

impl wsproto_blocking::Stream for Mem {}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [work, lib, size, n] = &args[..] else {
        eprintln!("usage: adapters_ir encode_feed|encode_send|decode|blocking_read LIBRARY SIZE COUNT");
        std::process::exit(2);
    };
    let (len, n): (usize, usize) = (size.parse().expect("size"), n.parse().expect("count"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let payload = Bytes::from(ascii_payload(len));
    let handled = match (work.as_str(), lib.as_str()) {
        ("encode_feed" | "encode_send", "wsproto-tokio") => {
            let mut ws =
                wsproto_tokio::from_upgraded(Mem::new(vec![0]), wsproto_tokio::Role::Server, wsproto_tokio::default_config(), None);
            let feed = work == "encode_feed";
            rt.block_on(async {
                for _ in 0..n {
                    let m = wsproto_tokio::Message::Binary(black_box(&payload).clone());
                    if feed { ws.feed(m).await } else { ws.send(m).await }.expect("send");
                }
                ws.flush().await.expect("flush");
            });
            ws.get_ref().written
        }
        ("encode_feed" | "encode_send", "tokio-websockets") => {
            let mut ws = tokio_websockets::ServerBuilder::new().serve(Mem::new(vec![0]));
            let feed = work == "encode_feed";
            rt.block_on(async {
                for _ in 0..n {
                    let m = tokio_websockets::Message::binary(black_box(&payload).clone());
                    if feed { ws.feed(m).await } else { ws.send(m).await }.expect("send");
                }
                ws.flush().await.expect("flush");
            });
            ws.get_ref().written
        }
        ("encode_feed" | "encode_send", "fastwebsockets") => {
            let mut ws = fastwebsockets::WebSocket::after_handshake(Mem::new(vec![0]), fastwebsockets::Role::Server);
            ws.set_writev(true);
            rt.block_on(async {
                for _ in 0..n {
                    let f = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(black_box(&payload[..])));
                    ws.write_frame(f).await.expect("write");
                }
            });
            n
        }
        ("decode", "wsproto-tokio") => {
            let input = masked_text_batch(&payload, n);
            let mut ws = wsproto_tokio::from_upgraded(Mem::new(input), wsproto_tokio::Role::Server, wsproto_tokio::default_config(), None);
            rt.block_on(async {
                for _ in 0..n {
                    black_box(ws.next().await.expect("a message").expect("valid"));
                }
            });
            n
        }
        ("decode", "tokio-websockets") => {
            let input = masked_text_batch(&payload, n);
            let mut ws = tokio_websockets::ServerBuilder::new().serve(Mem::new(input));
            rt.block_on(async {
                for _ in 0..n {
                    black_box(ws.next().await.expect("a message").expect("valid"));
                }
            });
            n
        }
        ("decode" | "blocking_read", "tungstenite") => {
            let input = masked_text_batch(&payload, n);
            let mut ws = tungstenite::WebSocket::from_raw_socket(Mem::new(input), tungstenite::protocol::Role::Server, None);
            for _ in 0..n {
                black_box(ws.read().expect("a message"));
            }
            n
        }
        ("blocking_read", "wsproto-blocking") => {
            let input = masked_text_batch(&payload, n);
            let mut ws =
                wsproto_blocking::from_upgraded(Mem::new(input), wsproto_blocking::Role::Server, wsproto_blocking::default_config(), None);
            for _ in 0..n {
                black_box(ws.read().expect("a message"));
            }
            n
        }
        other => panic!("unknown workload {other:?}"),
    };
    println!("{work} {lib} {len} B: {n} messages ({handled})");
}
