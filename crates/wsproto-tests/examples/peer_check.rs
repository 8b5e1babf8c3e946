//! Our tokio client against a real peer's server: python `websockets` and node `ws` in
//! `scripts/peers.sh`, which starts their servers (`scripts/peers/*`) and runs this against each.
//!
//! ```text
//! peer_check ws://127.0.0.1:PORT --peer NAME --deflate VARIANT --expect PARAMS|none
//! peer_check ws://127.0.0.1:PORT --peer NAME --close-codes
//! peer_check serve PORT
//! ```
//!
//! `serve` is the other direction, for what `wsproto serve` cannot be told to do: a server (with
//! permessage-deflate on, at its defaults) that sends the fragmented messages below at
//! `/fragments`, closes with CODE and the reason "wsproto server closes with CODE" at
//! `/close/CODE`, and echoes elsewhere. It prints "listening on PORT" first (PORT 0: any).
//!
//! The server must echo at `/echo`, send the fragmented messages below at `/fragments`, and close
//! with CODE and the reason "NAME server closes with CODE" at `/close/CODE`. `--expect` is the
//! permessage-deflate response the server must give: its parameters separated by `;` (`""` for
//! none), or `none` when compression must not be negotiated. One line per case, `ok` or `FAIL`;
//! the exit status is 1 if any case failed.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wsproto::deflate::DeflateConfig;
use wsproto_tokio::{Bytes, CloseCode, CloseFrame, Config, Message, MessageKind, WebSocketStream};

