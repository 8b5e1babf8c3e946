//! The clients and the delay relay of `scripts/faults.sh`, which runs them in network namespaces
//! against `wsproto serve`. Each client mode takes `--adapter tokio|smol|blocking`, so the same
//! checks run through all three client adapters.
//!
//! ```text
//! netfault relay LISTEN UPSTREAM --delay-ms D --jitter-ms J
//! netfault echo URL --adapter A [--deflate] [--messages N] [--min B] [--max B] [--window B]
//! netfault hold URL --adapter A --ping-interval S --ping-timeout S
//! netfault close URL --adapter A --close-timeout S
//! netfault flood URL --adapter tokio|smol [--megabytes M]
//! ```
//!
//! - `relay` passes TCP through, holding every chunk it reads for D ms ± J ms (uniform) before
//!   writing it on, in order: the delay and jitter a kernel without `netem` cannot add.
//! - `echo` sends N messages (sizes log-uniform between the bounds, every fourth one text, the
//!   rest binary) with at most B bytes awaiting their echo, checks that every echo is the message
//!   sent, in order, and prints throughput and latency. Exit status 1 on any difference or error.
//! - `hold` echoes one message, prints `ready`, then reads until the connection fails: it must be
//!   the keepalive that ends it (exit 0), or the exit status is 1.
//! - `close` echoes one message, prints `ready`, waits for a line on its input, then closes: it
//!   must be the close timeout that ends the wait (exit 0), or the exit status is 1.
//! - `flood` sends M MiB of 64 KiB messages without reading, until the server's backpressure
//!   stops it: it prints `stalled after N bytes` once nothing has moved for 2 s, waits for a line
//!   on its input, then reads every echo and checks it (printing `all N echoes intact`). Blocking
//!   has no such mode: one thread cannot write and read at once.

use futures_util::future::join;
use std::collections::VecDeque;
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wsproto::deflate::DeflateConfig;
use wsproto_io::{Config, Error, Message, Runtime, Transport};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("relay") => relay::run(&args[1..]),
        Some("echo") => echo(&Args::parse(&args[1..])),
        Some("hold") => hold(&Args::parse(&args[1..])),
        Some("close") => close(&Args::parse(&args[1..])),
        Some("flood") => flood(&Args::parse(&args[1..])),
        _ => Err("usage: netfault relay|echo|hold|close|flood ... (see the source's header)".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netfault: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

type Outcome = Result<(), String>;

/// The client modes' options.
struct Args {
    url: String,
    adapter: String,
    deflate: bool,
    messages: u64,
    min: usize,
    max: usize,
    window: usize,
    megabytes: usize,
    ping_interval: u64,
    ping_timeout: u64,
    close_timeout: u64,
}

impl Args {
    fn parse(args: &[String]) -> Args {
        let mut a = Args {
            url: args.first().cloned().unwrap_or_default(),
            adapter: "tokio".into(),
            deflate: false,
            messages: 10_000,
            min: 20,
            max: 256 << 10,
            window: 1 << 20,
            megabytes: 16,
            ping_interval: 0,
            ping_timeout: 0,
            close_timeout: 10,
        };
        let mut rest = args.iter().skip(1);
        while let Some(flag) = rest.next() {
            if flag == "--deflate" {
                a.deflate = true;
                continue;
            }
            let value = rest.next().unwrap_or_else(|| panic!("{flag} needs a value"));
            let number = || value.parse::<u64>().unwrap_or_else(|_| panic!("{flag}: not a number: {value}"));
            match flag.as_str() {
                "--adapter" => a.adapter = value.clone(),
                "--messages" => a.messages = number(),
                "--min" => a.min = number() as usize,
                "--max" => a.max = number() as usize,
                "--window" => a.window = number() as usize,
                "--megabytes" => a.megabytes = number() as usize,
                "--ping-interval" => a.ping_interval = number(),
                "--ping-timeout" => a.ping_timeout = number(),
                "--close-timeout" => a.close_timeout = number(),
                _ => panic!("unknown option {flag}"),
            }
        }
        a
    }

    fn config(&self) -> Config {
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Config::default()
            .ping_interval(seconds(self.ping_interval))
            .ping_timeout(seconds(self.ping_timeout))
            .close_timeout(seconds(self.close_timeout))
            .deflate(self.deflate.then(DeflateConfig::default))
    }
}

// ---------------------------------------------------------------------------------------------
// The messages: reproducible from their index, so the checker needs no copy of what was sent.

/// splitmix64: a good enough stream of numbers from a seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const WORDS: [&str; 16] = [
    "price ", "quote ", "order ", "cursor ", "room ", "player ", "delta ", "tick ", "frame ", "alice ", "bob ", "42 ", "3.14 ", "{\"id\":",
    "},", "\n",
];

