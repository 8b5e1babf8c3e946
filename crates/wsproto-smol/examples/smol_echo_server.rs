//! An echo server: every text and binary message comes back as it came.
//!
//! `cargo run -p wsproto-smol --example smol_echo_server -- 127.0.0.1:9001`

use futures_util::StreamExt;
use smol::net::TcpListener;
use wsproto_smol::{Message, accept};

fn main() -> std::io::Result<()> {
    smol::block_on(async {
        let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
        let listener = TcpListener::bind(&addr).await?;
        println!("echo server on ws://{}", listener.local_addr()?);
        loop {
            let (tcp, peer) = listener.accept().await?;
            smol::spawn(async move {
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
            })
            .detach();
        }
    })
}
