//! `Http2Client` against a TLS hyper server: WebSockets go over HTTP/2 when the server offers
//! `h2` and extended CONNECT, and share one connection; over HTTP/1.1 when it does not.

use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use wsproto_hyper::{Accept, Http2Client, Message, Upgrade, default_config, http};

async fn echo(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let upgrade = match Upgrade::new(&mut req) {
        Ok(u) => u,
        Err(e) => return Ok(e.into_response()),
    };
    let (response, pending) = match upgrade.accept(Accept::new(), default_config().allow_origin("https://ok.example")) {
        Ok(accepted) => accepted,
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

struct TlsServer {
    addr: SocketAddr,
    /// TCP connections accepted so far.
    connections: Arc<AtomicUsize>,
    roots: rustls::RootCertStore,
}

/// A TLS server offering `alpn`, serving both HTTP versions; `extended_connect` advertises
/// RFC 8441 on HTTP/2.
async fn tls_server(alpn: &[&[u8]], extended_connect: bool) -> TlsServer {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if extended_connect {
                    builder.http2().enable_connect_protocol();
                }
                let _ = builder.serve_connection_with_upgrades(TokioIo::new(tls), service_fn(echo)).await;
            });
        }
    });
    TlsServer { addr, connections, roots }
}

async fn round_trip(ws: &mut wsproto_hyper::ClientWebSocket, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
}

#[tokio::test]
async fn websockets_to_one_origin_share_an_http2_connection() {
    let server = tls_server(&[b"h2", b"http/1.1"], true).await;
    let client = Http2Client::with_roots(server.roots.clone());
    let url = format!("wss://localhost:{}/feed", server.addr.port());
    let mut sockets = Vec::new();
    for i in 0..3 {
        let (mut ws, response) = client.connect(url.as_str(), default_config()).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2, "socket {i}");
        assert_eq!(response.status(), 200);
        assert!(ws.is_compressed());
        round_trip(&mut ws, &format!("socket {i}")).await;
        sockets.push(ws);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "three WebSockets, one TCP connection");
    assert_eq!(client.http2_connections(), 1);
    let mut first = sockets.remove(0);
    first.close(None).await.unwrap();
    for ws in &mut sockets {
        round_trip(ws, "after the first closed").await;
    }
}

#[tokio::test]
async fn without_extended_connect_or_h2_it_falls_back_to_http1() {
    // h2 offered but no extended CONNECT: a second connection, over HTTP/1.1.
    let server = tls_server(&[b"h2", b"http/1.1"], false).await;
    let client = Http2Client::with_roots(server.roots.clone());
    let url = format!("wss://localhost:{}/", server.addr.port());
    let (mut ws, response) = client.connect(url.as_str(), default_config()).await.unwrap();
    assert_eq!((response.status(), response.version()), (http::StatusCode::SWITCHING_PROTOCOLS, http::Version::HTTP_11));
    round_trip(&mut ws, "over HTTP/1.1").await;
    assert_eq!(client.http2_connections(), 0);
    // No h2 in ALPN at all: HTTP/1.1 on the first connection.
    let server = tls_server(&[b"http/1.1"], false).await;
    let client = Http2Client::with_roots(server.roots.clone());
    let url = format!("wss://localhost:{}/", server.addr.port());
    let (mut ws, response) = client.connect(url.as_str(), default_config()).await.unwrap();
    assert_eq!(response.status(), 101);
    round_trip(&mut ws, "plain").await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_origin_goes_over_http2_and_a_refusal_is_not_retried_over_http1() {
    let server = tls_server(&[b"h2", b"http/1.1"], true).await;
    let client = Http2Client::with_roots(server.roots.clone());
    let url = format!("wss://localhost:{}/", server.addr.port());
    let request = |origin: &str| wsproto_hyper::wsproto::ClientRequest::from_url(&url).unwrap().origin(origin);
    match client.connect(request("https://evil.example"), default_config()).await {
        Err(wsproto_hyper::Error::Handshake(wsproto_hyper::wsproto::HandshakeError::Rejected { status: 403, .. })) => {}
        other => panic!("expected the server's 403, got {:?}", other.map(|(_, r)| r)),
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "the 403 is the answer: no HTTP/1.1 retry");
    let (mut ws, response) = client.connect(request("https://ok.example"), default_config()).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    round_trip(&mut ws, "allowed").await;
    // A refusal on the shared connection is returned too, and the connection stays shared.
    assert!(client.connect(request("https://evil.example"), default_config()).await.is_err());
    assert_eq!(client.http2_connections(), 1);
    round_trip(&mut ws, "still allowed").await;
}
