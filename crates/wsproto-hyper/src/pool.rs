//! A client that opens `wss://` WebSockets over HTTP/2 where the server offers it (RFC 8441),
//! several to one origin sharing one connection, and over HTTP/1.1 otherwise, on the same call.

use crate::client::connect_http2_parts;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo as HyperIo};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use tokio::io::{AsyncRead, AsyncWrite};
use wsproto_io::tls::{client_config, server_name, webpki_roots};
use wsproto_io::{Error, IntoClientRequest};
use wsproto_tokio::wsproto::Config;
use wsproto_tokio::wsproto::handshake::ClientRequest;

use crate::http;

/// A transport of any kind: what [`ClientWebSocket`] runs on.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A WebSocket from [`Http2Client::connect`], over HTTP/2 or HTTP/1.1 alike.
pub type ClientWebSocket = wsproto_tokio::WebSocketStream<Box<dyn Io>>;

type Sender = SendRequest<Empty<Bytes>>;

/// hyper's HTTP/2 client connection over a TLS stream, driven by tokio.
type H2Connection = hyper::client::conn::http2::Connection<
    HyperIo<tokio_rustls::client::TlsStream<wsproto_tokio::ClientStream>>,
    Empty<Bytes>,
    TokioExecutor,
>;

/// Opens WebSockets the way a browser does: a `wss://` URL offers `h2` in ALPN, and when the
/// server takes it and advertises extended CONNECT, the WebSocket is a stream of that HTTP/2
/// connection, which later WebSockets to the same origin share (each closes on its own).
/// Otherwise (no `h2`, no extended CONNECT, or `ws://`) it is an ordinary HTTP/1.1 upgrade, on
/// the same call. [`connect`](Http2Client::connect) says which in the response's version.
///
/// This is not what `wsproto_tokio::connect` does, and that is deliberate: WebSockets that share
/// one TCP connection share its losses and its flow-control window (a stalled reader on one stream
/// can hold back the others), and extended CONNECT is still rare in proxies and load balancers.
/// Use it where many WebSockets go to one origin and connection set-up dominates.
///
/// ```no_run
/// # async fn run() -> Result<(), wsproto_hyper::Error> {
/// let client = wsproto_hyper::Http2Client::new();
/// let (ws, response) = client.connect("wss://example.com/feed", wsproto_hyper::default_config()).await?;
/// println!("over {:?}", response.version());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Http2Client {
    /// ALPN `h2` then `http/1.1`.
    h2_tls: tokio_rustls::TlsConnector,
    /// ALPN `http/1.1` only, for the fallback when an `h2` server has no extended CONNECT.
    h1_tls: tokio_rustls::TlsConnector,
    pool: Arc<Mutex<HashMap<String, Sender>>>,
}

impl std::fmt::Debug for Http2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.pool.lock().map(|p| p.len()).unwrap_or(0);
        f.debug_struct("Http2Client").field("http2_connections", &open).finish_non_exhaustive()
    }
}

impl Default for Http2Client {
    fn default() -> Self {
        Http2Client::new()
    }
}

impl Http2Client {
    /// A client trusting the Mozilla roots (`webpki-roots`).
    pub fn new() -> Http2Client {
        Http2Client::with_roots(webpki_roots())
    }

    /// A client trusting exactly `roots`.
    pub fn with_roots(roots: wsproto_io::tls::rustls::RootCertStore) -> Http2Client {
        let with_alpn = |protocols: &[&[u8]]| {
            let mut config = (*client_config(roots.clone())).clone();
            config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        };
        Http2Client { h2_tls: with_alpn(&[b"h2", b"http/1.1"]), h1_tls: with_alpn(&[b"http/1.1"]), pool: Arc::default() }
    }

    /// How many HTTP/2 connections are open for sharing.
    pub fn http2_connections(&self) -> usize {
        let mut pool = self.pool.lock().expect("the pool's lock is never held across a panic");
        pool.retain(|_, s| !s.is_closed());
        pool.len()
    }

    /// Opens a WebSocket: over HTTP/2 if the origin has (or now opens) an HTTP/2 connection with
    /// extended CONNECT, else over HTTP/1.1. Within `config`'s handshake timeout.
    ///
    /// Cancel safety: dropping the future before it completes drops the new WebSocket (and a
    /// new connection, unless it was already shared).
    pub async fn connect(&self, request: impl IntoClientRequest, config: Config) -> Result<(ClientWebSocket, http::Response<()>), Error> {
        let request = request.into_client_request()?;
        wsproto_io::within_handshake_timeout::<wsproto_tokio::Tokio, _, _>(config.handshake_timeout, self.open(request, config)).await
    }

