//! Fan-out over real sockets: one 1 KiB message to every one of 1,000 and 10,000 WebSocket
//! connections on loopback, as a chat room or a price feed does. Three servers, each through its
//! public API:
//!
//! - `prepared`: wsproto-tokio with the message encoded once (`PreparedMessage`,
//!   `send_prepared`), as `wsproto serve` fans out;
//! - `encode_each`: wsproto-tokio encoding it for each connection (`send`);
//! - `tokio_tungstenite`: tokio-tungstenite's `send`, which encodes it for each connection;
//! - `raw_write`: the floor: the frame's bytes written to each TCP socket with one `write`, no
//!   WebSocket library at all.
//!
//! The server runs on this thread (a current-thread runtime); the clients (wsproto-tokio) run in
//! a child process, the bench binary run again, so that 10,000 connections fit under the open-file
//! limit on each side and the clients' CPU is nobody's but theirs. The
//! figure criterion reports is the **server thread's CPU time** per round (user + system, from
//! `getrusage(RUSAGE_THREAD)`), so elements per second are deliveries per second of server CPU.
//! A round ends when every client has the message; each server sends with its own `send`,
//! which writes to the socket before it returns. After the criterion groups, each server's
//! wall-clock deliveries per second over 50 rounds are printed.
//!
//! ```text
//! cargo bench -p wsproto-benches --bench fanout
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite;
use wsproto_tokio::{Bytes, Config, Message, PreparedMessage};

const SIZE: usize = 1024;

/// The server thread's CPU time so far.
fn thread_cpu() -> Duration {
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid rusage to fill; RUSAGE_THREAD names the calling thread.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The server side of every connection, by library.
enum Servers {
    Wsproto(Vec<wsproto_tokio::WebSocketStream<TcpStream>>),
    Tungstenite(Vec<tokio_tungstenite::WebSocketStream<TcpStream>>),
}

#[derive(Clone, Copy, PartialEq)]
enum Way {
    Prepared,
    EncodeEach,
    TokioTungstenite,
    RawWrite,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Prepared => "prepared",
            Way::EncodeEach => "encode_each",
            Way::TokioTungstenite => "tokio_tungstenite",
            Way::RawWrite => "raw_write",
        }
    }
}

/// The environment variable that makes the bench binary the clients' process: `ADDR N`.
const CLIENTS: &str = "WSPROTO_FANOUT_CLIENTS";

/// The clients' process: `n` connections to `addr`; after each round (every client has its
/// message) one line on stdout.
fn clients(spec: &str) {
    let (addr, n) = spec.split_once(' ').unwrap();
    let n: usize = n.parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async move {
        let left = Arc::new(AtomicUsize::new(n));
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let (mut ws, _) = wsproto_tokio::connect_with(format!("ws://{addr}/"), Config::default().ping_interval(None)).await.unwrap();
            let left = left.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Binary(b) = m {
                        assert_eq!(b.len(), SIZE);
                        if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                            // Everyone has it: ready for the next round before saying so.
                            left.store(n, Ordering::Release);
                            let mut out = std::io::stdout().lock();
                            writeln!(out, "r").unwrap();
                            out.flush().unwrap();
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// `n` connections: the servers here, the clients in a child process.
struct Setup {
    servers: Servers,
    child: Child,
    rounds: BufReader<ChildStdout>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn setup(way: Way, n: usize) -> Setup {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child =
        Command::new(std::env::current_exe().unwrap()).env(CLIENTS, format!("{addr} {n}")).stdout(Stdio::piped()).spawn().unwrap();
    let rounds = BufReader::new(child.stdout.take().unwrap());
    // The clients connect one after another, each waiting for its handshake.
    let accept = async || {
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        tcp
    };
    let servers = if way == Way::TokioTungstenite {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(tokio_tungstenite::accept_async(accept().await).await.unwrap());
        }
        Servers::Tungstenite(all)
    } else {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            let config = Config::default().ping_interval(None);
            all.push(wsproto_tokio::accept_with(accept().await, config, |_| Ok(wsproto_tokio::Accept::new())).await.unwrap());
        }
        Servers::Wsproto(all)
    };
    Setup { servers, child, rounds }
}

/// One round: the message to every connection, until every client has it.
async fn round(way: Way, setup: &mut Setup, payload: &Bytes) {
    match (&mut setup.servers, way) {
        (Servers::Wsproto(all), Way::Prepared) => {
            let prepared = PreparedMessage::binary(payload.clone());
            for ws in all.iter_mut() {
                ws.send_prepared(&prepared).await.unwrap();
            }
        }
        (Servers::Wsproto(all), Way::RawWrite) => {
            // Past the library, straight to each socket (nothing else is sent on them: no
            // pings), for the kernel's share alone.
            let frame = PreparedMessage::binary(payload.clone());
            for ws in all.iter_mut() {
                ws.get_mut().write_all(frame.frame()).await.unwrap();
            }
        }
        (Servers::Wsproto(all), _) => {
            for ws in all.iter_mut() {
                ws.send(Message::Binary(payload.clone())).await.unwrap();
            }
        }
        (Servers::Tungstenite(all), _) => {
            for ws in all.iter_mut() {
                ws.send(tungstenite::Message::Binary(payload.clone())).await.unwrap();
            }
        }
    }
    // The clients' line; waiting for it costs the server thread no CPU (and there is nothing
    // else for this thread to do meanwhile).
    let mut line = String::new();
    setup.rounds.read_line(&mut line).unwrap();
    assert_eq!(line, "r\n", "the clients' process ended");
}

fn fanout(c: &mut Criterion) {
    let payload = Bytes::from(vec![0x5a; SIZE]);
    let server_rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut wall = Vec::new();
    let mut g = c.benchmark_group("fanout");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(10);
    for n in [1000usize, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        for way in [Way::Prepared, Way::EncodeEach, Way::TokioTungstenite, Way::RawWrite] {
            let mut setup = server_rt.block_on(setup(way, n));
            g.bench_function(BenchmarkId::new(way.name(), n), |b| {
                b.iter_custom(|iters| {
                    let start = thread_cpu();
                    server_rt.block_on(async {
                        for _ in 0..iters {
                            round(way, &mut setup, &payload).await;
                        }
                    });
                    thread_cpu() - start
                })
            });
            let start = Instant::now();
            server_rt.block_on(async {
                for _ in 0..50 {
                    round(way, &mut setup, &payload).await;
                }
            });
            wall.push((way.name(), n, (50 * n) as f64 / start.elapsed().as_secs_f64()));
            // Closing 10,000 connections politely would time the teardown; drop them.
            drop(setup);
        }
    }
    g.finish();
    for (way, n, rate) in wall {
        eprintln!("fanout wall-clock: {way:>17} {n:>6} connections: {rate:>10.0} deliveries/s");
    }
}

criterion_group!(benches, fanout);

fn main() {
    if let Ok(spec) = std::env::var(CLIENTS) {
        return clients(&spec);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
