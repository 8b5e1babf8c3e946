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
    /// Connections.
    #[arg(short = 'c', long, default_value_t = 16)]
    connections: usize,
    /// Message size in bytes.
    #[arg(short = 's', long, default_value_t = 20)]
    size: usize,
    /// Duration in seconds.
    #[arg(short = 'd', long, default_value = "10", value_parser = crate::seconds)]
    duration: crate::MaybeDuration,
    /// Offer permessage-deflate.
    #[arg(long)]
    deflate: bool,
    /// A fixed total rate, in messages per second, instead of as fast as possible.
    #[arg(long)]
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

pub(crate) async fn run(args: Args) -> ExitCode {
    let duration = args.duration.unwrap_or(Duration::from_secs(10));
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
    let mut streams = Vec::with_capacity(args.connections);
    let mut connect_errors = 0u64;
    for _ in 0..args.connections {
        match wsproto_tokio::connect_with(args.url.as_str(), config.clone()).await {
            Ok((ws, _)) => streams.push(ws),
            Err(e) => {
                connect_errors += 1;
                if connect_errors == 1 {
                    eprintln!("wsproto bench: connect failed: {e}");
                }
            }
        }
    }
    if streams.is_empty() {
        eprintln!("wsproto bench: no connection could be opened");
        return ExitCode::FAILURE;
    }
    if let Some(hold) = args.hold {
        return hold_idle(streams, message, hold, connect_errors).await;
    }

    let progress = Arc::new(Progress::default());
    let started = Instant::now();
    let deadline = started + duration;
    let per_conn_interval = args.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(streams.len() as f64 / r));
    let mut tasks = Vec::with_capacity(streams.len());
    for (i, ws) in streams.into_iter().enumerate() {
        let progress = progress.clone();
        let message = message.clone();
        // Spread fixed-rate senders over the interval instead of sending in lockstep.
        let offset = per_conn_interval.map(|iv| iv.mul_f64(i as f64 / args.connections as f64));
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
    report(&args, messages, errors, elapsed, &latencies);
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
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    ConnResult { latencies, messages, errors }
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
        let _ = tokio::time::timeout(Duration::from_millis(100), ws.close(None)).await;
    }
    if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn report(args: &Args, messages: u64, errors: u64, elapsed: f64, latencies: &Histogram<u64>) {
    let rate = messages as f64 / elapsed;
    // Payload bytes both ways: each message goes out and comes back.
    let mbps = rate * args.size as f64 * 2.0 / 1e6;
    let p = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        let out = serde_json::json!({
            "url": args.url,
            "connections": args.connections,
            "size": args.size,
            "deflate": args.deflate,
            "duration_s": elapsed,
            "messages": messages,
            "messages_per_s": rate,
            "mb_per_s": mbps,
            "latency_ms": { "p50": p(0.50), "p99": p(0.99), "p99_9": p(0.999), "max": latencies.max() as f64 / 1000.0 },
            "errors": errors,
        });
        println!("{out}");
    } else {
        println!(
            "{} connections, {} B messages, {:.1} s{}",
            args.connections,
            args.size,
            elapsed,
            if args.deflate { ", deflate" } else { "" }
        );
        println!("  messages/s   {rate:>12.0}");
        println!("  MB/s         {mbps:>12.2}   (payload, both directions)");
        println!("  latency p50  {:>12.3} ms", p(0.50));
        println!("  latency p99  {:>12.3} ms", p(0.99));
        println!("  latency p99.9{:>12.3} ms", p(0.999));
        println!("  errors       {errors:>12}");
    }
}
