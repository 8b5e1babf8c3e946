//! Hostile input over TCP against the real `wsproto serve` binary.
//!
//! Each attack plays a malicious peer with raw bytes and asserts the RFC's answer (an HTTP status
//! or a close code); after each one, an ordinary client must still be served. The server's peak
//! resident memory (`VmHWM` in /proc) is checked against its configured caps at the end: the
//! attacks declare gigabytes, and the server may hold only megabytes.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use wsproto::deflate::{DeflateConfig, negotiate_server};
use wsproto::handshake::parse_extensions;
use wsproto::{BytesMut, Extension};

const MAX_MESSAGE: usize = 1 << 20;

mod support;
use support::{Server, header, read_frame, read_head, request};

/// Starts the server under attack.
fn start() -> Server {
    Server::start(&["--deflate", "--ping-interval", "0", "--handshake-timeout", "2", "--max-message-size", &MAX_MESSAGE.to_string()])
}

/// What the attacks do with the server.
trait Target {
    fn connect(&self) -> TcpStream;
    fn assert_alive(&self, after: &str);
}

impl Target for Server {
    fn connect(&self) -> TcpStream {
        let tcp = TcpStream::connect(self.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp
    }

    /// An ordinary client is still served: connect to /echo and get an echo back.
    fn assert_alive(&self, after: &str) {
        let (mut ws, _) = wsproto_blocking::connect_with(format!("ws://{}/echo", self.addr), wsproto::Config::default().with_deflate())
            .unwrap_or_else(|e| panic!("after {after}: the server refuses ordinary clients: {e}"));
        ws.send(wsproto::Message::text("still there?")).unwrap();
        assert_eq!(ws.read().unwrap(), wsproto::Message::text("still there?"), "after {after}");
        ws.close(None).unwrap();
    }
}

/// A connection that has done the handshake (with deflate when `deflate`).
fn open(server: &Server, deflate: bool) -> TcpStream {
    let mut tcp = server.connect();
    let ext = if deflate { "Sec-WebSocket-Extensions: permessage-deflate\r\n" } else { "" };
    tcp.write_all(request(ext).as_bytes()).unwrap();
    let head = read_head(&mut tcp);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(head.contains("permessage-deflate"), deflate, "{head}");
    tcp
}

/// Reads frames until a close frame, and returns its code; skips data frames that came first.
fn read_close_code(tcp: &mut TcpStream) -> u16 {
    loop {
        let (b0, payload) = read_frame(tcp);
        if b0 & 0x0F == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

/// Writes as much of `bytes` as the server takes before it closes the connection.
fn write_until_closed(tcp: &mut TcpStream, bytes: &[u8]) {
    for chunk in bytes.chunks(16 << 10) {
        if tcp.write_all(chunk).is_err() {
            return;
        }
    }
}

#[test]
fn hostile_clients_get_the_rfc_answer_and_cannot_take_the_server_down() {
    let server = start();
    server.assert_alive("start-up");
    let (baseline, _) = server.rss_kib();

    // Header flood: 3,000 headers.
    let mut tcp = server.connect();
    let mut flood = String::from("GET /echo HTTP/1.1\r\n");
    for i in 0..3000 {
        flood.push_str(&format!("X-Flood-{i}: y\r\n"));
    }
    write_until_closed(&mut tcp, flood.as_bytes());
    assert!(read_head(&mut tcp).starts_with("HTTP/1.1 431"), "3,000 headers");
    server.assert_alive("a header flood");

    // A 1 MB header line in small pieces: refused at the 8 KiB line limit.
    let mut tcp = server.connect();
    tcp.write_all(b"GET /echo HTTP/1.1\r\nX-Long: ").unwrap();
    let piece = [b'a'; 512];
    let mut sent = 0;
    while sent < 1 << 20 {
        if tcp.write_all(&piece).is_err() {
            break;
        }
        sent += piece.len();
        if sent == 16 << 10 {
            // The answer is already there long before the megabyte is.
            assert!(read_head(&mut tcp).starts_with("HTTP/1.1 431"), "a 1 MB header line");
            break;
        }
    }
    server.assert_alive("a 1 MB header line");

    // Protocol and extension values shaped like the inputs that hit regex-based parsers.
    for extra in [
        format!("Sec-WebSocket-Protocol: {}\r\n", "a,".repeat(3000)),
        format!("Sec-WebSocket-Protocol: {}\r\n", " ,".repeat(3000)),
        format!("Sec-WebSocket-Extensions: permessage-deflate{}\r\n", "; x".repeat(2000)),
        format!("Sec-WebSocket-Extensions: {}\r\n", "permessage-deflate,".repeat(400)),
        format!("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"{}\r\n", "\\\"".repeat(3000)),
    ] {
        let mut tcp = server.connect();
        tcp.write_all(request(&extra).as_bytes()).unwrap();
        let head = read_head(&mut tcp);
        assert!(head.starts_with("HTTP/1.1 101") || head.starts_with("HTTP/1.1 400"), "{:.60}: {head}", extra);
    }
    server.assert_alive("ReDoS-shaped header values");

    // A 64-bit length with its top bit set: 1002 before any payload.
    let mut tcp = open(&server, false);
    let mut h = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
    h.extend_from_slice(&[0, 0, 0, 0]);
    tcp.write_all(&h).unwrap();
    assert_eq!(read_close_code(&mut tcp), 1002, "64-bit length with the top bit set");

    // A declared length of 1 GiB: 1009 from the header alone.
    let mut tcp = open(&server, false);
    tcp.write_all(&header(0x82, 1 << 30)).unwrap();
    assert_eq!(read_close_code(&mut tcp), 1009, "a 1 GiB declared length");
    server.assert_alive("huge declared lengths");

    // Endless one-byte fragments: 1009 once the message passes its cap.
    let mut tcp = open(&server, false);
    let mut frames = header(0x02, 1);
    frames.push(b'x');
    let mut frag = header(0x00, 1);
    frag.push(b'x');
    for _ in 0..MAX_MESSAGE + 16 {
        frames.extend_from_slice(&frag);
    }
    write_until_closed(&mut tcp, &frames);
    assert_eq!(read_close_code(&mut tcp), 1009, "endless one-byte fragments");
    server.assert_alive("endless fragments");

    // A deflate bomb: 64 MiB of zeros in about 64 KiB.
    let offers = parse_extensions([&b"permessage-deflate"[..]]).unwrap();
    let (_, mut ext) = negotiate_server(&DeflateConfig::default().level(9), &offers).unwrap();
    assert_ne!(ext.begin_encode(Some(64 << 20)), 0);
    let mut bomb = BytesMut::new();
    ext.encode(&vec![0u8; 64 << 20], true, &mut bomb).unwrap();
    assert!(bomb.len() < MAX_MESSAGE / 8, "{}", bomb.len());
    let mut tcp = open(&server, true);
    let mut frame = header(0xC2, bomb.len() as u64);
    frame.extend_from_slice(&bomb);
    write_until_closed(&mut tcp, &frame);
    assert_eq!(read_close_code(&mut tcp), 1009, "a deflate bomb");
    server.assert_alive("a deflate bomb");

    // A ping flood from a peer that never reads: 200,000 pings of 125 bytes, 26 MB.
    let mut tcp = open(&server, false);
    let mut ping = header(0x89, 125);
    ping.extend_from_slice(&[0x55; 125]);
    let flood: Vec<u8> = ping.iter().copied().cycle().take(ping.len() * 1000).collect();
    tcp.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    for _ in 0..200 {
        if let Err(e) = tcp.write_all(&flood) {
            // The server may stop reading once its answers pile up; that is its right.
            assert!(matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{e}");
            break;
        }
    }
    server.assert_alive("a ping flood");
    drop(tcp);

    // Slowloris: 200 handshakes that never finish, each dropped at the handshake timeout.
    let mut lorises: Vec<TcpStream> = (0..200).map(|_| server.connect()).collect();
    for tcp in &mut lorises {
        tcp.write_all(b"GET /echo HTTP/1.1\r\nHost: h\r\n").unwrap();
    }
    server.assert_alive("200 slow handshakes in progress");
    std::thread::sleep(Duration::from_secs(3));
    for tcp in &mut lorises {
        let mut b = [0u8; 1];
        // The server (--handshake-timeout 2) gave up on them a second ago: end of file or a
        // reset, at once. A read that times out means the server still holds the connection.
        tcp.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let read = tcp.read(&mut b);
        assert!(
            matches!(&read, Ok(0)) || matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "a slow handshake past the timeout is dropped, got {read:?}"
        );
    }
    drop(lorises);

    // End of file inside a header, and inside a payload.
    let mut tcp = server.connect();
    tcp.write_all(b"GET /echo HTTP/1.1\r\nHost: h\r\nUpgr").unwrap();
    drop(tcp);
    let mut tcp = open(&server, false);
    let mut partial = header(0x82, 1000);
    partial.extend_from_slice(&[7u8; 10]);
    tcp.write_all(&partial).unwrap();
    drop(tcp);
    server.assert_alive("end of file inside a header and a payload");

    // Memory: the attacks declared gigabytes; the server's caps allow megabytes.
    let (now, peak) = server.rss_kib();
    let grew = peak.saturating_sub(baseline);
    eprintln!("server RSS: baseline {baseline} KiB, peak {peak} KiB (+{grew} KiB), now {now} KiB");
    assert!(grew < 24 << 10, "peak RSS grew by {grew} KiB under attack; caps are a 1 MiB message and 16 KiB handshakes");
}
