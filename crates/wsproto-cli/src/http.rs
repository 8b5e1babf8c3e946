//! The HTTP side of `serve`, on hyper: HTTP/1.1 and HTTP/2 on one port (ALPN under TLS, the
//! connection preface in clear text), the chat page, and WebSocket upgrades at `/chat` and
//! `/echo` over both versions (RFC 8441 on HTTP/2).
//!
//! hyper enforces the head limits the core would (16 KiB of head, 128 headers, the handshake
//! timeout for a slow head); the WebSocket checks are the core's, through `wsproto-hyper`. An
//! HTTP/1.1 WebSocket then runs on the TCP (or TLS) stream itself, not on hyper's `Upgraded`.

use crate::serve::{Shared, Ws, session};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info};
use wsproto_hyper::{Accept, Upgrade, UpgradedStream};

const CHAT_PAGE: &str = include_str!("chat.html");

/// HTTP/2's connection preface (RFC 9113 §3.4): a client with prior knowledge starts with it.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How many WebSocket streams one HTTP/2 connection may open at once.
const H2_MAX_STREAMS: u32 = 128;

type Body = Full<Bytes>;

/// Which HTTP version a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Http1,
    Http2,
}

/// Waits for enough of a clear-text connection's first bytes to tell HTTP/2's preface from an
/// HTTP/1.1 request, without consuming them.
pub(crate) async fn sniff_version(tcp: &tokio::net::TcpStream) -> std::io::Result<Version> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        let n = tcp.peek(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if buf[..n] != H2_PREFACE[..n] {
            return Ok(Version::Http1);
        }
        if n == H2_PREFACE.len() {
            return Ok(Version::Http2);
        }
        // A prefix of the preface so far: wait for more. (peek returns at once while bytes are
        // waiting, so sleep a little rather than spin.)
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Serves one connection, HTTP/1.1 or HTTP/2, until it ends or upgrades. Returns whether an
/// HTTP/1.1 upgrade handed the connection, and its place under the connection cap, to a
/// WebSocket (which then gives the place back when it ends).
pub(crate) async fn serve_connection<S>(stream: S, version: Version, peer: SocketAddr, shared: Arc<Shared>) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    let config = &shared.config;
    let timeout = config.handshake_timeout.unwrap_or(Duration::from_secs(365 * 24 * 3600));
    let handed_over = Arc::new(AtomicBool::new(false));
    let service = {
        let shared = shared.clone();
        let handed_over = handed_over.clone();
        service_fn(move |req| route::<S>(req, peer, shared.clone(), handed_over.clone()))
    };
    let result = match version {
        Version::Http1 => {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                // hyper's buffer has a floor of 8 KiB; the core's head limit is 16 KiB.
                .max_buf_size(config.max_handshake_size.max(8192))
                .max_headers(config.max_handshake_headers);
            builder.serve_connection(io, service).with_upgrades().await
        }
        Version::Http2 => {
            let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            builder
                .timer(TokioTimer::new())
                // Every WebSocket route here accepts CONNECT, so extended CONNECT may be offered.
                .enable_connect_protocol()
                .max_concurrent_streams(H2_MAX_STREAMS)
                .max_header_list_size(config.max_handshake_size as u32)
                .keep_alive_interval(config.ping_interval)
                .keep_alive_timeout(config.ping_timeout.unwrap_or(Duration::from_secs(20)));
            builder.serve_connection(io, service).await
        }
    };
    if let Err(e) = result {
        debug!(%peer, "HTTP connection ended: {e}");
    }
    handed_over.load(Ordering::SeqCst)
}

/// Answers every request on a connection over the cap with 503, and closes it.
pub(crate) async fn refuse_connection<S>(stream: S, peer: SocketAddr, timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(|_req: Request<Incoming>| async { Ok::<_, Infallible>(unavailable()) });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(timeout).keep_alive(false).max_buf_size(8192);
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
        debug!(%peer, "refused connection ended: {e}");
    }
}

fn unavailable() -> Response<Body> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "the server is at its connection limit; try again later\n");
    response.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("5"));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

