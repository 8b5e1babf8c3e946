//! tokio-tungstenite's server with a header callback, on wsproto: `accept_hdr_async` takes the
//! same callback. See docs/migrating-from-tungstenite.md.
//!
//! `cargo run -p wsproto-tokio --example migrate_server_headers -- 127.0.0.1:9001`

// The callback's error type is tungstenite's `ErrorResponse`, a whole `http::Response`: large, but
// it is the shape tokio-tungstenite code already has.
#![allow(clippy::result_large_err)]

use futures_util::StreamExt;
use tokio::net::TcpListener;
use wsproto_tokio::http::{Request, Response, StatusCode};
use wsproto_tokio::{Message, accept_hdr_async};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let callback = |req: &Request<()>, mut response: Response<()>| {
                println!("request for {} with {} headers", req.uri().path(), req.headers().len());
                if req.uri().path() == "/private" {
                    let mut refusal = Response::new(Some("not here\n".to_string()));
                    *refusal.status_mut() = StatusCode::FORBIDDEN;
                    return Err(refusal);
                }
                response.headers_mut().append("x-custom-header", ":)".parse().unwrap());
                Ok(response)
            };
            let Ok(mut ws) = accept_hdr_async(stream, callback).await else { return };
            while let Some(Ok(msg)) = ws.next().await {
                let reply = Message::text(format!("you said: {}", msg.to_text().unwrap_or("(binary)")));
                if (msg.is_text() || msg.is_binary()) && ws.send(reply).await.is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}
