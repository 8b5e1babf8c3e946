//! Configuration, as tokio-tungstenite users set it with `WebSocketConfig`: here one `Config`
//! with builder methods. See docs/migrating-from-tungstenite.md for the field-by-field mapping.
//!
//! `cargo run -p wsproto-tokio --example migrate_config -- ws://127.0.0.1:9001/echo`

use futures_util::StreamExt;
use std::time::Duration;
use wsproto_tokio::{Config, Message, connect_with};

#[tokio::main]
async fn main() -> Result<(), wsproto_tokio::Error> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9001/echo".into());
    let config = Config::default()
        .max_message_size(1 << 20) // WebSocketConfig::max_message_size
        .max_frame_size(256 << 10) // WebSocketConfig::max_frame_size
        .write_buffer_limit(512 << 10) // WebSocketConfig::max_write_buffer_size
        .ping_interval(Some(Duration::from_secs(15))) // tungstenite has no keepalive of its own
        .with_deflate(); // tungstenite has no permessage-deflate
    let (mut ws, _) = connect_with(&url, config).await?;
    ws.send(Message::text("configured")).await?;
    let echo = ws.next().await.expect("an echo")?;
    println!("echo: {echo:?}, compressed: {}", ws.is_compressed());
    ws.close(None).await?;
    while ws.next().await.transpose()?.is_some() {}
    Ok(())
}
