//! A client: sends a few messages to an echo server, prints the replies, and closes.
//!
//! `cargo run -p wsproto-blocking --example blocking_client -- ws://127.0.0.1:9001`

use wsproto_blocking::{Message, connect};

fn main() -> Result<(), wsproto_blocking::Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let (mut ws, response) = connect(&url)?;
    println!("connected: HTTP {}", response.status());
    for text in ["hello", "from", "wsproto-blocking"] {
        ws.send(Message::text(text))?;
        println!("received: {:?}", ws.read()?);
    }
    ws.close(None)?;
    println!("closed cleanly");
    Ok(())
}
