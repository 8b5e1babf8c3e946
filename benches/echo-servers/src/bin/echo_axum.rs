//! An echo server on axum's own `WebSocketUpgrade` (tokio-tungstenite underneath), written the
//! way axum's documentation shows: the baseline for `wsproto-axum`'s extractor
//! (`scripts/axum_bench.sh`).

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::any;
use axum::serve::ListenerExt;

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Text(_) | Message::Binary(_)) && socket.send(m).await.is_err() {
                return;
            }
        }
    })
}

#[tokio::main]
async fn main() {
    let listener = wsproto_echo_servers::bind().await.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, Router::new().route("/echo", any(echo))).await.expect("serve");
}
