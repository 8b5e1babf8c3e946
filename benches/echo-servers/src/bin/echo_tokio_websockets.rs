//! An echo server on tokio-websockets.

use futures_util::{SinkExt, StreamExt};

#[tokio::main]
async fn main() {
    wsproto_echo_servers::serve(|tcp| async move {
        let Ok((_request, mut ws)) = tokio_websockets::ServerBuilder::new().accept(tcp).await else { return };
        while let Some(Ok(m)) = ws.next().await {
            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                return;
            }
        }
    })
    .await;
}