const TIMEOUT: Duration = Duration::from_secs(60);
const MIB: usize = 1 << 20;
const SIZES: [usize; 9] = [0, 1, 125, 126, 127, 65535, 65536, MIB, 16 * MIB];
/// Every close code that may be sent (RFC 6455 §7.4.1 and the IANA registry), at both ends of the
/// application ranges.
const CLOSE_CODES: [u16; 16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const VARIANTS: [&str; 7] = [
    "off",
    "default",
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
    "all",
];
const MID_PING: &[u8] = b"mid-message";

/// Our client's permessage-deflate for a variant: off, the defaults, or asking for one parameter
/// (or all four).
fn deflate(variant: &str) -> Option<DeflateConfig> {
    let d = DeflateConfig::default();
    match variant {
        "off" => None,
        "server_no_context_takeover" => Some(d.server_no_context_takeover(true)),
        "client_no_context_takeover" => Some(d.client_no_context_takeover(true)),
        "server_max_window_bits" => Some(d.server_max_window_bits(10)),
        "client_max_window_bits" => Some(d.client_max_window_bits(12)),
        "all" => {
            Some(d.server_no_context_takeover(true).client_no_context_takeover(true).server_max_window_bits(10).client_max_window_bits(12))
        }
        _ => Some(d),
    }
}

fn config(deflate: Option<DeflateConfig>) -> Config {
    // The default limits (the largest message is exactly 16 MiB); keepalive every second, so the
    // peer's pongs are checked all along.
    Config::default().ping_interval(Some(Duration::from_secs(1))).ping_timeout(Some(Duration::from_secs(20))).deflate(deflate)
}

// ---------------------------------------------------------------------------------------------
// Payloads: the same as in scripts/peers/*.

/// Compressible binary: byte i is i * 31 mod 251.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

/// xorshift64*: random enough for payloads, without a dependency.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// The first `n` bytes of UTF-8 `block` (repeated as needed), cut at a character boundary and
/// padded with 'x'.
fn cut(block: &[u8], n: usize) -> String {
    let mut all = Vec::with_capacity(n + block.len());
    while all.len() < n {
        all.extend_from_slice(block);
    }
    let mut end = n.min(all.len());
    while end > 0 && end < all.len() && all[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    all.truncate(end);
    all.resize(n, b'x');
    String::from_utf8(all).expect("cut at a character boundary")
}

struct Payloads {
    /// About 1 MB of random characters, 64 of each UTF-8 length: it repeats further apart than
    /// any deflate window reaches.
    random_block: Vec<u8>,
    compressible_block: Vec<u8>,
    rng: Rng,
}

impl Payloads {
    fn new() -> Payloads {
        let mut rng = Rng::new();
        let chars: Vec<char> = [0x30u32, 0x400, 0x4e00, 0x1f600].iter().flat_map(|&b| (b..b + 64).filter_map(char::from_u32)).collect();
        let random_block: String = rng.bytes(400_000).iter().map(|&b| chars[b as usize]).collect();
        let mut compressible_block = Vec::new();
        let mut i = 0;
        while compressible_block.len() < 16 * MIB + 100 {
            compressible_block
                .extend_from_slice(format!("{{\"seq\":{i},\"user\":\"ada\",\"text\":\"κόσμε — compressible 🦀\"}}\n").as_bytes());
            i += 1;
        }
        Payloads { random_block: random_block.into_bytes(), compressible_block, rng }
    }

    fn message(&mut self, text: bool, compressible: bool, n: usize) -> Message {
        match (text, compressible) {
            (true, true) => Message::text(cut(&self.compressible_block, n)),
            (true, false) => Message::text(cut(&self.random_block, n)),
            (false, true) => Message::binary(pattern(n)),
            (false, false) => Message::binary(self.rng.bytes(n)),
        }
    }
}

const FRAG_TEXT: &str = "fragmented κόσμε — 🦀 text";

/// The fragmented messages: (kind, fragments, a ping after the first fragment).
fn fragmented() -> Vec<(MessageKind, Vec<Bytes>, bool)> {
    let text = FRAG_TEXT.as_bytes().chunks(3).map(Bytes::copy_from_slice).collect(); // splits characters
    let binary = [&b""[..], b"\x00\x01\x02", b"", &[0xff; 200], b""].iter().map(|c| Bytes::copy_from_slice(c)).collect();
    let large = Bytes::from(pattern(MIB + 3));
    let large = (0..large.len()).step_by(65536).map(|i| large.slice(i..large.len().min(i + 65536))).collect();
    vec![(MessageKind::Text, text, false), (MessageKind::Binary, binary, false), (MessageKind::Binary, large, true)]
}

fn whole(kind: MessageKind, fragments: &[Bytes]) -> Message {
    let bytes: Vec<u8> = fragments.concat();
    match kind {
        MessageKind::Text => Message::text(String::from_utf8(bytes).expect("fragments of valid text")),
        MessageKind::Binary => Message::binary(bytes),
    }
}

// ---------------------------------------------------------------------------------------------
// A TCP stream that counts the bytes on the wire, to see compression happen.

#[derive(Debug, Default)]
struct Counters {
    read: AtomicU64,
    written: AtomicU64,
}

#[derive(Debug)]
struct Counted {
    tcp: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.tcp).poll_read(cx, buf);
        self.counters.read.fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        result
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.counters.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        result
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result {
            self.counters.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// A connection under test.

type CaseResult = Result<String, String>;

struct Conn {
    ws: WebSocketStream<Counted>,
    counters: Arc<Counters>,
    extensions: Option<String>,
    pongs: VecDeque<Bytes>,
    pings: Vec<Bytes>,
}

async fn connect(url: &str, config: Config) -> Result<Conn, String> {
    let addr = url.strip_prefix("ws://").and_then(|rest| rest.split('/').next()).ok_or_else(|| format!("not a ws:// URL: {url}"))?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect to {addr}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let counters = Arc::new(Counters::default());
    let stream = Counted { tcp, counters: counters.clone() };
    let (ws, response) = tokio::time::timeout(TIMEOUT, wsproto_tokio::client_async(url, stream, config))
        .await
        .map_err(|_| "the handshake timed out".to_string())?
        .map_err(|e| format!("handshake: {e}"))?;
    let extensions = response.headers().get("sec-websocket-extensions").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Ok(Conn { ws, counters, extensions, pongs: VecDeque::new(), pings: Vec::new() })
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("text of {} B", t.len()),
        Message::Binary(b) => format!("binary of {} B", b.len()),
        Message::Ping(p) => format!("ping {p:?}"),
        Message::Pong(p) => format!("pong {p:?}"),
        Message::Close(f) => format!("close {f:?}"),
        other => format!("{other:?}"),
    }
}

fn same(sent: &Message, got: &Message) -> Result<(), String> {
    let kinds_match = matches!((sent, got), (Message::Text(_), Message::Text(_)) | (Message::Binary(_), Message::Binary(_)));
    if !kinds_match {
        return Err(format!("sent {}, got {}", describe(sent), describe(got)));
    }
    let (a, b) = (sent.payload(), got.payload());
    if a != b {
        let first = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        return Err(format!("sent {}, got {}, first difference at byte {first}", describe(sent), describe(got)));
    }
    Ok(())
}

impl Conn {
    /// The next message of any kind; pings (answered automatically) are noted and skipped.
    async fn next(&mut self, what: &str) -> Result<Message, String> {
        loop {
            let m = tokio::time::timeout(TIMEOUT, self.ws.recv()).await.map_err(|_| format!("timed out waiting for {what}"))?;
            match m {
                None => return Err(format!("the connection ended while waiting for {what}")),
                Some(Err(e)) => return Err(format!("{e}, while waiting for {what}")),
                Some(Ok(Message::Ping(p))) => self.pings.push(p),
                Some(Ok(m)) => return Ok(m),
            }
        }
    }

    /// The next data message; pongs are kept for [`Conn::pong`].
    async fn message(&mut self, what: &str) -> Result<Message, String> {
        loop {
            match self.next(what).await? {
                Message::Pong(p) => self.pongs.push_back(p),
                Message::Close(f) => return Err(format!("the server closed ({f:?}) while waiting for {what}")),
                m => return Ok(m),
            }
        }
    }

    async fn pong(&mut self, what: &str) -> Result<Bytes, String> {
        if let Some(p) = self.pongs.pop_front() {
            return Ok(p);
        }
        match self.next(what).await? {
            Message::Pong(p) => Ok(p),
            other => Err(format!("got {} while waiting for {what}", describe(&other))),
        }
    }

    async fn send(&mut self, m: Message) -> Result<(), String> {
        tokio::time::timeout(TIMEOUT, self.ws.send(m)).await.map_err(|_| "timed out sending".to_string())?.map_err(|e| format!("send: {e}"))
    }

    /// After the closing handshake: the stream must end cleanly.
    async fn expect_end(&mut self) -> Result<(), String> {
        loop {
            match tokio::time::timeout(TIMEOUT, self.ws.recv()).await {
                Err(_) => return Err("timed out waiting for the end of the connection".into()),
                Ok(None) => return Ok(()),
                Ok(Some(Err(e))) => return Err(format!("the connection did not end cleanly: {e}")),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(m))) => return Err(format!("got {} after the closing handshake", describe(&m))),
            }
        }
    }

    /// Sends a close frame and checks the peer's reply carries the same code.
    async fn close(&mut self, code: u16, reason: &str) -> CaseResult {
        self.send(Message::Close(Some(CloseFrame::new(CloseCode(code), reason.to_string())))).await?;
        let reply = loop {
            match self.next(&format!("the reply to close {code}")).await? {
                Message::Close(f) => break f,
                // Echoes and pongs still in flight.
                _ => continue,
            }
        };
        let Some(reply) = reply else { return Err(format!("sent close {code}, the reply has no code")) };
        if reply.code.0 != code {
            return Err(format!("sent close {code} {reason:?}, the reply has code {} ({:?})", reply.code.0, reply.reason.as_str()));
        }
        self.expect_end().await?;
        Ok(format!(": the server's reply has code {} and reason {:?}", reply.code.0, reply.reason.as_str()))
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

/// One case of [`Checker::suite`].
#[derive(Debug)]
enum Step {
    Echo { text: bool, compressible: bool, size: usize },
    Repeat(u32),
    Fragmented(usize),
    Ping(Bytes),
    Close,
}

struct Checker {
    url: String,
    peer: String,
    expect: String,
    failures: usize,
    payloads: Payloads,
}

impl Checker {
    fn ok(&self, context: &str, case: &str, extra: &str) {
        println!("ok   wsproto client → {} server [{context}]: {case}{extra}", self.peer);
    }

    fn fail(&mut self, context: &str, case: &str, why: &str) {
        self.failures += 1;
        println!("FAIL wsproto client → {} server [{context}]: {case}: {why}", self.peer);
    }

    /// Reports a case; returns whether it passed.
    async fn case(&mut self, context: &str, case: &str, run: impl Future<Output = CaseResult>) -> bool {
        match run.await {
            Ok(extra) => {
                self.ok(context, case, &extra);
                true
            }
            Err(why) => {
                self.fail(context, case, &why);
                false
            }
        }
    }

    fn check_handshake(&self, conn: &Conn) -> CaseResult {
        let header = conn.extensions.as_deref();
        let negotiated = conn.ws.is_compressed();
        if self.expect == "none" {
            if header.is_some() || negotiated {
                return Err(format!("expected no permessage-deflate, the response has {header:?}"));
            }
            return Ok(": permessage-deflate not negotiated, as expected".into());
        }
        let normalize = |s: &str| -> Vec<String> {
            let mut v: Vec<String> = s.split(';').map(|p| p.replace([' ', '"'], "")).filter(|p| !p.is_empty()).collect();
            v.sort();
            v
        };
        let want = normalize(&self.expect);
        let Some(header) = header else { return Err(format!("expected permessage-deflate with {want:?}, the response has none")) };
        let (name, params) = header.split_once(';').unwrap_or((header, ""));
        if name.trim() != "permessage-deflate" || normalize(params) != want || !negotiated {
            return Err(format!("expected permessage-deflate with {want:?}, the response has {header:?} (in use: {negotiated})"));
        }
        Ok(format!(": {header}"))
    }

    /// One message and its echo; for large compressible ones, the bytes on the wire show whether
    /// both ends really compressed (or did not, without the extension).
    async fn echo(&self, conn: &mut Conn, message: Message, compressible: bool) -> CaseResult {
        let size = message.payload().len();
        let out0 = conn.counters.written.load(Ordering::Relaxed);
        let in0 = conn.counters.read.load(Ordering::Relaxed);
        conn.send(message.clone()).await?;
        let got = conn.message(&format!("the echo of {}", describe(&message))).await?;
        same(&message, &got)?;
        let out = conn.counters.written.load(Ordering::Relaxed) - out0;
        let back = conn.counters.read.load(Ordering::Relaxed) - in0;
        if compressible && size >= 65536 {
            let half = size as u64 / 2;
            if self.expect != "none" {
                if out >= half {
                    return Err(format!("sent {out} bytes on the wire for {size} compressible bytes: not compressed"));
                }
                if back >= half {
                    return Err(format!("received {back} bytes on the wire for {size} compressible bytes: not compressed"));
                }
            } else if out < size as u64 || back < size as u64 {
                return Err(format!("{out} bytes out, {back} in for {size} bytes without compression"));
            }
        }
        Ok(format!(" (wire: {out} B out, {back} B in)"))
    }

    async fn send_fragmented(conn: &mut Conn, kind: MessageKind, fragments: &[Bytes], ping: bool) -> Result<(), String> {
        for (i, payload) in fragments.iter().enumerate() {
            let last = i + 1 == fragments.len();
            conn.send(Message::Fragment { kind, payload: payload.clone(), first: i == 0, last }).await?;
            if i == 0 && ping {
                conn.send(Message::Ping(Bytes::from_static(MID_PING))).await?;
            }
        }
        Ok(())
    }

    /// Messages of `sizes`, fragments, pings and a close on `/echo`. A failed case drops the
    /// connection; the cases after it run on a new one.
    async fn suite(&mut self, context: &str, deflate: Option<DeflateConfig>, sizes: &[usize]) {
        let mut steps = Vec::new();
        for &size in sizes {
            for text in [true, false] {
                for compressible in [true, false] {
                    steps.push(Step::Echo { text, compressible, size });
                }
            }
        }
        // Context takeover: the same message three times; with takeover, repeats are tiny.
        steps.extend((1..=3).map(Step::Repeat));
        steps.extend((0..fragmented().len()).map(Step::Fragmented));
        let pings: [Bytes; 3] = [Bytes::from("wsproto ping 🦀"), Bytes::new(), (0..125u8).collect::<Vec<u8>>().into()];
        steps.extend(pings.into_iter().map(Step::Ping));
        steps.push(Step::Close);

        let url = format!("{}/echo", self.url);
        let repeated = self.payloads.message(true, true, 4096);
        let probe = self.payloads.message(true, true, 2048);
        let fragmented = fragmented();
        let mut conn: Option<Conn> = None;
        let mut reconnecting = false;
        for step in steps {
            let mut c = match conn.take() {
                Some(c) => c,
                None => {
                    let c = match connect(&url, config(deflate.clone())).await {
                        Ok(c) => c,
                        Err(e) => return self.fail(context, "connect", &e),
                    };
                    // The handshake is reported once; later connections only need to agree.
                    let handshake = self.check_handshake(&c);
                    if !reconnecting {
                        if !self.case(context, "handshake", async { handshake }).await {
                            return;
                        }
                    } else if let Err(e) = handshake {
                        return self.fail(context, "handshake of a new connection after a failure", &e);
                    }
                    reconnecting = true;
                    c
                }
            };
            let (name, result) = match step {
                Step::Echo { text, compressible, size } => {
                    let message = self.payloads.message(text, compressible, size);
                    let kind = if text { "text" } else { "binary" };
                    let what = if compressible { "compressible" } else { "random" };
                    (format!("{kind} {what} {size} B"), self.echo(&mut c, message, compressible).await)
                }
                Step::Repeat(i) => (format!("text compressible 4096 B, repeat {i} of 3"), self.echo(&mut c, repeated.clone(), true).await),
                Step::Fragmented(i) => {
                    let (kind, fragments, ping) = &fragmented[i];
                    let name = match i {
                        0 => "fragmented text, split inside characters".to_string(),
                        1 => "fragmented binary with empty fragments, the last one empty".to_string(),
                        _ => format!("fragmented binary of {} B in 64 KiB fragments, a ping between fragments", MIB + 3),
                    };
                    let result = async {
                        Self::send_fragmented(&mut c, *kind, fragments, *ping).await?;
                        let expected = whole(*kind, fragments);
                        same(&expected, &c.message(&format!("the echo of {}", describe(&expected))).await?)?;
                        if *ping {
                            let pong = c.pong("the pong of the ping sent between fragments").await?;
                            if pong != MID_PING {
                                return Err(format!("pong {pong:?} for ping {:?}", Bytes::from_static(MID_PING)));
                            }
                        }
                        // A compressed stream left in a bad state shows in the next message.
                        self.echo(&mut c, probe.clone(), true).await.map_err(|e| format!("the message after it: {e}"))?;
                        Ok(String::new())
                    }
                    .await;
                    (format!("{name}; the next message is intact"), result)
                }
                Step::Ping(payload) => {
                    let result = async {
                        c.send(Message::Ping(payload.clone())).await?;
                        let pong = c.pong("a pong").await?;
                        if pong != payload {
                            return Err(format!("ping {payload:?} got pong {pong:?}"));
                        }
                        Ok(String::new())
                    }
                    .await;
                    (format!("ping with {} B payload gets a pong with it", payload.len()), result)
                }
                Step::Close => ("close 4000".to_string(), c.close(4000, "wsproto client says bye").await),
            };
            if self.case(context, &name, async { result }).await {
                conn = Some(c);
            }
        }
    }

    /// The fragmented messages the server sends at `/fragments`, with a ping between two fragments.
    async fn fragments_from_server(&mut self, context: &str, deflate: Option<DeflateConfig>) {
        let mut conn = match connect(&format!("{}/fragments", self.url), config(deflate)).await {
            Ok(c) => c,
            Err(e) => return self.fail(context, "connect to /fragments", &e),
        };
        for (kind, fragments, ping) in fragmented() {
            let expected = whole(kind, &fragments);
            let name = format!(
                "receive a {} sent in {} fragments{}",
                describe(&expected),
                fragments.len(),
                if ping { ", a ping between them" } else { "" }
            );
            let result = async {
                same(&expected, &conn.message(&format!("{} in fragments", describe(&expected))).await?)?;
                if ping && !conn.pings.iter().any(|p| p == MID_PING) {
                    return Err(format!("the ping sent between fragments did not arrive (pings: {:?})", conn.pings));
                }
                Ok(String::new())
            }
            .await;
            if !self.case(context, &name, async { result }).await {
                return;
            }
        }
        let result = conn.close(1000, "").await;
        self.case(context, "close 1000", async { result }).await;
    }

    /// Each close code, once sent by us and once by the server.
    async fn close_codes(&mut self) {
        let context = "close codes";
        for code in CLOSE_CODES {
            let result = async {
                let mut conn = connect(&format!("{}/echo", self.url), config(None)).await?;
                let hello = Message::text(format!("about to close with {code}"));
                conn.send(hello.clone()).await?;
                same(&hello, &conn.message("the echo").await?)?;
                conn.close(code, &format!("wsproto client closes with {code}")).await
            }
            .await;
            self.case(context, &format!("we close with {code}"), async { result }).await;
        }
        for code in CLOSE_CODES {
            let reason = format!("{} server closes with {code}", self.peer);
            let result = async {
                let mut conn = connect(&format!("{}/close/{code}", self.url), config(None)).await?;
                let got = loop {
                    match conn.next("the server's close frame").await? {
                        Message::Close(f) => break f,
                        Message::Pong(_) => {}
                        other => return Err(format!("got {} before the close frame", describe(&other))),
                    }
                };
                match got {
                    Some(f) if f.code.0 == code && f.reason.as_str() == reason => {}
                    other => return Err(format!("expected close {code} {reason:?}, got {other:?}")),
                }
                conn.expect_end().await?;
                Ok(format!(": got {code} {reason:?}"))
            }
            .await;
            self.case(context, &format!("the server closes with {code}"), async { result }).await;
        }
    }
}

#[derive(Debug)]
struct Args {
    url: String,
    peer: String,
    deflate: String,
    expect: Option<String>,
    close_codes: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: peer_check ws://HOST:PORT --peer NAME [--deflate VARIANT --expect PARAMS|none] [--close-codes]")?;
    let mut parsed =
        Args { url: url.trim_end_matches('/').to_string(), peer: "peer".into(), deflate: "off".into(), expect: None, close_codes: false };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--peer" => parsed.peer = args.next().ok_or("--peer needs a name")?,
            "--deflate" => parsed.deflate = args.next().ok_or("--deflate needs a variant")?,
            "--expect" => parsed.expect = Some(args.next().ok_or("--expect needs parameters or none")?),
            "--close-codes" => parsed.close_codes = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !VARIANTS.contains(&parsed.deflate.as_str()) {
        return Err(format!("unknown variant {}; one of {VARIANTS:?}", parsed.deflate));
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------------
// The server mode.

async fn serve(port: &str) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("peer_check serve: cannot listen on port {port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {}", addr.port()),
        Err(e) => {
            eprintln!("peer_check serve: {e}");
            return ExitCode::FAILURE;
        }
    }
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            if let Err(e) = serve_one(tcp).await {
                eprintln!("peer_check serve: {e}");
            }
        });
    }
}

