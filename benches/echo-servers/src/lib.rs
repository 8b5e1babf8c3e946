//! What the echo servers share: the listener loop. Each server binary takes its address as the
//! first argument and prints `listening on ADDR` once it accepts connections.

use std::future::Future;
use tokio::net::{TcpListener, TcpStream};

/// Accepts forever, with Nagle off (as every server here sets it), and spawns `handle` per
/// connection.
pub async fn serve<F, Fut>(handle: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = bind().await;
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(handle(tcp));
    }
}

/// Binds the address given as the first argument (default 127.0.0.1:9010) and prints
/// `listening on ADDR`.
pub async fn bind() -> TcpListener {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9010".into());
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!("listening on {}", listener.local_addr().expect("local address"));
    listener
}
