//! `wsproto bench URL`: a load generator for echo endpoints.
//!
//! Each connection sends a message, waits for its echo, and repeats (or, with `--rate`, sends on
//! a fixed schedule and measures latency from the scheduled time, so that a stalled server cannot
//! hide its stalls). The client stays cheap: one preallocated payload shared by every send,
//! per-connection histograms merged at the end, and counters published in batches.

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wsproto_tokio::{Bytes, Config, Message};

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The ws:// or wss:// URL of an echo endpoint.
    url: String,
    /// Connections (at least 1).
    #[arg(short = 'c', long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    connections: u32,
    /// Message size in bytes.
    #[arg(short = 's', long, default_value_t = 20)]
    size: usize,
    /// Duration in seconds (more than 0).
    #[arg(short = 'd', long, default_value = "10", value_parser = positive_seconds)]
    duration: Duration,
    /// Offer permessage-deflate (the report says whether the server accepted it).
    #[arg(long)]
    deflate: bool,
    /// A fixed total rate, in messages per second, instead of as fast as possible.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
    /// Send text instead of binary messages.
    #[arg(long)]
    text: bool,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Connect through this proxy (http://, https://, socks5://, socks5h://, or "none"); without it, the
    /// proxy environment variables apply.
    #[arg(long, value_name = "URL", value_parser = crate::proxy_setting)]
    proxy: Option<wsproto_tokio::proxy::ProxySetting>,
    /// Instead of a load test: open the connections, echo one message on each, then hold them
    /// idle for this many seconds (for measuring a server's memory per idle connection).
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = crate::seconds)]
    hold: crate::MaybeDuration,
}

/// Counters that the progress bar reads while the run goes on.
#[derive(Default)]
struct Progress {
    messages: AtomicU64,
    errors: AtomicU64,
}

struct ConnResult {
    latencies: Histogram<u64>,
    messages: u64,
    errors: u64,
}

/// Latencies in microseconds, from 1 µs to 60 s, with 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// A printable, moderately compressible payload: what chat and JSON traffic look like.
fn payload(size: usize) -> Bytes {
    let words = b"wsproto bench payload: the quick brown fox jumps over the lazy dog 0123456789 ";
    Bytes::from(words.iter().cycle().take(size).copied().collect::<Vec<u8>>())
}

/// A duration that must be more than zero: a benchmark of no time measures nothing.
fn positive_seconds(s: &str) -> Result<Duration, String> {
    match crate::seconds(s)? {
        Some(d) => Ok(d),
        None => Err("the duration must be more than 0 seconds".into()),
    }
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a rate above 0 messages per second")),
    }
}

/// "1 connection", "2 connections".
fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

