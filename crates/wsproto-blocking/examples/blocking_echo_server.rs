//! An echo server with a thread per connection.
//!
//! `cargo run -p wsproto-blocking --example blocking_echo_server -- 127.0.0.1:9001`

use std::net::TcpListener;
use wsproto_blocking::{Error, Message, accept};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    println!("echo server on ws://{}", listener.local_addr()?);
    for tcp in listener.incoming() {
        let tcp = tcp?;
        std::thread::spawn(move || {
            let mut ws = match accept(tcp) {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
            };
            loop {
                match ws.read() {
                    Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                        if let Err(e) = ws.send(m) {
                            return eprintln!("{e}");
                        }
                    }
                    Ok(_) => {}
                    Err(Error::ConnectionClosed) => return,
                    Err(e) => return eprintln!("{e}"),
                }
            }
        });
    }
    Ok(())
}
