//! Soak: many clients against one server for a long time, each connecting, exchanging messages of
//! random sizes at a steady rate, closing and connecting again. Every message must come back
//! intact. Every 10 s it prints the messages per second, the latency percentiles of that window,
//! and the server's resident memory and open file descriptors (read from /proc). At the end it
//! fails if any message was lost or changed, any connection failed, or, after the warm-up, the
//! server's descriptors grew by more than 10% or its memory did (the later half's median more
//! than 10% over the earlier half's, or any sample more than 25% over the first), or if, once
//! every client has left, the server does not come back to its descriptors and, within
//! [`LEFT_BEHIND_KIB`], its memory from before the first client came: a leak of 1 KiB per
//! session fails the 2-minute run there, long before it would move a median of hundreds of MiB.
//! `scripts/soak.sh` starts `wsproto serve --deflate` and runs this.
//!
//! ```text
//! soak URL SECONDS CLIENTS SERVER_PID
//! ```

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wsproto_tokio::Message;

/// Messages each client sends per second, while connected.
const RATE: f64 = 2.0;
/// How long the first samples are left out of the flatness check.
const WARM_UP: Duration = Duration::from_secs(30);
/// How much more than before the first client the server may hold once every client has left
/// (KiB). Measured: 4.5 MiB after the 2-minute run's 20,000 sessions and 4.2 MiB after 7,000,
/// so not growing with their number (the runtime's and allocator's own tables, sized for the
/// busiest moment); a leak of 2 KiB per session, tried once, left 40 MiB after 10,000.
const LEFT_BEHIND_KIB: u64 = 16 * 1024;
/// How long the server has to get back there once the clients have left (`serve` gives free
/// memory back every 2 s).
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Totals {
    messages: AtomicU64,
    sessions: AtomicU64,
    errors: AtomicU64,
    lost: AtomicU64,
}

/// A small xorshift generator: each client its own, seeded by its number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A size from 16 B to 16 KiB, spread evenly over the powers of two (chat lines mostly
    /// small, some large).
    fn size(&mut self) -> usize {
        let bits = 4 + self.next() % 10;
        (1usize << bits) + (self.next() % (1 << bits)) as usize
    }
}

async fn client(id: u64, url: String, until: Instant, totals: Arc<Totals>, latency: Arc<Mutex<Histogram<u64>>>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id + 1).wrapping_mul(0xff51_afd7_ed55_8ccd));
    // Clients start spread over the first ten seconds, so that the server is not met by all at once.
    tokio::time::sleep(Duration::from_millis(rng.next() % 10_000)).await;
    while Instant::now() < until {
        let mut ws = match wsproto_tokio::connect(url.as_str()).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                if totals.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("soak: client {id}: connect: {e}");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let messages = 5 + rng.next() % 40;
        let mut failed = false;
        for n in 0..messages {
            if Instant::now() >= until {
                break;
            }
            let jitter = Duration::from_millis(rng.next() % (1000.0 / RATE) as u64);
            tokio::time::sleep(Duration::from_secs_f64(0.5 / RATE) + jitter).await;
            let size = rng.size();
            let body: Vec<u8> = (0..size).map(|i| b'a' + ((i as u64 + n + id) % 26) as u8).collect();
            let sent_at = Instant::now();
            let message = Message::binary(body);
            if let Err(e) = ws.send(message.clone()).await {
                if totals.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("soak: client {id}: send: {e}");
                }
                failed = true;
                break;
            }
            // The server's keepalive pings arrive as events too (already answered): skip them.
            let echo = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        other => return other,
                    }
                }
            })
            .await;
            match echo {
                Ok(Some(Ok(echo))) if echo == message => {
                    totals.messages.fetch_add(1, Ordering::Relaxed);
                    let micros = sent_at.elapsed().as_micros() as u64;
                    latency.lock().unwrap().record(micros.max(1)).unwrap();
                }
                other => {
                    totals.lost.fetch_add(1, Ordering::Relaxed);
                    if totals.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                        eprintln!("soak: client {id}: expected the echo of {size} bytes, got {other:?}");
                    }
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            if let Err(e) = ws.close(None).await {
                if totals.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("soak: client {id}: close: {e}");
                }
            }
            totals.sessions.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The server's resident memory (KiB) and open descriptors.
fn server_usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (rss, fds)
}