async fn route<S>(
    mut req: Request<Incoming>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    handed_over: Arc<AtomicBool>,
) -> Result<Response<Body>, Infallible>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let path = req.uri().path().to_owned();
    if req.method() == Method::CONNECT && !wsproto_hyper::is_upgrade_request(&req) {
        // A plain CONNECT (no :protocol) has no path to route by, and this is no proxy: the
        // WebSocket rules give it its 400 and say why.
        return Ok(websocket::<S>(&mut req, path, peer, shared, &handed_over));
    }
    Ok(match path.as_str() {
        "/" | "/index.html" if req.method() == Method::GET || req.method() == Method::HEAD => {
            let body = if req.method() == Method::HEAD { Bytes::new() } else { Bytes::from_static(CHAT_PAGE.as_bytes()) };
            let mut response = Response::new(Full::new(body));
            response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/html; charset=utf-8"));
            response
        }
        "/" | "/index.html" => {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response.headers_mut().insert(hyper::header::ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
            response
        }
        "/echo" => websocket::<S>(&mut req, path, peer, shared, &handed_over),
        _ if crate::rooms::room_of(&path).is_some() => websocket::<S>(&mut req, path, peer, shared, &handed_over),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// Checks and accepts a WebSocket request, and starts its session once hyper hands over the
/// connection.
fn websocket<S>(
    req: &mut Request<Incoming>,
    path: String,
    peer: SocketAddr,
    shared: Arc<Shared>,
    handed_over: &AtomicBool,
) -> Response<Body>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let version = req.version();
    let upgrade = match Upgrade::new(req) {
        Ok(u) => u,
        Err(e) => {
            info!(%peer, path, ?version, "handshake refused: {e}");
            return e.into_response();
        }
    };
    // Over the cap, a new WebSocket on an open HTTP/2 connection is refused like a new
    // connection is.
    if shared.websockets.load(Ordering::SeqCst) >= shared.max_connections {
        info!(%peer, path, ?version, "refused: at the connection limit");
        return unavailable();
    }
    let subprotocols: Vec<&str> = shared.subprotocols.iter().map(String::as_str).collect();
    let accept = match upgrade.request().choose_subprotocol(&subprotocols) {
        Some(p) => Accept::new().subprotocol(p),
        None => Accept::new(),
    };
    let (response, pending) = match upgrade.accept(accept, shared.config.clone()) {
        Ok(a) => a,
        Err(e) => {
            info!(%peer, path, ?version, "handshake refused: {e}");
            return e.into_response();
        }
    };
    let query = req.uri().query().map(str::to_owned);
    // An HTTP/1.1 connection becomes this WebSocket and hands it its place under the cap (counting
    // both until hyper's side of it ends would refuse a client in between). Each WebSocket on an
    // HTTP/2 connection takes a place of its own.
    if version == hyper::Version::HTTP_2 {
        shared.connections.fetch_add(1, Ordering::SeqCst);
    } else {
        handed_over.store(true, Ordering::SeqCst);
    }
    shared.websockets.fetch_add(1, Ordering::SeqCst);
    // Boxed, and awaited boxed: a task keeps the size of its largest state (and of everything it
    // captured) for the connection's whole life, and the pending connection and the upgrade are
    // needed only at the start. Unboxed they cost 2.2 KiB per idle connection.
    let pending = Box::new(pending);
    tokio::spawn(async move {
        match Box::pin(pending.into_direct::<S>()).await {
            Ok(UpgradedStream::Direct(ws)) => Box::pin(run(Box::new(ws), &path, query.as_deref(), version, peer, &shared)).await,
            Ok(UpgradedStream::Hyper(ws)) => Box::pin(run(Box::new(ws), &path, query.as_deref(), version, peer, &shared)).await,
            Err(e) => debug!(%peer, "upgrade failed: {e}"),
        }
        shared.websocket_ended();
    });
    response.map(|()| Full::new(Bytes::new()))
}

async fn run<T>(mut ws: Box<Ws<T>>, path: &str, query: Option<&str>, version: hyper::Version, peer: SocketAddr, shared: &Shared)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    info!(%peer, path, http = ?version, subprotocol = ws.subprotocol(), deflate = ws.is_compressed(), "connected");
    let result = session(&mut ws, path, query, shared).await;
    match result {
        Ok(Some(frame)) => info!(%peer, code = frame.code.0, reason = %frame.reason, "closed"),
        Ok(None) => info!(%peer, "closed"),
        Err(e) => info!(%peer, "closed: {e}"),
    }
}

/// Decodes `%XX` and `+` in a query value.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `key` in a query string.
pub(crate) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_found_and_decoded() {
        assert_eq!(query_param(Some("name=Ada%20L&x=1"), "name").as_deref(), Some("Ada L"));
        assert_eq!(query_param(Some("a=1&name=b+c"), "name").as_deref(), Some("b c"));
        assert_eq!(query_param(Some("name=%zz"), "name").as_deref(), Some("%zz"));
        assert_eq!(query_param(Some("name=%4"), "name").as_deref(), Some("%4"));
        assert_eq!(query_param(None, "name"), None);
        assert_eq!(query_param(Some("other=1"), "name"), None);
    }

    #[tokio::test]
    async fn the_preface_tells_http2_from_http1() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for (sent, expected) in
            [(H2_PREFACE, Version::Http2), (&b"GET / HTTP/1.1\r\n\r\n"[..], Version::Http1), (&b"PRI * HTTP/1.1\r\n"[..], Version::Http1)]
        {
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            // In two writes: a preface split across packets is still recognised.
            tokio::io::AsyncWriteExt::write_all(&mut client, &sent[..3]).await.unwrap();
            let sniff = tokio::spawn(async move { sniff_version(&server).await.map(|v| (v, server)) });
            tokio::time::sleep(Duration::from_millis(20)).await;
            tokio::io::AsyncWriteExt::write_all(&mut client, &sent[3..]).await.unwrap();
            let (version, server) = sniff.await.unwrap().unwrap();
            assert_eq!(version, expected);
            // Nothing was consumed.
            let mut buf = vec![0u8; sent.len()];
            server.peek(&mut buf).await.unwrap();
            assert_eq!(&buf[..3], &sent[..3]);
        }
    }
}
