//! The `wsproto serve` process that the CLI's integration tests talk to.

#![allow(dead_code)] // each test binary uses its own part

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// `wsproto serve` on a free port of 127.0.0.1; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `wsproto -q serve 127.0.0.1:0 ARGS...` and waits for the address it prints.
    pub(crate) fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsproto"))
            .args(["-q", "serve", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wsproto serve");
        let mut line = Vec::new();
        let mut out = child.stdout.take().unwrap();
        let mut b = [0u8; 1];
        while out.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        let line = String::from_utf8(line).unwrap();
        let addr = line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).expect(&line).parse().unwrap();
        Server { child, addr }
    }

    /// Kills the process at once (SIGKILL: no close frames, no goodbye to anyone).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `ws://ADDR/echo`.
    pub(crate) fn echo_url(&self) -> String {
        format!("ws://{}/echo", self.addr)
    }

    /// Resident memory now and at its peak, in KiB.
    pub(crate) fn rss_kib(&self) -> (usize, usize) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| -> usize {
            status.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()).unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// An opening handshake for `/echo`, with `extra` header lines.
pub(crate) fn request(extra: &str) -> String {
    format!(
        "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Reads an HTTP response head, up to and including its blank line.
pub(crate) fn read_head(tcp: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A masked client frame header (the payload is masked with a zero key, so it is sent as is).
pub(crate) fn header(b0: u8, len: u64) -> Vec<u8> {
    let mut h = vec![b0];
    if len < 126 {
        h.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        h.push(0x80 | 126);
        h.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        h.push(0x80 | 127);
        h.extend_from_slice(&len.to_be_bytes());
    }
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

/// Reads one unmasked server frame: its first byte (FIN, RSV, opcode) and its payload.
pub(crate) fn read_frame(tcp: &mut impl Read) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    tcp.read_exact(&mut h).expect("a frame");
    let mut len = u64::from(h[1] & 0x7F);
    if len == 126 {
        let mut l = [0u8; 2];
        tcp.read_exact(&mut l).unwrap();
        len = u64::from(u16::from_be_bytes(l));
    } else if len == 127 {
        let mut l = [0u8; 8];
        tcp.read_exact(&mut l).unwrap();
        len = u64::from_be_bytes(l);
    }
    let mut payload = vec![0u8; len as usize];
    tcp.read_exact(&mut payload).unwrap();
    (h[0], payload)
}
