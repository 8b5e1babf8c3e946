//! An echo server on tokio-tungstenite, written the way its documentation shows.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    wsproto_echo_servers::serve(|tcp| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
        while let Some(Ok(m)) = ws.next().await {
            // Close replies are queued by tungstenite and flushed by the next read.
            if matches!(m, Message::Text(_) | Message::Binary(_)) && ws.send(m).await.is_err() {
                return;
            }
        }
    })
    .await;
}
