//! The extractor in a real axum application (`axum::serve`, HTTP/1.1 and HTTP/2 on one port),
//! against our HTTP/1.1 client, tokio-tungstenite, and our HTTP/2 client.

use axum::Router;
use axum::response::Response;
use axum::routing::any;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use wsproto_axum::{CloseCode, Message, Shutdown, WebSocket, WebSocketUpgrade};

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.protocols(["chat"]).allow_origin("https://ok.example").on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(m)) = socket.next().await {
            if m.is_data() && socket.send(m).await.is_err() {
                return;
            }
        }
    })
}

async fn app(shutdown: Shutdown) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/ws", any(echo)).layer(axum::Extension(shutdown));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn http1_with_deflate_echoes_300_messages() {
    let addr = app(Shutdown::new()).await;
    let (mut ws, response) = wsproto_tokio::connect(format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(response.status(), 101);
    assert!(ws.is_compressed(), "deflate negotiated: {:?}", response.headers());
    for i in 0..300 {
        let m = if i % 2 == 0 { Message::text(format!("{{\"n\":{i}}}").repeat(i % 40 + 1)) } else { Message::binary(vec![i as u8; i * 7]) };
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    ws.close(None).await.unwrap();
    assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))), "the server answers our close");
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn tokio_tungstenite_client_echoes() {
    use tokio_tungstenite::tungstenite::Message as TMessage;
    let addr = app(Shutdown::new()).await;
    let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(response.status(), 101);
    // tungstenite offers no extension, so none is agreed.
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    for i in 0..100 {
        let m = TMessage::text(format!("hello {i}"));
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn http2_extended_connect_through_axum_serve() {
    let addr = app(Shutdown::new()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    let uri = format!("http://{addr}/ws");
    let req = http::Request::builder().uri(&uri).header("sec-websocket-protocol", "chat").body(()).unwrap();
    let (mut ws, response) =
        wsproto_hyper::connect_http2::<http_body_util::Empty<bytes::Bytes>>(&mut sender, req, wsproto_axum::default_config())
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ws.subprotocol(), Some("chat"));
    assert!(ws.is_compressed());
    let m = Message::text("over HTTP/2".repeat(1000));
    ws.send(m.clone()).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), m);
    ws.close(None).await.unwrap();
    assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))), "the server answers our close");
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn rejections_carry_the_rfc_statuses() {
    let addr = app(Shutdown::new()).await;
    let status = |req: wsproto_axum::wsproto::handshake::ClientRequest| async move {
        match wsproto_tokio::connect(req).await {
            Err(wsproto_tokio::Error::Handshake(wsproto_axum::wsproto::HandshakeError::Rejected { status, .. })) => status,
            other => panic!("expected a refusal, got {:?}", other.map(|(_, r)| r)),
        }
    };
    let url = format!("ws://{addr}/ws");
    let req = wsproto_axum::wsproto::handshake::ClientRequest::from_url(&url).unwrap().origin("https://evil.example");
    assert_eq!(status(req).await, 403);
    // A plain GET is not an upgrade: 400 from the extractor's rejection.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Upgrade"), "the reason names what is missing: {answer}");
}

#[tokio::test]
async fn shutdown_sends_1001_to_every_websocket_and_waits_for_them() {
    let shutdown = Shutdown::new();
    let addr = app(shutdown.clone()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (mut ws, _) = wsproto_tokio::connect(format!("ws://{addr}/ws")).await.unwrap();
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hi"));
        clients.push(ws);
    }
    assert_eq!(shutdown.open(), 3);
    let waiting = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { shutdown.shutdown(Duration::from_secs(10)).await }
    });
    for ws in &mut clients {
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::GOING_AWAY),
            other => panic!("expected a 1001 close, got {other:?}"),
        }
        // Our client answers the close; the stream then ends.
        assert!(ws.next().await.is_none());
    }
    assert_eq!(waiting.await.unwrap(), 0, "every WebSocket task finished");
}
