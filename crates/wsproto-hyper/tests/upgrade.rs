//! A hyper server that serves WebSockets over HTTP/1.1 and HTTP/2 on one port (hyper-util's
//! `auto` builder, extended CONNECT enabled), against our HTTP/1.1 client and our HTTP/2 client.

use futures_util::StreamExt;
use http_body_util::{Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use wsproto_hyper::{Accept, Message, Upgrade, connect_http2, default_config, http, wsproto};

/// Echoes every data message; `/chat` accepts the `chat` subprotocol; only `https://ok.example`
/// may connect from a browser.
async fn handle(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !wsproto_hyper::is_upgrade_request(&req) {
        return Ok(Response::builder().status(StatusCode::NOT_FOUND).body(Full::new(Bytes::from("not found\n"))).unwrap());
    }
    let mut config = default_config();
    config.allowed_origins = vec!["https://ok.example".into()];
    let upgrade = match Upgrade::new(&mut req) {
        Ok(u) => u,
        Err(e) => return Ok(e.into_response()),
    };
    let accept = match upgrade.request().choose_subprotocol(&["chat"]) {
        Some(p) => Accept::new().subprotocol(p),
        None => Accept::new(),
    };
    let (response, pending) = match upgrade.accept(accept, config) {
        Ok(a) => a,
        Err(e) => return Ok(e.into_response()),
    };
    tokio::spawn(async move {
        let Ok(mut ws) = pending.await else { return };
        while let Some(Ok(m)) = ws.next().await {
            if m.is_data() && ws.send(m).await.is_err() {
                return;
            }
        }
    });
    Ok(response.map(|()| Full::new(Bytes::new())))
}

async fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let _ = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service_fn(handle)).await;
            });
        }
    });
    addr
}

async fn h2_sender(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    sender
}

#[tokio::test]
async fn http1_upgrade_negotiates_deflate_and_echoes() {
    let addr = server().await;
    let (mut ws, response) = wsproto_tokio::connect(format!("ws://{addr}/echo")).await.unwrap();
    assert_eq!(response.status(), 101);
    assert!(ws.is_compressed(), "deflate negotiated: {:?}", response.headers());
    for i in 0..50 {
        let m = Message::text(format!("message {i} ").repeat(i + 1));
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    ws.close(None).await.unwrap();
    assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))), "the server answers our close");
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn http2_websockets_share_one_connection_and_close_one_by_one() {
    let addr = server().await;
    let mut sender = h2_sender(addr).await;
    let uri: http::Uri = format!("http://{addr}/chat").parse().unwrap();
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let req = http::Request::builder().uri(uri.clone()).header("sec-websocket-protocol", "chat").body(()).unwrap();
        let (ws, response) = connect_http2(&mut sender, req, default_config()).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        // RFC 8441 §5: no Sec-WebSocket-Accept and no Upgrade over HTTP/2.
        assert!(response.headers().get("sec-websocket-accept").is_none());
        assert!(response.headers().get("upgrade").is_none());
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
        assert_eq!(ws.subprotocol(), Some("chat"));
        assert!(ws.is_compressed());
        sockets.push(ws);
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        let m = Message::binary(vec![i as u8; 70_000]);
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    // Close the first: the others go on over the same connection.
    let mut first = sockets.remove(0);
    first.close(None).await.unwrap();
    assert!(matches!(first.next().await, Some(Ok(Message::Close(_)))));
    assert!(first.next().await.is_none());
    for ws in &mut sockets {
        ws.send(Message::text("still here")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("still here"));
        ws.close(None).await.unwrap();
        assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))));
        assert!(ws.next().await.is_none());
    }
}

async fn h2_status(addr: SocketAddr, req: http::Request<Empty<Bytes>>) -> (StatusCode, http::HeaderMap) {
    let mut sender = h2_sender(addr).await;
    let response = sender.send_request(req).await.unwrap();
    (response.status(), response.headers().clone())
}

fn connect_request(addr: SocketAddr, protocol: Option<&'static str>, version: &str) -> http::Request<Empty<Bytes>> {
    let mut req = http::Request::builder()
        .method("CONNECT")
        .version(http::Version::HTTP_2)
        .uri(format!("http://{addr}/echo"))
        .header("sec-websocket-version", version)
        .body(Empty::new())
        .unwrap();
    if let Some(p) = protocol {
        req.extensions_mut().insert(hyper::ext::Protocol::from_static(p));
    }
    req
}

#[tokio::test]
async fn bad_http2_requests_get_the_rfc_statuses() {
    let addr = server().await;
    // A :protocol other than websocket is not ours to answer.
    assert_eq!(h2_status(addr, connect_request(addr, Some("chat"), "13")).await.0, StatusCode::NOT_FOUND);
    // Another version: 426 with the version we speak.
    let (status, headers) = h2_status(addr, connect_request(addr, Some("websocket"), "8")).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(headers["sec-websocket-version"], "13");
    // An Origin outside the allow-list: 403, over HTTP/2 as over HTTP/1.1.
    let mut req = connect_request(addr, Some("websocket"), "13");
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(h2_status(addr, req).await.0, StatusCode::FORBIDDEN);
    let mut req = connect_request(addr, Some("websocket"), "13");
    req.headers_mut().insert("origin", "https://ok.example".parse().unwrap());
    assert_eq!(h2_status(addr, req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_http1_requests_get_the_rfc_statuses() {
    let addr = server().await;
    let request = |origin: &str| {
        let mut req = wsproto::handshake::ClientRequest::from_url(&format!("ws://{addr}/echo")).unwrap();
        if !origin.is_empty() {
            req = req.origin(origin);
        }
        req
    };
    let err = wsproto_tokio::connect(request("https://evil.example")).await.unwrap_err();
    match err {
        wsproto_tokio::Error::Handshake(wsproto::HandshakeError::Rejected { status, .. }) => assert_eq!(status, 403),
        other => panic!("expected a 403, got {other:?}"),
    }
    assert!(wsproto_tokio::connect(request("https://ok.example")).await.is_ok());
    // No key: 400 from the core's rules.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn.with_upgrades());
    let req = http::Request::get(format!("http://{addr}/echo"))
        .header("host", addr.to_string())
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-version", "13")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
