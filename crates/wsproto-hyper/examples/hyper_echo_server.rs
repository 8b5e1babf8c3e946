//! A hyper 1.x server that serves a WebSocket echo at `/ws` over HTTP/1.1 and HTTP/2 on one port
//! (hyper-util's `auto` builder, extended CONNECT enabled), with permessage-deflate and an Origin
//! allow-list from one configuration.
//!
//! `cargo run -p wsproto-hyper --example hyper_echo_server -- 127.0.0.1:9002`, or with `--check`
//! to serve on a free port, connect over HTTP/1.1 and over HTTP/2, check an echo on each, and exit.

use futures_util::StreamExt;
use http_body_util::{Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use tokio::net::{TcpListener, TcpStream};
use wsproto_hyper::{Accept, Message, Upgrade, default_config, http};

async fn handle(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/ws" || !wsproto_hyper::is_upgrade_request(&req) {
        return Ok(Response::builder().status(StatusCode::NOT_FOUND).body(Full::new(Bytes::from("not found\n"))).unwrap());
    }
    let upgrade = match Upgrade::new(&mut req) {
        Ok(u) => u,
        Err(e) => return Ok(e.into_response()),
    };
    // Browsers on other sites may not open this WebSocket; non-browser clients send no Origin.
    let config = default_config().allow_origin("http://localhost:9002");
    let (response, pending) = match upgrade.accept(Accept::new(), config) {
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

async fn serve(listener: TcpListener) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            if let Err(e) = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service_fn(handle)).await {
                eprintln!("connection error: {e}");
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let check = std::env::args().any(|a| a == "--check");
    let addr = std::env::args().skip(1).find(|a| !a.starts_with("--")).unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(if check { "127.0.0.1:0" } else { &addr }).await?;
    let local = listener.local_addr()?;
    if !check {
        println!("hyper server with a WebSocket echo on ws://{local}/ws (HTTP/1.1 and HTTP/2)");
        serve(listener).await;
        return Ok(());
    }
    tokio::spawn(serve(listener));
    // HTTP/1.1, with the tokio adapter's client.
    let (mut ws, response) = wsproto_tokio::connect(format!("ws://{local}/ws")).await?;
    assert!(ws.is_compressed(), "deflate negotiated through hyper: {:?}", response.headers());
    ws.send(Message::text("through hyper")).await?;
    assert_eq!(ws.next().await.ok_or("no echo")??, Message::text("through hyper"));
    ws.close(None).await?;
    // HTTP/2: an extended CONNECT on a connection opened with hyper's client.
    let tcp = TcpStream::connect(local).await?;
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let req = http::Request::builder().uri(format!("http://{local}/ws")).body(())?;
    let (mut ws, response) = wsproto_hyper::connect_http2::<Empty<Bytes>>(&mut sender, req, default_config()).await?;
    assert_eq!(response.version(), http::Version::HTTP_2);
    ws.send(Message::text("over HTTP/2")).await?;
    assert_eq!(ws.next().await.ok_or("no echo")??, Message::text("over HTTP/2"));
    ws.close(None).await?;
    println!("hyper check passed: HTTP/1.1 and HTTP/2");
    Ok(())
}
