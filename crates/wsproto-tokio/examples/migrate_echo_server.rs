//! tokio-tungstenite's echo server, on wsproto: only the imports changed. The halves from
//! `split` come in `StreamExt::split`'s order, (write, read), so `read.forward(write)` reads the
//! same. See docs/migrating-from-tungstenite.md.
//!
//! `cargo run -p wsproto-tokio --example migrate_echo_server -- 127.0.0.1:9001`

use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::{TcpListener, TcpStream};
use wsproto_tokio::accept_async;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(accept_connection(stream));
    }
    Ok(())
}

async fn accept_connection(stream: TcpStream) {
    let peer = stream.peer_addr().expect("connected streams have a peer address");
    let ws_stream = match accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
    };
    let (write, read) = ws_stream.split();
    // Echo text and binary messages; pings are answered by the connection itself.
    if let Err(e) = read.try_filter(|msg| future::ready(msg.is_text() || msg.is_binary())).forward(write).await {
        eprintln!("{peer}: {e}");
    }
}
