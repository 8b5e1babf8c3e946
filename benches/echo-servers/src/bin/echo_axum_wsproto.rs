//! The same axum application as `echo_axum`, with `wsproto-axum`'s extractor in place of axum's:
//! the one line that changes is the import (`scripts/axum_bench.sh`).

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use wsproto_axum::{WebSocket, WebSocketUpgrade};

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(m)) = socket.next().await {
            if m.is_data() && socket.send(m).await.is_err() {
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
