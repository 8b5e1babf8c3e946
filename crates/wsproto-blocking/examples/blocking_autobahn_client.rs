//! The blocking client driver for Autobahn|Testsuite's fuzzing server: the same loop as the
//! tokio driver (case count, each case echoed, reports), on `wsproto-blocking`.
//!
//! `cargo run --release -p wsproto-blocking --example blocking_autobahn_client -- ws://127.0.0.1:9003 wsproto-blocking`

use wsproto_blocking::{Config, Error, Message, connect_with};

fn config() -> Config {
    Config::default().with_deflate().max_message_size(64 << 20).max_frame_size(64 << 20)
}

fn echo(url: &str) -> Result<(), Error> {
    let (mut ws, _) = connect_with(url, config())?;
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m)?,
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9003".into());
    let agent = std::env::args().nth(2).unwrap_or_else(|| "wsproto-blocking".into());
    let (mut ws, _) = connect_with(format!("{base}/getCaseCount"), config())?;
    let count: u32 = match ws.read()? {
        Message::Text(t) => t.trim().parse()?,
        other => return Err(format!("no case count: {other:?}").into()),
    };
    drop(ws);
    println!("{count} cases");
    for case in 1..=count {
        if let Err(e) = echo(&format!("{base}/runCase?case={case}&agent={agent}")) {
            eprintln!("case {case}: {e}");
        }
    }
    let _ = echo(&format!("{base}/updateReports?agent={agent}&shutdownOnComplete=true"));
    println!("reports written");
    Ok(())
}