/// Once every client has left: waits up to [`SETTLE`] for the server to be back to its descriptors
/// and, within [`LEFT_BEHIND_KIB`], its memory from `before`, and says whether it was.
async fn came_back(pid: u32, before: (u64, usize)) -> bool {
    let settle_until = Instant::now() + SETTLE;
    loop {
        let (rss, fds) = server_usage(pid);
        let back = rss <= before.0 + LEFT_BEHIND_KIB && fds <= before.1;
        if back || Instant::now() >= settle_until {
            println!(
                "soak: once the clients left, RSS {} → {rss} KiB, descriptors {} → {fds} ({})",
                before.0,
                before.1,
                if back { "back" } else { "NOT BACK" }
            );
            return back;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, seconds, clients, pid] = args.as_slice() else {
        eprintln!("usage: soak URL SECONDS CLIENTS SERVER_PID");
        std::process::exit(2);
    };
    let duration = Duration::from_secs(seconds.parse().expect("SECONDS"));
    let clients: u64 = clients.parse().expect("CLIENTS");
    let pid: u32 = pid.parse().expect("SERVER_PID");
    let before = server_usage(pid);
    let start = Instant::now();
    let until = start + duration;
    let totals = Arc::new(Totals::default());
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()));
    let tasks: Vec<_> = (0..clients).map(|id| tokio::spawn(client(id, url.clone(), until, totals.clone(), latency.clone()))).collect();

    println!("soak: {clients} clients against {url} for {} s (pid {pid})", duration.as_secs());
    println!(
        "{:>6} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6} {:>7}",
        "time", "msgs/s", "p50 ms", "p99 ms", "p99.9 ms", "RSS KiB", "fds", "errors"
    );
    let mut samples = Vec::new();
    let mut last = 0;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(10), Duration::from_secs(10));
    while Instant::now() < until {
        tick.tick().await;
        let messages = totals.messages.load(Ordering::Relaxed);
        let window = std::mem::replace(&mut *latency.lock().unwrap(), Histogram::new_with_bounds(1, 60_000_000, 3).unwrap());
        let (rss, fds) = server_usage(pid);
        let ms = |q: f64| window.value_at_quantile(q) as f64 / 1000.0;
        let at = start.elapsed();
        println!(
            "{:>5}s {:>9.0} {:>8.2} {:>8.2} {:>9.2} {:>9} {:>6} {:>7}",
            at.as_secs(),
            (messages - last) as f64 / 10.0,
            ms(0.5),
            ms(0.99),
            ms(0.999),
            rss,
            fds,
            totals.errors.load(Ordering::Relaxed)
        );
        last = messages;
        if at >= WARM_UP {
            samples.push((rss, fds));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let (errors, lost) = (totals.errors.load(Ordering::Relaxed), totals.lost.load(Ordering::Relaxed));
    println!(
        "soak: {} messages echoed, {} sessions, {errors} errors, {lost} lost, in {:.0} s",
        totals.messages.load(Ordering::Relaxed),
        totals.sessions.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
    let mut ok = errors == 0 && lost == 0;
    if let (Some(first), Some(max_rss), Some(max_fds)) =
        (samples.first(), samples.iter().map(|s| s.0).max(), samples.iter().map(|s| s.1).max())
    {
        // Memory is flat if the later half of the samples sits where the earlier half did (their
        // medians within 10%), and no sample strays more than 25% above the first: a burst of
        // latency on a loaded machine can leave the allocator holding a little more for a while,
        // which is not growth; a leak moves the median (and shows once the clients have left).
        let median = |v: &[u64]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            v[v.len() / 2]
        };
        let rss: Vec<u64> = samples.iter().map(|s| s.0).collect();
        let (early, late) = rss.split_at(rss.len() / 2);
        let (early, late) = (median(if early.is_empty() { late } else { early }), median(late));
        let rss_flat = late as f64 <= early as f64 * 1.10 && max_rss as f64 <= first.0 as f64 * 1.25;
        let fds_flat = max_fds as f64 <= first.1 as f64 * 1.10;
        println!(
            "soak: after warm-up, RSS median {early} → {late} KiB, at most {max_rss} ({}), descriptors {} → at most {max_fds} ({})",
            if rss_flat { "flat" } else { "GREW" },
            first.1,
            if fds_flat { "flat" } else { "GREW" }
        );
        ok &= rss_flat && fds_flat;
    } else {
        println!("soak: too short to check flatness after the {} s warm-up", WARM_UP.as_secs());
    }
    ok &= came_back(pid, before).await;
    if !ok {
        println!("soak: FAILED");
        std::process::exit(1);
    }
    println!("soak: passed");
}