/// Message `i`: its index first, then words picked at random (compressible, as real traffic is),
/// `size` bytes in all; text when `i` is a multiple of 4.
fn message(i: u64, min: usize, max: usize) -> Message {
    let r = mix(i);
    let (lo, hi) = ((min.max(20) as f64).ln(), (max.max(min).max(20) as f64).ln());
    let size = (lo + (hi - lo) * ((r >> 11) as f64 / (1u64 << 53) as f64)).exp() as usize;
    let mut body = format!("{i:019} ").into_bytes();
    let mut state = r;
    while body.len() < size {
        state = mix(state);
        for k in 0..8 {
            body.extend_from_slice(WORDS[((state >> (k * 4)) & 15) as usize].as_bytes());
        }
    }
    body.truncate(size.max(20));
    if i & 3 == 0 { Message::text(String::from_utf8(body).expect("ASCII")) } else { Message::binary(body) }
}

/// A tokio runtime on this thread, for the tokio client modes.
fn current_thread() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// One client interface over the three adapters, as a user of each would drive it.

enum Client {
    Tokio(tokio::runtime::Runtime, wsproto_tokio::WebSocketStream<wsproto_tokio::ClientStream>),
    Smol(wsproto_smol::WebSocketStream<wsproto_smol::ClientStream>),
    Blocking(wsproto_blocking::WebSocket<wsproto_blocking::ClientStream>),
}

impl Client {
    fn connect(args: &Args) -> Result<Client, String> {
        let config = args.config();
        let url = args.url.as_str();
        let failed = |e: Error| format!("connecting to {url} with {}: {e}", args.adapter);
        Ok(match args.adapter.as_str() {
            "tokio" => {
                let rt = current_thread()?;
                let (ws, _) = rt.block_on(wsproto_tokio::connect_with(url, config)).map_err(failed)?;
                Client::Tokio(rt, ws)
            }
            "smol" => Client::Smol(smol::block_on(wsproto_smol::connect_with(url, config)).map_err(failed)?.0),
            "blocking" => Client::Blocking(wsproto_blocking::connect_with(url, config).map_err(failed)?.0),
            other => return Err(format!("unknown adapter {other}")),
        })
    }

    fn send(&mut self, m: Message) -> Result<(), Error> {
        match self {
            Client::Tokio(rt, ws) => rt.block_on(ws.send(m)),
            Client::Smol(ws) => smol::block_on(ws.send(m)),
            Client::Blocking(ws) => ws.send(m),
        }
    }

