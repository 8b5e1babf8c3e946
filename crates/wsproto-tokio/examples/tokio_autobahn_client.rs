//! The client driver for Autobahn|Testsuite's fuzzing server (`wstest -m fuzzingserver`).
//!
//! It follows the standard loop: read the case count from `/getCaseCount`, run each case at
//! `/runCase?case=N&agent=AGENT` echoing every message until the connection closes, then ask
//! for the reports at `/updateReports`. permessage-deflate is on.
//!
//! `cargo run --release -p wsproto-tokio --example tokio_autobahn_client -- ws://127.0.0.1:9002 wsproto-tokio`

use wsproto_tokio::{Config, Message, connect_with};

fn config() -> Config {
    // The suite sends messages up to 16 MiB and never expects pings from us.
    Config::default().with_deflate().max_message_size(64 << 20).max_frame_size(64 << 20)
}

/// Echoes every data message until the connection ends (cleanly or not: the case decides).
async fn echo(url: &str) -> Result<(), wsproto_tokio::Error> {
    let (mut ws, _) = connect_with(url, config()).await?;
    while let Some(message) = ws.recv().await {
        if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
            ws.feed(m).await?;
        }
        while let Some(m) = ws.next_buffered() {
            if let m @ (Message::Text(_) | Message::Binary(_)) = m? {
                ws.feed(m).await?;
            }
        }
        ws.flush().await?;
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9002".into());
    let agent = std::env::args().nth(2).unwrap_or_else(|| "wsproto-tokio".into());
    let (mut ws, _) = connect_with(format!("{base}/getCaseCount"), config()).await?;
    let count: u32 = match ws.recv().await {
        Some(Ok(Message::Text(t))) => t.trim().parse()?,
        other => return Err(format!("no case count: {other:?}").into()),
    };
    drop(ws);
    println!("{count} cases");
    for case in 1..=count {
        if let Err(e) = echo(&format!("{base}/runCase?case={case}&agent={agent}")).await {
            // Many cases end the connection on purpose; the report judges them, not us.
            eprintln!("case {case}: {e}");
        }
    }
    // The server writes the reports and, with shutdownOnComplete, exits.
    let _ = echo(&format!("{base}/updateReports?agent={agent}&shutdownOnComplete=true")).await;
    println!("reports written");
    Ok(())
}
