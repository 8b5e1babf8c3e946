//! permessage-deflate on a chat workload: how small, and how fast.
//!
//! The workload is `wsproto_benches::chat_messages`: JSON events of 50 B to 2 KiB, 300 per
//! connection, 20 connections, each with its own compression context (context takeover).
//!
//! ```text
//! chat_compression local
//! chat_compression NAME=ws://HOST:PORT/PATH ...
//! ```
//!
//! - `local`: wsproto's own extension in process, at the default settings and at others: the
//!   compressed size (payload bytes, as on the wire) over the original, and compress and inflate
//!   throughput in MB/s of original JSON.
//! - `NAME=URL`: against echo servers that are running (`scripts/chat_compression.sh` starts
//!   `wsproto serve`, Python `websockets` and Node `ws`, each with its defaults): the client offers
//!   permessage-deflate as browsers do, sends every message, reads each echo, and counts the bytes
//!   the server sent back on the socket (frame headers included) over the original JSON; and the
//!   round trips per second over the 20 connections at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use wsproto::Extension;
use wsproto::deflate::{DeflateConfig, DeflateExtension, negotiate_server};
use wsproto::handshake::parse_extensions;
use wsproto_benches::chat_messages;

const CONNECTIONS: usize = 20;
const PER_CONNECTION: usize = 300;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("local") => local(),
        Some(_) => {
            println!("| server | wire bytes / JSON bytes | round trips/s ({CONNECTIONS} connections) |");
            println!("|---|---:|---:|");
            for arg in &args {
                let (name, url) = arg.split_once('=').expect("NAME=URL");
                let (ratio, rate) = remote(url);
                println!("| {name} | {ratio:.3} | {rate:.0} |");
            }
        }
        None => {
            eprintln!("usage: chat_compression local | NAME=URL ...");
            std::process::exit(2);
        }
    }
}

/// Each connection's messages: the same workload, a different seed per connection.
fn workload() -> Vec<Vec<Vec<u8>>> {
    (0..CONNECTIONS).map(|c| chat_messages(PER_CONNECTION, 0xc4a7_0000 + c as u64)).collect()
}

/// The server's extension for `cfg`, negotiated from a browser's offer.
fn server_extension(cfg: &DeflateConfig) -> DeflateExtension {
    let offers = parse_extensions([b"permessage-deflate; client_max_window_bits".as_slice()]).expect("offer");
    negotiate_server(cfg, &offers).expect("negotiated").1
}

fn local() {
    let conns = workload();
    let total: usize = conns.iter().flatten().map(Vec::len).sum();
    println!("| settings | compressed / original | compress MB/s | inflate MB/s |");
    println!("|---|---:|---:|---:|");
    let settings = [
        ("level 1, window 15 bits, memory level 8", 1, 15, 8),
        ("level 1, window 12, memory level 8", 1, 12, 8),
        ("level 2, window 15, memory level 8", 2, 15, 8),
        ("level 3, window 15, memory level 8 (wsproto's default)", 3, 15, 8),
        ("level 4, window 15, memory level 8", 4, 15, 8),
        ("level 5, window 15, memory level 8", 5, 15, 8),
        ("level 6, window 15, memory level 8", 6, 15, 8),
        ("level 6, window 12, memory level 5 (Python websockets' default)", 6, 12, 5),
        ("level 9, window 15, memory level 9", 9, 15, 9),
    ];
    for (label, level, bits, mem) in settings {
        let cfg = DeflateConfig::default().level(level).server_max_window_bits(bits).memory_level(mem).min_compress_size(0);
        // Compress every connection's messages, keeping the payloads for the inflate pass.
        let started = Instant::now();
        let mut packed: Vec<Vec<BytesMut>> = Vec::with_capacity(CONNECTIONS);
        for msgs in &conns {
            let mut ext = server_extension(&cfg);
            packed.push(
                msgs.iter()
                    .map(|m| {
                        assert_ne!(ext.begin_encode(Some(m.len())), 0);
                        let mut out = BytesMut::new();
                        ext.encode(m, true, &mut out).expect("encode");
                        out
                    })
                    .collect(),
            );
        }
        let compress = started.elapsed();
        let size: usize = packed.iter().flatten().map(BytesMut::len).sum();
        let started = Instant::now();
        for (msgs, payloads) in conns.iter().zip(&packed) {
            let mut ext = server_extension(&DeflateConfig::default());
            for (m, p) in msgs.iter().zip(payloads) {
                let mut out = BytesMut::new();
                ext.decode(p, &mut out, usize::MAX).expect("inflate");
                ext.finish_decode(&mut out, usize::MAX).expect("inflate");
                assert_eq!(&out[..], &m[..]);
            }
        }
        let inflate = started.elapsed();
        let mbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e6;
        println!("| {label} | {:.3} | {:.0} | {:.0} |", size as f64 / total as f64, mbps(compress), mbps(inflate));
    }
}

/// A TCP stream that counts the bytes it reads.
struct Counting {
    tcp: TcpStream,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

impl wsproto_blocking::Stream for Counting {}

/// The wire-to-JSON ratio of what the server at `url` echoes, and round trips per second.
fn remote(url: &str) -> (f64, f64) {
    let conns = workload();
    let total: usize = conns.iter().flatten().map(Vec::len).sum();
    let host = url.trim_start_matches("ws://").split('/').next().expect("host").to_string();
    let started = Instant::now();
    let wire: u64 = std::thread::scope(|s| {
        let threads: Vec<_> = conns
            .iter()
            .map(|msgs| {
                let host = &host;
                s.spawn(move || {
                    let read = Arc::new(AtomicU64::new(0));
                    let tcp = TcpStream::connect(host.as_str()).expect("connect");
                    tcp.set_nodelay(true).expect("nodelay");
                    let stream = Counting { tcp, read: read.clone() };
                    let config = wsproto_blocking::default_config().with_deflate();
                    let (mut ws, _) = wsproto_blocking::client(url, stream, config).expect("handshake");
                    assert!(ws.is_compressed(), "{url} did not negotiate permessage-deflate");
                    let after_handshake = read.load(Ordering::Relaxed);
                    for m in msgs {
                        let text = String::from_utf8(m.clone()).expect("JSON is text");
                        ws.send(wsproto_blocking::Message::text(text)).expect("send");
                        // Skip the server's keepalive pings (and our pongs' echoes).
                        let echo = loop {
                            let msg = ws.read().expect("echo");
                            if msg.is_text() || msg.is_binary() {
                                break msg;
                            }
                        };
                        assert!(echo.into_data()[..] == m[..], "{url} echoed something else");
                    }
                    let wire = read.load(Ordering::Relaxed) - after_handshake;
                    let _ = ws.close(None);
                    wire
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("a connection failed")).sum()
    });
    let elapsed = started.elapsed().as_secs_f64();
    (wire as f64 / total as f64, (CONNECTIONS * PER_CONNECTION) as f64 / elapsed)
}