    /// The next data message; `Ok(None)` when the connection ended cleanly.
    fn recv(&mut self) -> Result<Option<Message>, Error> {
        loop {
            let next = match self {
                Client::Tokio(rt, ws) => rt.block_on(ws.recv()).transpose(),
                Client::Smol(ws) => smol::block_on(ws.recv()).transpose(),
                Client::Blocking(ws) => match ws.read() {
                    Err(Error::ConnectionClosed) => Ok(None),
                    other => other.map(Some),
                },
            }?;
            match next {
                Some(Message::Text(_) | Message::Binary(_)) | None => return Ok(next),
                Some(_) => {} // pings (answered already), pongs and the peer's close frame
            }
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        match self {
            Client::Tokio(rt, ws) => rt.block_on(ws.close(None)),
            Client::Smol(ws) => smol::block_on(ws.close(None)),
            Client::Blocking(ws) => ws.close(None),
        }
    }

    /// Sends one message and waits for its echo.
    fn echo_once(&mut self) -> Outcome {
        let m = message(0, 20, 100);
        self.send(m.clone()).map_err(|e| e.to_string())?;
        match self.recv().map_err(|e| e.to_string())? {
            Some(echo) if echo == m => Ok(()),
            other => Err(format!("the first echo was {other:?}")),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn echo(args: &Args) -> Outcome {
    let mut client = Client::connect(args)?;
    let start = Instant::now();
    let (mut next, mut received, mut bytes) = (0u64, 0u64, 0usize);
    let mut in_flight: VecDeque<(Instant, usize)> = VecDeque::new();
    let mut waiting = 0usize;
    let mut latencies = Vec::with_capacity(args.messages as usize);
    while received < args.messages {
        while next < args.messages {
            let m = message(next, args.min, args.max);
            let n = m.len();
            if !in_flight.is_empty() && waiting + n > args.window {
                break;
            }
            client.send(m).map_err(|e| format!("sending message {next}: {e}"))?;
            in_flight.push_back((Instant::now(), n));
            waiting += n;
            next += 1;
        }
        let got = client.recv().map_err(|e| format!("waiting for echo {received}: {e}"))?;
        let expected = message(received, args.min, args.max);
        match got {
            Some(m) if m == expected => {}
            Some(m) => return Err(format!("echo {received} differs: {} bytes, {} expected", m.len(), expected.len())),
            None => return Err(format!("the connection ended after {received} echoes")),
        }
        let (sent_at, n) = in_flight.pop_front().expect("an echo for a message sent");
        latencies.push(sent_at.elapsed());
        waiting -= n;
        bytes += n;
        received += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    client.close().map_err(|e| format!("closing: {e}"))?;
    match client.recv() {
        Ok(None) => {}
        other => return Err(format!("after our close: {other:?}")),
    }
    latencies.sort();
    println!(
        "{} {}: {} messages ({:.1} MB) echoed intact and in order in {:.1} s: {:.0} messages/s, {:.2} MB/s each way; latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        args.adapter,
        if deflated(&client) { "deflate" } else { "no deflate" },
        received,
        bytes as f64 / 1e6,
        seconds,
        received as f64 / seconds,
        bytes as f64 / 1e6 / seconds,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    if args.deflate != deflated(&client) {
        return Err(format!("permessage-deflate asked for: {}, negotiated: {}", args.deflate, deflated(&client)));
    }
    Ok(())
}

fn deflated(client: &Client) -> bool {
    match client {
        Client::Tokio(_, ws) => ws.is_compressed(),
        Client::Smol(ws) => ws.is_compressed(),
        Client::Blocking(ws) => ws.is_compressed(),
    }
}

fn hold(args: &Args) -> Outcome {
    let mut client = Client::connect(args)?;
    client.echo_once()?;
    println!("ready");
    let started = Instant::now();
    match client.recv() {
        Ok(Some(m)) => Err(format!("an unexpected message: {m:?}")),
        Ok(None) => Err("the connection closed cleanly; the keepalive should have ended it".into()),
        Err(Error::KeepaliveTimeout) => {
            println!("keepalive: the peer is gone ({} ms after ready)", started.elapsed().as_millis());
            Ok(())
        }
        Err(e) => Err(format!("the connection ended with {e}, not the keepalive")),
    }
}

fn close(args: &Args) -> Outcome {
    let mut client = Client::connect(args)?;
    client.echo_once()?;
    println!("ready");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
    let started = Instant::now();
    client.close().map_err(|e| format!("sending the close frame: {e}"))?;
    match client.recv() {
        Err(Error::CloseTimeout) => {
            println!("close timeout: no answer to our close frame after {} ms", started.elapsed().as_millis());
            Ok(())
        }
        other => Err(format!("after our close frame: {other:?}, not the close timeout")),
    }
}

// ---------------------------------------------------------------------------------------------
// flood: a writer on one task and a reader that starts late on another, through the split halves.

const FLOOD_MESSAGE: usize = 64 << 10;

fn flood_message(i: u64) -> Message {
    let mut body = vec![0u8; FLOOD_MESSAGE];
    body[..8].copy_from_slice(&i.to_le_bytes());
    let mut state = i;
    for chunk in body[8..].chunks_mut(8) {
        state = mix(state);
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    Message::binary(body)
}

fn flood(args: &Args) -> Outcome {
    let count = (args.megabytes << 20) as u64 / FLOOD_MESSAGE as u64;
    let sent = Arc::new(AtomicU64::new(0));
    let (go, started) = smol::channel::bounded::<()>(1);
    // The watcher: reports the stall once nothing has moved for 2 s, then waits for the go-ahead.
    let watched = sent.clone();
    std::thread::spawn(move || {
        let (mut last, mut since) = (u64::MAX, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = watched.load(Ordering::Relaxed);
            if now != last {
                (last, since) = (now, Instant::now());
            } else if now > 0 && since.elapsed() >= Duration::from_secs(2) {
                println!("stalled after {now} bytes of {}", count * FLOOD_MESSAGE as u64);
                let _ = std::io::stdin().lock().read_line(&mut String::new());
                let _ = go.send_blocking(());
                return;
            }
        }
    });
    let config = args.config();
    match args.adapter.as_str() {
        "tokio" => {
            let rt = current_thread()?;
            rt.block_on(async {
                let (ws, _) = wsproto_tokio::connect_with(args.url.as_str(), config).await.map_err(|e| e.to_string())?;
                flood_through(ws, count, &sent, started).await
            })
        }
        "smol" => smol::block_on(async {
            let (ws, _) = wsproto_smol::connect_with(args.url.as_str(), config).await.map_err(|e| e.to_string())?;
            flood_through(ws, count, &sent, started).await
        }),
        other => Err(format!("flood has no {other} client")),
    }
}

async fn flood_through<S: Transport, R: Runtime>(
    ws: wsproto_io::WebSocketStream<S, R>,
    count: u64,
    sent: &AtomicU64,
    go: smol::channel::Receiver<()>,
) -> Outcome {
    let (mut tx, mut rx) = ws.split();
    let writer = async {
        for i in 0..count {
            tx.send(flood_message(i)).await.map_err(|e| format!("sending {i}: {e}"))?;
            sent.fetch_add(FLOOD_MESSAGE as u64, Ordering::Relaxed);
        }
        Ok::<_, String>(())
    };
    let reader = async {
        go.recv().await.map_err(|_| "the watcher went away".to_string())?;
        for i in 0..count {
            match rx.recv().await {
                Some(Ok(m)) if m == flood_message(i) => {}
                other => return Err(format!("echo {i}: {:?}", other.map(|r| r.map(|m| m.len())))),
            }
        }
        Ok(())
    };
    let (written, read) = join(writer, reader).await;
    written?;
    read?;
    tx.close_with(None).await.map_err(|e| e.to_string())?;
    while let Some(m) = rx.recv().await {
        m.map_err(|e| format!("after our close: {e}"))?;
    }
    println!("all {count} echoes intact");
    Ok(())
}

// ---------------------------------------------------------------------------------------------

mod relay {
    use super::{Outcome, mix};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::time::Instant;

    pub(super) fn run(args: &[String]) -> Outcome {
        let [listen, upstream, rest @ ..] = args else { return Err("relay LISTEN UPSTREAM --delay-ms D --jitter-ms J".into()) };
        let (mut delay, mut jitter) = (0u64, 0u64);
        for pair in rest.chunks(2) {
            let value = pair.get(1).and_then(|v| v.parse().ok()).ok_or("a number after each option")?;
            match pair[0].as_str() {
                "--delay-ms" => delay = value,
                "--jitter-ms" => jitter = value,
                other => return Err(format!("unknown option {other}")),
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let listener = TcpListener::bind(listen.as_str()).await.map_err(|e| format!("{listen}: {e}"))?;
            println!("relaying {listen} to {upstream} with {delay} ± {jitter} ms");
            let mut seed = 1u64;
            loop {
                let (client, _) = listener.accept().await.map_err(|e| e.to_string())?;
                let upstream = upstream.clone();
                seed += 2;
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream.as_str()).await else { return };
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pipe(cr, sw, delay, jitter, seed));
                    tokio::spawn(pipe(sr, cw, delay, jitter, seed + 1));
                });
            }
        })
    }

    /// One direction: each chunk read is written D ± J ms after it arrived, but never before the
    /// chunk ahead of it (the stream stays in order, as TCP through a jittery path does). At most
    /// 64 chunks of 64 KiB wait; past that, reading stops, so TCP pushes back as it would.
    async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: u64, jitter: u64, seed: u64) {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(64);
        let reader = async move {
            let mut state = seed;
            let mut last = Instant::now();
            loop {
                let mut buf = vec![0u8; 64 << 10];
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.truncate(n);
                state = mix(state);
                let offset = if jitter == 0 { 0 } else { state % (2 * jitter + 1) };
                let hold = Duration::from_millis(delay + offset).saturating_sub(Duration::from_millis(jitter));
                let due = (Instant::now() + hold).max(last);
                last = due;
                if tx.send((due, buf)).await.is_err() {
                    return;
                }
            }
        };
        let writer = async move {
            while let Some((due, chunk)) = rx.recv().await {
                tokio::time::sleep_until(due).await;
                if to.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            let _ = to.shutdown().await;
        };
        tokio::join!(reader, writer);
    }
}
