//! tokio-tungstenite's client, on wsproto: only the imports changed.
//! See docs/migrating-from-tungstenite.md.
//!
//! `cargo run -p wsproto-tokio --example migrate_client -- ws://127.0.0.1:9001/echo`

use futures_util::StreamExt;
use wsproto_tokio::{Message, connect_async};

#[tokio::main]
async fn main() -> Result<(), wsproto_tokio::Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9001/echo".into());
    let (mut ws, response) = connect_async(&url).await?;
    println!("connected: HTTP {}", response.status());

    ws.send(Message::text("hello")).await?;
    ws.send(Message::binary(vec![1u8, 2, 3])).await?;
    // Two echoes, then our close; the stream ends after the server's answer.
    let mut echoes = 0;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            println!("received {} bytes: {:?}", message.len(), message.to_text().unwrap_or("(binary)"));
            echoes += 1;
            if echoes == 2 {
                ws.close(None).await?;
            }
        }
    }
    assert_eq!(echoes, 2, "both echoes arrived");
    println!("closed");
    Ok(())
}
