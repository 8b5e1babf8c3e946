//! An echo server: every text and binary message comes back as it came.
//!
//! `cargo run -p wsproto-tokio --example tokio_echo_server -- 127.0.0.1:9001`

use futures_util::StreamExt;
use tokio::net::TcpListener;
use wsproto_tokio::{Message, accept};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("echo server on ws://{}", listener.local_addr()?);
    loop {
        let (tcp, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let mut ws = match accept(tcp).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
            };
            while let Some(message) = ws.next().await {
                match message {
                    Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                        if let Err(e) = ws.send(m).await {
                            return eprintln!("{peer}: {e}");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return eprintln!("{peer}: {e}"),
                }
            }
        });
    }
}
