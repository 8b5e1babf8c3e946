//! Cross-node chat through Redis: a sender on one `serve --redis` node, a receiver on another,
//! in the same room. Reports the lines per second that reach the receiver and their latency
//! (from the sender's `send` to the receiver's `recv`, one clock: both clients are here).
//! `scripts/cross_node_bench.sh` starts Redis and the two nodes and runs this.
//!
//! ```text
//! cross_node FROM_URL TO_URL MESSAGES [RATE]
//! ```
//!
//! FROM_URL and TO_URL are the nodes' `ws://HOST:PORT`. Without RATE (lines per second) the
//! sender sends as fast as the receiver keeps up, with up to 256 lines in flight (throughput);
//! with it, at that steady rate (latency under a given load).

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};
use wsproto_tokio::Message;

const IN_FLIGHT: u64 = 256;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, from, to, count, rest @ ..] = args.as_slice() else {
        eprintln!("usage: cross_node FROM_URL TO_URL MESSAGES [RATE]");
        std::process::exit(2);
    };
    let count: u64 = count.parse().expect("MESSAGES is a number");
    let rate: Option<f64> = rest.first().map(|r| r.parse().expect("RATE is a number"));
    let room = format!("bench-{}", std::process::id());
    let (mut receiver, _) = wsproto_tokio::connect(format!("{to}/chat/{room}?name=receiver")).await.expect("connect to the receiving node");
    let (mut sender, _) = wsproto_tokio::connect(format!("{from}/chat/{room}?name=sender")).await.expect("connect to the sending node");
    // The sender's join reaching the receiver means both nodes are subscribed to the room.
    loop {
        let line = next(&mut receiver).await;
        if line["type"] == "join" && line["name"] == "sender" {
            break;
        }
    }

    let start = Instant::now();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let (mut sent, mut received) = (0u64, 0u64);
    let mut sender_lines = 0u64;
    while received < count {
        let may_send = match rate {
            Some(r) => sent < count && start.elapsed().as_secs_f64() * r >= sent as f64,
            None => sent < count && sent - received < IN_FLIGHT,
        };
        if may_send {
            let at = start.elapsed().as_micros() as u64;
            let text = serde_json::json!({ "type": "message", "text": format!("{sent} {at}") }).to_string();
            sender.send(Message::text(text)).await.unwrap();
            sent += 1;
            continue;
        }
        // Wait for the receiver (or, at a steady rate, until the next send is due).
        let wait = match rate {
            Some(r) if sent < count => Duration::from_secs_f64(sent as f64 / r).saturating_sub(start.elapsed()),
            _ => Duration::from_secs(10),
        };
        tokio::select! {
            line = next(&mut receiver) => {
                if line["type"] == "message" && line["from"] == "sender" {
                    let text = line["text"].as_str().unwrap();
                    let at: u64 = text.split(' ').nth(1).unwrap().parse().unwrap();
                    latency.record((start.elapsed().as_micros() as u64).saturating_sub(at).max(1)).unwrap();
                    received += 1;
                }
            }
            // The sender's own lines come back to it too: take them so that its socket never fills.
            _ = async { while let Some(Ok(_)) = sender.next().await { sender_lines += 1; if sender_lines % 64 == 0 { break } } } => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{} lines in {elapsed:.2} s: {:.0} lines/s; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        count,
        count as f64 / elapsed,
        ms(0.5),
        ms(0.99),
        ms(0.999),
        latency.max() as f64 / 1000.0
    );
}

async fn next(ws: &mut wsproto_tokio::WebSocketStream<wsproto_tokio::ClientStream>) -> serde_json::Value {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).unwrap(),
        other => panic!("no line from the receiving node: {other:?}"),
    }
}
