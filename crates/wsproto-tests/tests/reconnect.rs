//! The reconnecting client: the server is killed and restarted, and the client comes back with
//! delays inside the backoff bounds and goes on; a server that refuses with 403 is asked once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use wsproto::{Config, Message};
use wsproto_io::ConnectOptions;
use wsproto_io::reconnect::Backoff;

/// An echo server that can be killed (the listener and every connection dropped) and started
/// again on the same port. Counts the TCP connections it accepted.
struct Server {
    addr: SocketAddr,
    tasks: Option<JoinSet<()>>,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    async fn start(addr: SocketAddr, accepted: Arc<AtomicUsize>, status: Option<u16>) -> Server {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = JoinSet::new();
        let counted = accepted.clone();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                connections.spawn(async move {
                    let ws = wsproto_tokio::accept_with(tcp, Config::default(), |_| match status {
                        Some(s) => Err(wsproto::handshake::Reject::new(s)),
                        None => Ok(wsproto::handshake::Accept::new()),
                    })
                    .await;
                    if let Ok(ws) = ws {
                        wsproto_tests::echo(ws).await;
                    }
                });
            }
        });
        Server { addr, tasks: Some(tasks), accepted }
    }

    /// Drops the listener and every connection, without a close frame (a crash).
    async fn kill(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}

fn backoff() -> Backoff {
    Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(400), factor: 2.0 }
}

#[tokio::test]
async fn the_client_comes_back_after_the_server_restarts() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let mut server = Server::start("127.0.0.1:0".parse().unwrap(), accepted.clone(), None).await;
    let addr = server.addr;
    let mut connections =
        wsproto_tokio::reconnect_with(format!("ws://{addr}/"), Config::default(), ConnectOptions::new(), backoff()).unwrap();

    let (mut ws, _) = connections.next().await.unwrap().unwrap();
    ws.send(Message::text("before")).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("before"));
    assert!(connections.delays().is_empty(), "the first connection opens at once");

    // The server crashes; the stream reports the drop.
    server.kill().await;
    match ws.recv().await {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("expected the drop, got {m:?}"),
    }
    drop(ws);
    // It comes back a little later, on the same port.
    let restart = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        Server::start(addr, accepted, None).await
    });
    let (mut ws, _) = connections.next().await.unwrap().unwrap();
    let server = restart.await.unwrap();
    ws.send(Message::text("after")).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("after"));

    // Every wait was inside its bound (jitter takes the upper half), and the waits grew while the
    // server was down: initial, then doubling, capped at max.
    let delays = connections.delays().to_vec();
    assert!(delays.len() >= 2, "{delays:?}: some attempts failed while the server was down");
    for (i, d) in delays.iter().enumerate() {
        let bound = backoff().bound(i as u32);
        assert!(*d <= bound && *d >= bound / 2, "delay {i} {d:?} outside ({:?}, {bound:?}]", bound / 2);
    }
    assert_eq!(backoff().bound(10), Duration::from_millis(400), "capped at max");
    assert!(server.accepted.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn a_refusal_with_403_is_not_retried() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let server = Server::start("127.0.0.1:0".parse().unwrap(), accepted.clone(), Some(403)).await;
    let mut connections =
        wsproto_tokio::reconnect_with(format!("ws://{}/", server.addr), Config::default(), ConnectOptions::new(), backoff()).unwrap();
    match connections.next().await {
        Some(Err(wsproto_io::Error::Handshake(wsproto::HandshakeError::Rejected { status: 403, .. }))) => {}
        other => panic!("expected the 403, got {:?}", other.map(|r| r.map(|(_, resp)| resp.status()))),
    }
    assert!(connections.next().await.is_none(), "no retry after a 4xx");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "asked once");
    // A 503 is worth retrying; a bad URL or an unknown scheme is not.
    assert!(wsproto_io::reconnect::retryable(&wsproto_io::Error::Handshake(wsproto::HandshakeError::Rejected {
        status: 503,
        headers: Default::default(),
        body: Vec::new()
    })));
    assert!(wsproto_tokio::reconnect("ftp://example.com/", Config::default()).is_err());
}

#[test]
fn smol_comes_back_too() {
    smol::block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        // Nothing listens yet: the first attempts fail and are retried.
        let server = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let listener = std::net::TcpListener::bind(addr).unwrap();
            wsproto_tests::tokio_echo_server_on(listener, Config::default())
        });
        let mut connections =
            wsproto_smol::reconnect_with(format!("ws://{addr}/"), Config::default(), ConnectOptions::new(), backoff()).unwrap();
        let (mut ws, _) = connections.next().await.unwrap().unwrap();
        server.join().unwrap();
        assert!(!connections.delays().is_empty(), "it waited and retried");
        ws.send(Message::text("smol")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("smol"));
    });
}
