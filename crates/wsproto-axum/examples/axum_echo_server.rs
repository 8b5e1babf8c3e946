//! An axum application that echoes WebSocket messages at `/echo`, with `wsproto-axum`'s extractor
//! (permessage-deflate accepted, HTTP/1.1 and HTTP/2 on one port) and a graceful shutdown that
//! sends 1001 on Ctrl-C. CI runs Autobahn|Testsuite's server mode against it.
//!
//! `cargo run -p wsproto-axum --example axum_echo_server -- 127.0.0.1:9004`

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use futures_util::StreamExt;
use std::time::Duration;
use wsproto_axum::{Shutdown, WebSocket, WebSocketUpgrade};

async fn echo(ws: WebSocketUpgrade) -> Response {
    // Autobahn sends messages of up to 16 MiB.
    ws.max_message_size(64 << 20).max_frame_size(64 << 20).on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(m)) = socket.next().await {
            if m.is_data() && socket.send(m).await.is_err() {
                return;
            }
        }
    })
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9004".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on {}", listener.local_addr().expect("local address"));
    let shutdown = Shutdown::new();
    let app = Router::new().route("/echo", any(echo)).layer(axum::Extension(shutdown.clone()));
    axum::serve(listener, app).with_graceful_shutdown(async { tokio::signal::ctrl_c().await.expect("ctrl-c") }).await.expect("serve");
    let left = shutdown.shutdown(Duration::from_secs(3)).await;
    println!("stopped ({left} WebSockets did not close in time)");
}