    async fn open(&self, request: ClientRequest, config: Config) -> Result<(ClientWebSocket, http::Response<()>), Error> {
        let address = request.authority();
        if !request.is_secure() {
            let tcp = tcp(&request).await?;
            return wsproto_tokio::client_async(request, Box::new(tcp) as Box<dyn Io>, config).await;
        }
        if let Some(sender) = self.pooled(&address) {
            match self.over_http2(sender, &request, config.clone()).await {
                // The connection went away since: open another.
                Err(Error::Io(_)) => self.forget(&address),
                // Opened, or refused by the server (a 403 is its answer, not a broken connection).
                answered => return answered,
            }
        }
        let name = server_name(request.host())?;
        let tls =
            self.h2_tls.connect(name.clone(), tcp(&request).await?).await.map_err(|e| wsproto_io::tls::handshake_error(&address, e))?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            return wsproto_tokio::client_async(request, Box::new(tls) as Box<dyn Io>, config).await;
        }
        let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), HyperIo::new(tls)).await.map_err(io_error)?;
        let mut conn = Box::pin(conn);
        if advertises_extended_connect(&mut conn).await {
            tokio::spawn(conn);
            let opened = self.over_http2(sender.clone(), &request, config).await;
            if opened.is_ok() {
                self.pool.lock().expect("pool").insert(address, sender);
            }
            return opened;
        }
        // An HTTP/2 server without extended CONNECT: HTTP/1.1, on a connection of its own, since
        // this one speaks HTTP/2.
        let tls = self.h1_tls.connect(name, tcp(&request).await?).await.map_err(|e| wsproto_io::tls::handshake_error(&address, e))?;
        wsproto_tokio::client_async(request, Box::new(tls) as Box<dyn Io>, config).await
    }

    fn pooled(&self, address: &str) -> Option<Sender> {
        let pool = self.pool.lock().expect("pool");
        pool.get(address).filter(|s| !s.is_closed()).cloned()
    }

    fn forget(&self, address: &str) {
        self.pool.lock().expect("pool").remove(address);
    }

    async fn over_http2(
        &self,
        mut sender: Sender,
        request: &ClientRequest,
        config: Config,
    ) -> Result<(ClientWebSocket, http::Response<()>), Error> {
        let (conn, upgraded, head) = connect_http2_parts(&mut sender, request.to_http2(), config).await?;
        let io: Box<dyn Io> = Box::new(HyperIo::new(upgraded));
        Ok((wsproto_io::WebSocketStream::from_parts(wsproto_tokio::TokioIo::new(io), conn), head))
    }
}

/// TCP to the request's host, through the same opener as `connect` (every address tried, errors
/// that name what was tried).
async fn tcp(request: &ClientRequest) -> Result<wsproto_tokio::ClientStream, Error> {
    let display = wsproto_io::connect::address(request);
    wsproto_io::connect::open_tcp::<wsproto_tokio::Tokio>(request.host(), request.port(), &display, None).await
}

fn io_error(e: hyper::Error) -> Error {
    Error::Io(std::io::Error::other(e))
}

/// Whether the server's SETTINGS enable extended CONNECT (RFC 8441 §3). The server sends its
/// SETTINGS first thing, but hyper's handshake does not wait for them: this drives the connection
/// until the flag appears, the connection ends, or [`SETTINGS_WAIT`] passes.
async fn advertises_extended_connect(conn: &mut Pin<Box<H2Connection>>) -> bool {
    let settled = std::future::poll_fn(|cx| {
        if conn.is_extended_connect_protocol_enabled() {
            return Poll::Ready(true);
        }
        match conn.as_mut().poll(cx) {
            // The connection ended: nothing to open a stream on.
            Poll::Ready(_) => Poll::Ready(false),
            Poll::Pending => {
                if conn.is_extended_connect_protocol_enabled() {
                    Poll::Ready(true)
                } else {
                    Poll::Pending
                }
            }
        }
    });
    tokio::time::timeout(SETTINGS_WAIT, settled).await.unwrap_or(false)
}

/// How long a new HTTP/2 connection's SETTINGS may take to arrive before the client falls back to
/// HTTP/1.1.
const SETTINGS_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
