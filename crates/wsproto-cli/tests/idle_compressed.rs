//! Thousands of idle compressed connections against the real `wsproto serve` (permessage-deflate
//! with context takeover both ways, its defaults): once they have been quiet past the hibernation
//! delay, the server's RSS has grown by at most 16 KiB per connection, whether a client sent one
//! 1 KiB JSON message or a stream of tiny compressed ones, or one large message that fills the
//! window. Clients are raw sockets, so nothing but the server is measured.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use support::{Server, header, read_frame, read_head, request};
use wsproto::deflate::{DeflateConfig, negotiate_server};
use wsproto::handshake::parse_extensions;
use wsproto::{BytesMut, Extension};

const KIB: usize = 1024;

/// The open file limit of this process: the connections must fit in it twice (ours and the
/// server's, which inherits it), with room to spare.
fn fd_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// The frames a client sends for `messages`, compressed as one connection would (context
/// takeover), masked with a zero key. Every connection sends the same bytes.
fn compressed_frames(messages: &[Vec<u8>]) -> Vec<u8> {
    let offers = parse_extensions([b"permessage-deflate".as_slice()]).unwrap();
    // A compressor with the client's parameters: window 15, context kept.
    let (_, mut ext) = negotiate_server(&DeflateConfig::default().min_compress_size(0), &offers).unwrap();
    let mut wire = Vec::new();
    for m in messages {
        assert_ne!(ext.begin_encode(Some(m.len())), 0);
        let mut out = BytesMut::new();
        ext.encode(m, true, &mut out).unwrap();
        wire.extend_from_slice(&header(0xC1, out.len() as u64)); // FIN, RSV1, text
        wire.extend_from_slice(&out);
    }
    wire
}

/// A JSON chat message of about 1 KiB.
fn chat_message(i: usize) -> Vec<u8> {
    let words = ["hello", "lunch", "today", "deploy", "review", "thanks", "see", "you", "soon", "room"];
    let text: Vec<&str> = (0..150).map(|k| words[(i * 7 + k * 3) % words.len()]).collect();
    format!("{{\"type\":\"message\",\"room\":\"lobby\",\"from\":\"user{i}\",\"text\":\"{}\"}}", text.join(" ")).into_bytes()
}

/// Text that does not compress: the window fills with 32 KiB of it.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            b'!' + (x % 90) as u8
        })
        .collect()
}

#[test]
fn idle_compressed_connections_cost_at_most_16_kib_each() {
    // The server hibernates after 1 s (its default) and returns freed pages every 2 s.
    let server = Server::start(&["--ping-interval", "0"]);
    let n = 10_000.min(fd_limit().saturating_sub(200) / 2);
    assert!(n >= 1000, "this test needs at least 2,200 open files (ulimit -n), has {}", fd_limit());
    let chat = compressed_frames(&[chat_message(1)]);
    let tiny: Vec<Vec<u8>> = (0..100).map(|i| format!("m{i}").into_bytes()).collect();
    let tiny = compressed_frames(&tiny);
    let big = compressed_frames(&[noise(40 * KIB)]);
    std::thread::sleep(Duration::from_millis(300));
    let (baseline, _) = server.rss_kib();

    let mut open = Vec::with_capacity(n);
    for i in 0..n {
        let mut tcp = TcpStream::connect(server.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        tcp.write_all(request("Sec-WebSocket-Extensions: permessage-deflate\r\n").as_bytes()).unwrap();
        let head = read_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.1 101") && head.contains("permessage-deflate"), "{head}");
        // Most send one chat message; one in ten sends a hundred tiny ones, one in a hundred a
        // message that fills the whole window.
        let (wire, echoes) = match i % 100 {
            0 => (&big, 1),
            k if k % 10 == 1 => (&tiny, 100),
            _ => (&chat, 1),
        };
        tcp.write_all(wire).unwrap();
        for _ in 0..echoes {
            read_frame(&mut tcp);
        }
        open.push(tcp);
    }
    // Quiet past the hibernation delay and the next trim.
    std::thread::sleep(Duration::from_millis(3500));
    let (now, peak) = server.rss_kib();
    let per_connection = (now.saturating_sub(baseline)) as f64 / n as f64;
    eprintln!("{n} idle compressed connections: RSS {baseline} KiB before, {now} KiB idle, peak {peak} KiB: {per_connection:.1} KiB each");
    assert!(per_connection <= 16.0, "{per_connection:.1} KiB per idle compressed connection");
    // They are all still open and answer.
    for tcp in open.iter_mut().step_by(997) {
        tcp.write_all(&chat).unwrap_or_else(|e| panic!("a connection was dropped: {e}"));
    }
    for tcp in open.iter_mut().step_by(997) {
        read_frame(tcp);
    }
}
