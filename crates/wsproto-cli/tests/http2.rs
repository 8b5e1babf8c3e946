//! `wsproto serve` over HTTP/2 (prior knowledge in clear text; RFC 8441 extended CONNECT), its
//! connection cap, and HTTP/2 attacks, against the real binary.

use futures_util::StreamExt;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use wsproto_hyper::{Message, connect_http2, default_config, http};

mod support;
use support::Server;

type Sender = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

async fn h2(addr: SocketAddr) -> Sender {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    sender
}

fn request(addr: SocketAddr, path: &str) -> http::Request<()> {
    http::Request::builder().uri(format!("http://{addr}{path}")).body(()).unwrap()
}

/// A raw CONNECT, to send what our client would not.
fn connect(addr: SocketAddr, protocol: Option<&'static str>) -> http::Request<Empty<Bytes>> {
    let mut req = http::Request::builder()
        .method("CONNECT")
        .version(http::Version::HTTP_2)
        .uri(format!("http://{addr}/echo"))
        .header("sec-websocket-version", "13")
        .body(Empty::new())
        .unwrap();
    if let Some(p) = protocol {
        req.extensions_mut().insert(hyper::ext::Protocol::from_static(p));
    }
    req
}

#[tokio::test]
async fn websockets_share_an_http2_connection_and_the_page_is_served_over_it() {
    let server = Server::start(&["--ping-interval", "0"]);
    let mut sender = h2(server.addr).await;
    // The chat page over HTTP/2.
    let page = sender.send_request(http::Request::get(format!("http://{}/", server.addr)).body(Empty::new()).unwrap()).await.unwrap();
    assert_eq!((page.status(), page.version()), (http::StatusCode::OK, http::Version::HTTP_2));
    // Four WebSockets on the one connection: two echoes and two chat members.
    let (mut a, _) = connect_http2(&mut sender, request(server.addr, "/echo"), default_config()).await.unwrap();
    let (mut b, _) = connect_http2(&mut sender, request(server.addr, "/echo"), default_config()).await.unwrap();
    assert!(a.is_compressed() && b.is_compressed(), "deflate over HTTP/2 too");
    let (mut ada, _) = connect_http2(&mut sender, request(server.addr, "/chat?name=ada"), default_config()).await.unwrap();
    let (mut bob, _) = connect_http2(&mut sender, request(server.addr, "/chat?name=bob"), default_config()).await.unwrap();
    for i in 0..20 {
        let m = Message::binary(vec![i; 1000 * i as usize]);
        a.send(m.clone()).await.unwrap();
        b.send(Message::text(format!("b{i}"))).await.unwrap();
        assert_eq!(a.next().await.unwrap().unwrap(), m);
        assert_eq!(b.next().await.unwrap().unwrap(), Message::text(format!("b{i}")));
    }
    ada.send(Message::text(r#"{"type":"message","text":"hi over h2"}"#)).await.unwrap();
    loop {
        let m = bob.next().await.unwrap().unwrap();
        if m.to_text().unwrap().contains("hi over h2") {
            assert!(m.to_text().unwrap().contains(r#""from":"ada""#), "{m:?}");
            break;
        }
    }
    // Each closes on its own; the others go on.
    a.close(None).await.unwrap();
    assert!(matches!(a.next().await, Some(Ok(Message::Close(_)))));
    b.send(Message::text("after a left")).await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap(), Message::text("after a left"));
    for ws in [&mut b, &mut ada, &mut bob] {
        ws.close(None).await.unwrap();
    }
}

#[tokio::test]
async fn bad_http2_requests_are_refused_and_a_reset_stream_harms_nothing() {
    let server = Server::start(&["--ping-interval", "0"]);
    let mut sender = h2(server.addr).await;
    // A CONNECT without :protocol, and one with another protocol: not WebSockets.
    for protocol in [None, Some("chat")] {
        let response = sender.send_request(connect(server.addr, protocol)).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::BAD_REQUEST, "{protocol:?}");
    }
    // A WebSocket whose stream is reset in the middle of a message (its half frame dropped with
    // the stream): the connection and the server go on.
    let (mut ws, _) = connect_http2(&mut sender, request(server.addr, "/echo"), default_config()).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(ws.get_mut(), &[0x82, 0xfe, 0x10, 0x00, 0, 0, 0, 0, 1, 2, 3]).await.unwrap();
    drop(ws);
    let (mut ws, _) = connect_http2(&mut sender, request(server.addr, "/echo"), default_config()).await.unwrap();
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("still here"));
    // A flood of CONNECT streams on one connection: hyper's stream limit (128) holds them back,
    // and the server keeps serving.
    // Each answered stream is held open (its response kept), so the limit is what stops the rest.
    let mut flood = Vec::new();
    for _ in 0..300 {
        let mut s = sender.clone();
        let addr = server.addr;
        flood.push(tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(2), s.send_request(connect(addr, Some("websocket")))).await
        }));
    }
    let mut open = Vec::new();
    for f in flood {
        if let Ok(Ok(Ok(r))) = f.await {
            assert_eq!(r.status(), http::StatusCode::OK);
            open.push(r);
        }
    }
    // The limit is what holds the rest back (the WebSocket above, and the one reset before it if
    // the reset has not landed yet, take places too).
    assert!((1..=128).contains(&open.len()), "{} CONNECT streams open at once; the limit is 128", open.len());
    drop(open);
    let (mut fresh, _) = connect_http2(&mut h2(server.addr).await, request(server.addr, "/echo"), default_config()).await.unwrap();
    fresh.send(Message::text("after the flood")).await.unwrap();
    assert_eq!(fresh.next().await.unwrap().unwrap(), Message::text("after the flood"));
}

#[tokio::test]
async fn over_the_connection_cap_a_client_gets_503_before_the_upgrade() {
    let server = Server::start(&["--ping-interval", "0", "--max-connections", "2"]);
    let url = server.echo_url();
    // One right after the other: the first's HTTP connection hands its place to its WebSocket,
    // so the second is not refused while hyper finishes with the first.
    let (mut one, _) = wsproto_tokio::connect(url.as_str()).await.unwrap();
    let (mut two, _) = wsproto_tokio::connect(url.as_str()).await.unwrap();
    match wsproto_tokio::connect(url.as_str()).await {
        Err(wsproto_tokio::Error::Handshake(wsproto_tokio::wsproto::HandshakeError::Rejected { status, headers, .. })) => {
            assert_eq!(status, 503);
            assert!(headers.get("retry-after").is_some(), "503 says when to retry");
        }
        other => panic!("expected 503 over the cap, got {:?}", other.map(|(_, r)| r)),
    }
    // Room again once one leaves (the server counts it out when its session ends, just after
    // its close reply).
    one.close(None).await.unwrap();
    while one.next().await.is_some() {}
    let mut three = None;
    for _ in 0..50 {
        match wsproto_tokio::connect(url.as_str()).await {
            Ok((ws, _)) => {
                three = Some(ws);
                break;
            }
            Err(e) => eprintln!("{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut three = three.expect("a place once a client left");
    three.send(Message::text("in")).await.unwrap();
    assert_eq!(three.next().await.unwrap().unwrap(), Message::text("in"));
    two.send(Message::text("still")).await.unwrap();
    assert_eq!(two.next().await.unwrap().unwrap(), Message::text("still"));
}
