//! The floor for idle memory: tokio and the socket alone. Each connection's task answers the
//! opening handshake and small echo frames with a stack buffer and hand-written bytes, then just
//! waits in a read. It keeps no state of its own, so it shows what a connection costs before any
//! WebSocket library. (Only the accept key comes from wsproto's pure `accept_key` function.)

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() {
    wsproto_echo_servers::serve(|mut tcp| async move {
        let mut buf = [0u8; 1024];
        // The test client's request fits in one read.
        let Ok(n) = tcp.read(&mut buf).await else { return };
        let head = String::from_utf8_lossy(&buf[..n]);
        let Some(key) = head.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")) else { return };
        let accept = wsproto::handshake::accept_key(key.trim().as_bytes());
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        if tcp.write_all(resp.as_bytes()).await.is_err() {
            return;
        }
        // Echo small masked frames back unmasked (enough for the idle-memory test), then idle.
        loop {
            let Ok(n) = tcp.read(&mut buf).await else { return };
            if n < 6 {
                return;
            }
            let len = usize::from(buf[1] & 0x7F).min(n - 6);
            let key = [buf[2], buf[3], buf[4], buf[5]];
            let mut out = [0u8; 130];
            out[0] = buf[0];
            out[1] = len as u8;
            for i in 0..len {
                out[2 + i] = buf[6 + i] ^ key[i % 4];
            }
            if tcp.write_all(&out[..2 + len]).await.is_err() || buf[0] & 0x0F == 0x8 {
                return;
            }
        }
    })
    .await;
}
