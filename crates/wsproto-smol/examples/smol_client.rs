//! A client: sends a few messages to an echo server, prints the replies, and closes.
//!
//! `cargo run -p wsproto-smol --example smol_client -- ws://127.0.0.1:9001`

use futures_util::StreamExt;
use wsproto_smol::{Message, connect};

fn main() -> Result<(), wsproto_smol::Error> {
    smol::block_on(run())
}

async fn run() -> Result<(), wsproto_smol::Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let (mut ws, response) = connect(&url).await?;
    println!("connected: HTTP {}, compressed: {}", response.status(), ws.is_compressed());
    for text in ["hello", "from", "wsproto-smol"] {
        ws.send(Message::text(text)).await?;
        if let Some(reply) = ws.next().await {
            println!("received: {:?}", reply?);
        }
    }
    ws.close(None).await?;
    println!("closed cleanly");
    Ok(())
}