async fn serve_one(tcp: TcpStream) -> wsproto_tokio::Result<()> {
    tcp.set_nodelay(true)?;
    let mut path = String::new();
    let config = config(Some(DeflateConfig::default())).ping_interval(None);
    let mut ws = wsproto_tokio::accept_with(tcp, config, |req| {
        path = req.path().to_string();
        Ok(wsproto_tokio::Accept::new())
    })
    .await?;
    if let Some(code) = path.strip_prefix("/close/").and_then(|c| c.parse::<u16>().ok()) {
        return ws.close(Some(CloseFrame::new(CloseCode(code), format!("wsproto server closes with {code}")))).await;
    }
    if path == "/fragments" {
        for (kind, fragments, ping) in fragmented() {
            for (i, payload) in fragments.iter().enumerate() {
                ws.send(Message::Fragment { kind, payload: payload.clone(), first: i == 0, last: i + 1 == fragments.len() }).await?;
                if i == 0 && ping {
                    ws.send(Message::Ping(Bytes::from_static(MID_PING))).await?;
                }
            }
        }
    }
    while let Some(m) = ws.recv().await {
        let m = m?;
        if m.is_data() {
            ws.send(m).await?;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some("serve") {
        return serve(&argv.next().unwrap_or_else(|| "0".into())).await;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("peer_check: {e}");
            return ExitCode::from(2);
        }
    };
    let expect = args.expect.clone().unwrap_or_else(|| if args.deflate == "off" { "none".into() } else { String::new() });
    let mut checker = Checker { url: args.url.clone(), peer: args.peer.clone(), expect, failures: 0, payloads: Payloads::new() };
    if args.close_codes {
        checker.close_codes().await;
    } else {
        let variant = args.deflate.as_str();
        // Asking for the variant's parameters, then (where that differs) offering the defaults,
        // so that the server imposes them.
        checker.suite(&format!("deflate={variant}, we ask for it"), deflate(variant), &SIZES).await;
        if variant != "default" {
            // The same agreement as above, so messages up to 1 MiB are enough.
            let context = format!("deflate={variant}, we offer the defaults");
            checker.suite(&context, Some(DeflateConfig::default()), &SIZES[..SIZES.len() - 1]).await;
        }
        checker.fragments_from_server(&format!("deflate={variant}"), deflate(variant)).await;
    }
    if checker.failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
