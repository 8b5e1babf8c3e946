//! Split halves on two tasks, as tokio-tungstenite users write them: one task sends, the other
//! reads. `split()` returns (write, read), the order of `StreamExt::split`. See
//! docs/migrating-from-tungstenite.md.
//!
//! `cargo run -p wsproto-tokio --example migrate_split_tasks -- ws://127.0.0.1:9001/echo`

use futures_util::{SinkExt, StreamExt};
use wsproto_tokio::{Message, connect_async};

#[tokio::main]
async fn main() -> Result<(), wsproto_tokio::Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9001/echo".into());
    let (ws, _) = connect_async(&url).await?;
    let (mut write, mut read) = ws.split();

    let sender = tokio::spawn(async move {
        for i in 0..10 {
            write.send(Message::text(format!("message {i}"))).await?;
        }
        // Close from the writing half; the reading half sees the rest, then the end.
        write.close().await
    });

    let mut received = Vec::new();
    while let Some(message) = read.next().await {
        let message = message?;
        if message.is_text() {
            received.push(message.into_text()?.to_string());
        }
    }
    sender.await.expect("the sender task ran")?;
    println!("received {} messages, the last {:?}", received.len(), received.last());
    assert_eq!(received.len(), 10, "every echo arrived, even those after our close frame");
    Ok(())
}
