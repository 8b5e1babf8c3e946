//! A hyper 1.x server that upgrades `/ws` to a WebSocket (with permessage-deflate) and echoes.
//!
//! hyper parses the HTTP request; wsproto validates it, negotiates deflate and builds the 101;
//! after hyper hands over the upgraded connection, `from_upgraded` runs the WebSocket on it.
//!
//! `cargo run -p wsproto-tokio --example hyper_upgrade -- 127.0.0.1:9002`, or with `--check` to
//! serve on a free port, connect to it, check one echo, and exit.

use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo as HyperIo;
use std::convert::Infallible;
use tokio::net::TcpListener;
use wsproto_tokio::wsproto::deflate::{DeflateConfig, negotiate_server};
use wsproto_tokio::wsproto::{Extension, handshake};
use wsproto_tokio::{Message, Role, default_config, from_upgraded};

async fn handle(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/ws" {
        return Ok(Response::builder().status(StatusCode::NOT_FOUND).body(Full::new(Bytes::from("not found\n"))).unwrap());
    }
    // Validate the upgrade (RFC 6455 §4.2.1) and negotiate permessage-deflate.
    let ws_req = match handshake::Request::from_http(&req) {
        Ok(r) => r,
        Err(e) => {
            let status = StatusCode::from_u16(e.status().unwrap_or(400)).unwrap_or(StatusCode::BAD_REQUEST);
            return Ok(Response::builder().status(status).body(Full::new(Bytes::from(format!("{e}\n")))).unwrap());
        }
    };
    let (ext_header, extension) = match negotiate_server(&DeflateConfig::default(), ws_req.extensions()) {
        Some((header, ext)) => (Some(header), Some(Box::new(ext) as Box<dyn Extension>)),
        None => (None, None),
    };
    let response = ws_req.upgrade_response(None, ext_header.as_deref());
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match upgrade.await {
            Ok(u) => u,
            Err(e) => return eprintln!("upgrade failed: {e}"),
        };
        let mut ws = from_upgraded(HyperIo::new(upgraded), Role::Server, default_config(), extension);
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
            let conn = http1::Builder::new().serve_connection(HyperIo::new(tcp), service_fn(handle)).with_upgrades();
            if let Err(e) = conn.await {
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
        println!("hyper server with WebSocket upgrade on ws://{local}/ws");
        serve(listener).await;
        return Ok(());
    }
    tokio::spawn(serve(listener));
    let (mut ws, response) = wsproto_tokio::connect(format!("ws://{local}/ws")).await?;
    assert!(ws.is_compressed(), "deflate negotiated through hyper: {:?}", response.headers());
    ws.send(Message::text("through hyper")).await?;
    let echo = ws.next().await.ok_or("no echo")??;
    assert_eq!(echo, Message::text("through hyper"));
    ws.close(None).await?;
    println!("hyper upgrade check passed");
    Ok(())
}