pub(crate) async fn run(args: Args) -> ExitCode {
    let duration = args.duration;
    let mut config = Config::default().ping_interval(None).max_message_size(args.size.max(16 << 20));
    if args.deflate {
        config = config.with_deflate();
    }
    let body = payload(args.size);
    let message = if args.text {
        Message::Text(wsproto_tokio::Utf8Bytes::try_from(body).expect("the payload is ASCII"))
    } else {
        Message::Binary(body)
    };

    // Connect everything first, so that the measured window is all steady state.
    let mut streams = Vec::with_capacity(args.connections as usize);
    let mut connect_errors = 0u64;
    let options = wsproto_tokio::ConnectOptions::new().proxy(args.proxy.clone().unwrap_or_default());
    for _ in 0..args.connections {
        match wsproto_tokio::connect_with_options(args.url.as_str(), config.clone(), &options).await {
            Ok((ws, _)) => streams.push(ws),
            Err(e) => {
                connect_errors += 1;
                if connect_errors == 1 {
                    eprintln!("wsproto bench: {}: {}", args.url, crate::connect::explain(&e));
                }
            }
        }
    }
    if streams.is_empty() {
        eprintln!("wsproto bench: none of the {} could be opened", plural(args.connections.into(), "connection"));
        return ExitCode::FAILURE;
    }
    let compressed = streams.iter().filter(|ws| ws.is_compressed()).count() as u64;
    if args.deflate && compressed == 0 {
        eprintln!("wsproto bench: the server did not accept permessage-deflate; measuring without it");
    }
    if let Some(hold) = args.hold {
        return hold_idle(streams, message, hold, connect_errors).await;
    }

    let opened = streams.len() as u64;
    let progress = Arc::new(Progress::default());
    let started = Instant::now();
    let deadline = started + duration;
    let per_conn_interval = args.rate.map(|r| Duration::from_secs_f64(streams.len() as f64 / r));
    let mut tasks = Vec::with_capacity(streams.len());
    for (i, ws) in streams.into_iter().enumerate() {
        let progress = progress.clone();
        let message = message.clone();
        // Spread fixed-rate senders over the interval instead of sending in lockstep.
        let offset = per_conn_interval.map(|iv| iv.mul_f64(i as f64 / f64::from(args.connections)));
        tasks.push(tokio::spawn(drive(ws, message, deadline, per_conn_interval, offset, progress)));
    }

    let bar = (!args.json).then(|| {
        let bar = ProgressBar::new(duration.as_millis() as u64);
        bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}").expect("valid template"));
        bar
    });
    let ticker = bar.clone().map(|bar| {
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut last = 0u64;
            let mut interval = tokio::time::interval(Duration::from_millis(250));
            loop {
                interval.tick().await;
                let n = progress.messages.load(Ordering::Relaxed);
                bar.set_position(started.elapsed().as_millis() as u64);
                bar.set_message(format!("{:>10.0} msg/s  {} errors", (n - last) as f64 * 4.0, progress.errors.load(Ordering::Relaxed)));
                last = n;
            }
        })
    });

    let mut latencies = histogram();
    let (mut messages, mut errors) = (0u64, connect_errors);
    for task in tasks {
        match task.await {
            Ok(r) => {
                let _ = latencies.add(&r.latencies);
                messages += r.messages;
                errors += r.errors;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = duration.as_secs_f64();
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report(&args, opened, compressed, messages, errors, elapsed, &latencies);
    if messages == 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

type Ws = wsproto_tokio::WebSocketStream<wsproto_tokio::ClientStream>;

async fn drive(
    mut ws: Ws,
    message: Message,
    deadline: Instant,
    interval: Option<Duration>,
    offset: Option<Duration>,
    progress: Arc<Progress>,
) -> ConnResult {
    let mut latencies = histogram();
    let (mut messages, mut errors, mut unpublished) = (0u64, 0u64, 0u64);
    let mut next_send = Instant::now() + offset.unwrap_or_default();
    while Instant::now() < deadline {
        let sent_at = match interval {
            Some(iv) => {
                tokio::time::sleep_until(next_send.into()).await;
                let scheduled = next_send;
                next_send += iv;
                scheduled
            }
            None => Instant::now(),
        };
        if echo_once(&mut ws, message.clone()).await.is_err() {
            errors += 1;
            break;
        }
        let _ = latencies.record((sent_at.elapsed().as_micros() as u64).max(1));
        messages += 1;
        unpublished += 1;
        if unpublished == 64 {
            progress.messages.fetch_add(unpublished, Ordering::Relaxed);
            unpublished = 0;
        }
    }
    progress.messages.fetch_add(unpublished, Ordering::Relaxed);
    progress.errors.fetch_add(errors, Ordering::Relaxed);
    close(&mut ws, Duration::from_secs(2)).await;
    ConnResult { latencies, messages, errors }
}

/// Closes cleanly: sends the close frame and reads until the server answers, within `limit`.
async fn close(ws: &mut Ws, limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        ws.close(None).await?;
        while ws.recv().await.transpose()?.is_some() {}
        Ok::<_, wsproto_tokio::Error>(())
    })
    .await;
}

/// Sends `message` and waits for the echo (the next text or binary message).
async fn echo_once(ws: &mut Ws, message: Message) -> wsproto_tokio::Result<()> {
    ws.send(message).await?;
    loop {
        match ws.recv().await {
            Some(Ok(Message::Binary(_) | Message::Text(_))) => return Ok(()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(wsproto_tokio::Error::AlreadyClosed),
        }
    }
}

/// Echoes one message on every connection, then keeps them all open and idle for `hold`.
async fn hold_idle(mut streams: Vec<Ws>, message: Message, hold: Duration, connect_errors: u64) -> ExitCode {
    let mut errors = connect_errors;
    for ws in &mut streams {
        if echo_once(ws, message.clone()).await.is_err() {
            errors += 1;
        }
    }
    // The measuring script waits for this line.
    println!("holding {} idle connections ({errors} errors)", streams.len());
    tokio::time::sleep(hold).await;
    for mut ws in streams {
        close(&mut ws, Duration::from_millis(100)).await;
    }
    if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn report(args: &Args, opened: u64, compressed: u64, messages: u64, errors: u64, elapsed: f64, latencies: &Histogram<u64>) {
    let rate = messages as f64 / elapsed;
    // Payload bytes both ways: each message goes out and comes back.
    let mbps = rate * args.size as f64 * 2.0 / 1e6;
    let p = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        let out = serde_json::json!({
            "url": args.url,
            "connections": opened,
            "connections_requested": args.connections,
            "size": args.size,
            "deflate_offered": args.deflate,
            "deflate": compressed == opened,
            "deflate_connections": compressed,
            "duration_s": elapsed,
            "messages": messages,
            "messages_per_s": rate,
            "mb_per_s": mbps,
            "latency_ms": { "p50": p(0.50), "p99": p(0.99), "p99_9": p(0.999), "max": latencies.max() as f64 / 1000.0 },
            "errors": errors,
        });
        println!("{out}");
    } else {
        let deflate = match (args.deflate, compressed) {
            (false, _) => String::new(),
            (true, 0) => ", deflate offered but not negotiated".into(),
            (true, n) if n == opened => ", deflate".into(),
            (true, n) => format!(", deflate on {n} of them"),
        };
        println!("{}, {} B messages, {:.1} s{deflate}", plural(opened, "connection"), args.size, elapsed);
        println!("  messages/s   {rate:>12.0}");
        println!("  MB/s         {mbps:>12.2}   (payload, both directions)");
        println!("  latency p50  {:>12.3} ms", p(0.50));
        println!("  latency p99  {:>12.3} ms", p(0.99));
        println!("  latency p99.9{:>12.3} ms", p(0.999));
        println!("  errors       {errors:>12}");
    }
}
