//! `wsproto serve`: the chat page at `/`, chat rooms at `/chat` (the lobby) and `/chat/{room}`,
//! an echo endpoint at `/echo`. With `--redis`, several `serve` nodes are one chat (`broker.rs`).
//!
//! One port serves plain HTTP and WebSocket, HTTP/1.1 and HTTP/2, as real applications do
//! (hyper does the HTTP, in `http.rs`). Each connection runs in its own task under the core's
//! limits (handshake size and time, message size, write buffer), so a hostile client costs at most
//! those limits and never disturbs the others; `--max-connections` caps how many there are. Ctrl-C
//! (or SIGTERM) sends close 1001 to every client and waits briefly for them.

use crate::broker::{self, Broker};
use crate::http;
use crate::rooms::{Line, LineId, Rooms};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, broadcast, watch};
use tracing::{debug, info, warn};
use wsproto_tokio::Utf8Bytes;
use wsproto_tokio::wsproto::deflate::DeflateConfig;
use wsproto_tokio::{CloseCode, CloseFrame, Config, Message, WebSocketStream};

/// How long clients get to answer our close frame on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The address to listen on: HOST:PORT, or a port alone (on 127.0.0.1). Port 0 picks a free
    /// port.
    #[arg(default_value = "127.0.0.1:9001", value_parser = listen_address)]
    addr: String,
    /// The port to listen on, instead of the one in the address.
    #[arg(short, long)]
    port: Option<u16>,
    /// Negotiate permessage-deflate with clients that offer it. The default; the flag is kept
    /// for scripts that pass it.
    #[arg(long, overrides_with = "no_deflate")]
    deflate: bool,
    /// Do not negotiate permessage-deflate.
    #[arg(long, overrides_with = "deflate")]
    no_deflate: bool,
    /// Seconds without a compressed message after which a connection frees its compression
    /// state, keeping only its recent bytes ("0": after every message; "never").
    #[arg(long, default_value = "1", value_parser = hibernate_delay, value_name = "SECONDS")]
    deflate_idle: crate::MaybeDuration,
    /// The largest message accepted, in bytes (after decompression).
    #[arg(long, default_value_t = 16 << 20)]
    max_message_size: usize,
    /// Allow WebSocket connections from this origin only (repeatable). Without it, any origin.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// A subprotocol to support (repeatable, in order of preference).
    #[arg(long, value_name = "PROTOCOL")]
    subprotocol: Vec<String>,
    /// Seconds between keepalive pings (0: off). Unanswered pings close the connection.
    #[arg(long, default_value = "20", value_parser = crate::seconds)]
    ping_interval: crate::MaybeDuration,
    /// Seconds after a keepalive ping with no sign of life (its pong or any other data) before the
    /// peer counts as gone (0: forever).
    #[arg(long, default_value = "20", value_parser = crate::seconds)]
    ping_timeout: crate::MaybeDuration,
    /// Seconds to wait for the peer's answer to our close frame (0: forever).
    #[arg(long, default_value = "10", value_parser = crate::seconds)]
    close_timeout: crate::MaybeDuration,
    /// Seconds a client gets to send its request (and, with TLS, finish the TLS handshake).
    #[arg(long, default_value = "10", value_parser = crate::seconds)]
    handshake_timeout: crate::MaybeDuration,
    /// The most connections served at once (HTTP connections and WebSockets alike). Past it, a
    /// new connection, or a new WebSocket on an open HTTP/2 connection, gets 503 with
    /// Retry-After.
    #[arg(long, default_value_t = 50_000)]
    max_connections: usize,
    /// PEM certificate chain, to serve wss:// (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Join the other `serve` nodes on this Redis server (redis://HOST:PORT/): a room spans
    /// every node, counts its members across them, and keeps a history that a reconnecting
    /// client can recover from. Without it, this node is a chat of its own.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// With --redis: seconds for which this node's member counts stand without a refresh (it
    /// refreshes every third of it); a node that dies drops out of the counts within it.
    #[arg(long, default_value = "15", value_parser = positive_seconds, value_name = "SECONDS", requires = "redis")]
    presence_ttl: Duration,
    /// With --redis: how many seconds back a reconnecting client can recover what it missed.
    #[arg(long, default_value = "120", value_parser = positive_seconds, value_name = "SECONDS", requires = "redis")]
    history_window: Duration,
    /// With --redis: the most lines a room's history keeps.
    #[arg(long, default_value_t = 1000, requires = "redis")]
    history_len: usize,
}

/// A number of seconds above zero.
fn positive_seconds(s: &str) -> Result<Duration, String> {
    match crate::seconds(s)? {
        Some(d) => Ok(d),
        None => Err("must be more than 0".into()),
    }
}

/// Checks a listening address: `HOST:PORT`, `[V6]:PORT`, or a bare port (on 127.0.0.1).
fn listen_address(s: &str) -> Result<String, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(format!("127.0.0.1:{port}"));
    }
    let port = s.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() => Ok(s.to_string()),
        _ => Err(format!("{s:?} is not an address to listen on: give HOST:PORT (like 127.0.0.1:9001 or 0.0.0.0:80) or a port")),
    }
}

impl Args {
    /// Whether to negotiate permessage-deflate: on unless `--no-deflate` came last.
    fn deflate_on(&self) -> bool {
        self.deflate || !self.no_deflate
    }
}

/// `--deflate-idle`: a number of seconds, where 0 means after every message, or `never`.
fn hibernate_delay(s: &str) -> Result<crate::MaybeDuration, String> {
    if s == "never" {
        return Ok(None);
    }
    Ok(Some(crate::seconds(s)?.unwrap_or(Duration::ZERO)))
}

/// `addr` with its port replaced.
fn with_port(addr: &str, port: u16) -> String {
    match addr.rsplit_once(':') {
        Some((host, _)) => format!("{host}:{port}"),
        None => format!("{addr}:{port}"),
    }
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) subprotocols: Vec<String>,
    /// The chat rooms on this node: each line is encoded once and shared by every member's
    /// connection (one that compresses encodes its own copy).
    rooms: Arc<Rooms>,
    /// The link to the other nodes, with `--redis`.
    broker: Option<Broker>,
    shutdown: watch::Receiver<bool>,
    /// Connections being served: HTTP connections (until they end or upgrade) and WebSockets.
    pub(crate) connections: AtomicUsize,
    /// Open WebSockets, which shutdown waits for.
    pub(crate) websockets: AtomicUsize,
    pub(crate) max_connections: usize,
    idle: Notify,
}

impl Shared {
    pub(crate) fn websocket_ended(&self) {
        self.connections.fetch_sub(1, Ordering::SeqCst);
        if self.websockets.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}

pub(crate) async fn run(args: Args) -> ExitCode {
    let mut config =
        Config::default().max_message_size(args.max_message_size).max_frame_size(args.max_message_size).ping_interval(args.ping_interval);
    config.ping_timeout = args.ping_timeout;
    config.close_timeout = args.close_timeout;
    config.allowed_origins = args.allow_origin.clone();
    config.handshake_timeout = args.handshake_timeout;
    let deflate = args.deflate_on();
    if deflate {
        config = config.deflate(Some(DeflateConfig::default().hibernate_after(args.deflate_idle)));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match crate::tls::acceptor(cert, key) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("wsproto serve: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let addr = match args.port {
        Some(port) => with_port(&args.addr, port),
        None => args.addr.clone(),
    };
    crate::memory::give_freed_memory_back();
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("wsproto serve: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
    let (http, ws) = if tls.is_some() { ("https", "wss") } else { ("http", "ws") };
    println!("wsproto serving on {http}://{local}/  (chat page; WebSocket at {ws}://{local}/chat[/ROOM] and {ws}://{local}/echo)");
    info!(deflate, redis = args.redis, origins = ?args.allow_origin, subprotocols = ?args.subprotocol, ping_interval = ?args.ping_interval, max_connections = args.max_connections, "listening");

    let rooms = Arc::new(Rooms::default());
    let broker = match &args.redis {
        Some(url) => {
            let settings = broker::Settings {
                url: url.clone(),
                presence_ttl: args.presence_ttl,
                history_window: args.history_window,
                history_len: args.history_len,
            };
            match Broker::start(settings, rooms.clone()) {
                Ok(b) => Some(b),
                Err(e) => {
                    eprintln!("wsproto serve: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    let (stop, shutdown) = watch::channel(false);
    let shared = Arc::new(Shared {
        config,
        subprotocols: args.subprotocol,
        rooms,
        broker,
        shutdown,
        connections: AtomicUsize::new(0),
        websockets: AtomicUsize::new(0),
        max_connections: args.max_connections,
        idle: Notify::new(),
    });
    // Connections over the cap are answered 503 by a task each; past this many more, they are
    // dropped unanswered, so that a flood cannot grow even those without bound.
    let refusing = Arc::new(AtomicUsize::new(0));
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let shared = shared.clone();
                    let tls = tls.clone();
                    if shared.connections.load(Ordering::SeqCst) >= shared.max_connections {
                        if refusing.load(Ordering::SeqCst) >= REFUSING_MAX {
                            debug!(%peer, "dropped: at the connection limit");
                            continue;
                        }
                        refusing.fetch_add(1, Ordering::SeqCst);
                        let refusing = refusing.clone();
                        tokio::spawn(async move {
                            refuse(tcp, peer, tls, &shared).await;
                            refusing.fetch_sub(1, Ordering::SeqCst);
                        });
                        continue;
                    }
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        if !handle(tcp, peer, tls, shared.clone()).await {
                            shared.connections.fetch_sub(1, Ordering::SeqCst);
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    let open = shared.websockets.load(Ordering::SeqCst);
    info!(open, "shutting down: closing every WebSocket with 1001");
    drop(listener);
    let _ = stop.send(true);
    let all_closed = async {
        while shared.websockets.load(Ordering::SeqCst) > 0 {
            let notified = shared.idle.notified();
            if shared.websockets.load(Ordering::SeqCst) == 0 {
                break;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, all_closed).await.is_err() {
        warn!(left = shared.websockets.load(Ordering::SeqCst), "some connections did not close in time");
    }
    info!("stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The time a client gets for its request; without a configured timeout, practically forever.
fn handshake_timeout(config: &Config) -> Duration {
    config.handshake_timeout.unwrap_or(Duration::from_secs(365 * 24 * 3600))
}

/// Serves one TCP connection: TLS first if configured, then HTTP/1.1 or HTTP/2 (by ALPN under
/// TLS, by the connection preface in clear text). Returns whether a WebSocket took over the
/// connection's place under the cap.
async fn handle(tcp: TcpStream, peer: SocketAddr, tls: Option<tokio_rustls::TlsAcceptor>, shared: Arc<Shared>) -> bool {
    // Frames are written whole; Nagle's algorithm would only add latency.
    let _ = tcp.set_nodelay(true);
    let timeout = handshake_timeout(&shared.config);
    match tls {
        None => {
            let version = match tokio::time::timeout(timeout, http::sniff_version(&tcp)).await {
                Ok(Ok(v)) => v,
                Ok(Err(_)) => return false,
                Err(_) => {
                    debug!(%peer, "request timed out");
                    return false;
                }
            };
            http::serve_connection(tcp, version, peer, shared).await
        }
        // Boxed, like every step that runs once per connection: a future is as large as the
        // largest state it can be in, and the task keeps that size for the connection's whole
        // life. An idle plain connection should not pay for a TLS handshake it never did.
        Some(acceptor) => {
            Box::pin(async move {
                match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                        let version = if h2 { http::Version::Http2 } else { http::Version::Http1 };
                        http::serve_connection(stream, version, peer, shared).await
                    }
                    Ok(Err(e)) => {
                        debug!(%peer, "TLS handshake failed: {e}");
                        false
                    }
                    Err(_) => {
                        debug!(%peer, "TLS handshake timed out");
                        false
                    }
                }
            })
            .await
        }
    }
}

/// How many connections over the cap may be waiting for their 503 at once.
const REFUSING_MAX: usize = 256;

/// Answers a connection over the cap with 503 (after TLS, if configured) and closes it.
async fn refuse(tcp: TcpStream, peer: SocketAddr, tls: Option<tokio_rustls::TlsAcceptor>, shared: &Shared) {
    let timeout = handshake_timeout(&shared.config).min(Duration::from_secs(5));
    info!(%peer, "refusing a connection: at the limit of {}", shared.max_connections);
    match tls {
        None => http::refuse_connection(tcp, peer, timeout).await,
        Some(acceptor) => {
            if let Ok(Ok(stream)) = tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                http::refuse_connection(stream, peer, timeout).await
            }
        }
    }
}

/// Runs a WebSocket's session: a chat room at `/chat` and `/chat/{room}` (`query` holds the
/// member's name and, on reconnection, the id of the last line it saw), the echo otherwise.
pub(crate) async fn session<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Ws<S>, path: &str, query: Option<&str>, shared: &Shared) -> Ending {
    if let Some(room) = crate::rooms::room_of(path) {
        Box::pin(chat(ws, room, query, shared)).await
    } else {
        // By reference: a 900-byte stream moved into a callee's future would take space in both
        // futures for the connection's whole life.
        echo(ws, shared).await
    }
}

pub(crate) type Ws<S> = WebSocketStream<S>;

/// How a connection ended: the peer's close frame, if there was one.
pub(crate) type Ending = Result<Option<CloseFrame>, wsproto_tokio::Error>;

fn going_away() -> CloseFrame {
    CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down")
}

/// Echoes every text and binary message as it came. A burst of messages is answered with one
/// write: each receive is followed by the messages already buffered. On shutdown it sends 1001
/// and reads on until the client answers (within the close timeout).
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Ws<S>, shared: &Shared) -> Ending {
    let mut shutdown = shared.shutdown.clone();
    // One shutdown future for the whole connection: a fresh one per message would register with
    // the channel (behind a lock) every time.
    let shutdown = shutdown.changed();
    tokio::pin!(shutdown);
    let mut closing = false;
    let mut peer_close = None;
    loop {
        let message = tokio::select! {
            biased;
            m = ws.recv() => m,
            _ = &mut shutdown, if !closing => {
                closing = true;
                Box::pin(ws.close(Some(going_away()))).await?;
                continue;
            }
        };
        let Some(message) = message else { return Ok(peer_close) };
        let mut next = Some(message?);
        while let Some(m) = next.take() {
            match m {
                // Once our close is out, nothing more may be sent.
                Message::Text(_) | Message::Binary(_) if !closing && ws.connection().is_open() => ws.feed(m).await?,
                Message::Close(frame) => peer_close = frame,
                _ => {}
            }
            next = ws.next_buffered().transpose()?;
        }
        ws.flush().await?;
    }
}

/// The longest chat line passed on, in bytes of text: with the room's backlog of lines, it bounds
/// what a room holds for its slowest member.
const MAX_CHAT_TEXT: usize = 16 << 10;

/// A member of a chat room: each text message goes to every member of the room (on every node,
/// with `--redis`) with the sender's name and the number of members online.
async fn chat<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Ws<S>, room: &str, query: Option<&str>, shared: &Shared) -> Ending {
    let mut name: String =
        http::query_param(query, "name").unwrap_or_default().trim().chars().filter(|c| !c.is_control()).take(32).collect();
    if name.is_empty() {
        name = "anonymous".into();
    }
    let membership = shared.rooms.join(room);
    let room = membership.room.clone();
    let result = Box::pin(member(ws, &room, &name, membership.lines, http::query_param(query, "last_id"), shared)).await;
    shared.rooms.leave(room.clone());
    say(shared, &room, serde_json::json!({ "type": "leave", "name": name }));
    result
}

/// A member's time in the room: what it missed, if it is back, then its lines and the room's.
async fn member<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut Ws<S>,
    room: &Arc<str>,
    name: &str,
    mut lines: broadcast::Receiver<Line>,
    last_seen: Option<String>,
    shared: &Shared,
) -> Ending {
    // Already subscribed to the room's lines, so nothing said from here on is lost; what the
    // history gives is skipped when the room brings it again.
    let mut replayed_up_to = None;
    if let Some(last) = last_seen {
        let history = match (LineId::parse(&last), &shared.broker) {
            (Some(after), Some(broker)) => broker.history(room, after).await,
            _ => None,
        };
        match history {
            Some(history) => {
                if history.gap {
                    ws.feed(gap_notice(Some(&last), None)).await?;
                }
                for line in history.lines {
                    ws.feed_prepared(&line.message).await?;
                    replayed_up_to = line.id.or(replayed_up_to);
                }
                ws.flush().await?;
            }
            // No history to ask (no --redis, Redis away, or an id that is not one of ours).
            None => ws.send(gap_notice(Some(&last), None)).await?,
        }
    }
    say(shared, room, serde_json::json!({ "type": "join", "name": name }));
    let mut shutdown = shared.shutdown.clone();
    // One shutdown future for the whole connection, as in `echo`.
    let shutdown = shutdown.changed();
    tokio::pin!(shutdown);
    let mut closing = false;
    let mut peer_close = None;
    loop {
        tokio::select! {
            m = ws.recv() => match m {
                Some(Ok(Message::Text(text))) => {
                    // The page sends {"type":"message","text":...}; a plain string is taken as it is.
                    let said = match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(v) => v.get("text").and_then(|t| t.as_str()).map(str::to_owned),
                        Err(_) => Some(text.to_string()),
                    };
                    if let Some(mut said) = said {
                        if said.len() > MAX_CHAT_TEXT {
                            let mut end = MAX_CHAT_TEXT;
                            while !said.is_char_boundary(end) {
                                end -= 1;
                            }
                            said.truncate(end);
                        }
                        say(shared, room, serde_json::json!({ "type": "message", "from": name, "text": said }));
                    }
                }
                Some(Ok(Message::Close(frame))) => peer_close = frame,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(peer_close),
            },
            line = lines.recv() => {
                if closing {
                    // Our close is out: nothing more may be sent.
                    if matches!(line, Err(broadcast::error::RecvError::Closed)) {
                        return Ok(peer_close);
                    }
                    continue;
                }
                // This line and every one already waiting go out with one write.
                let mut next = Some(line);
                while let Some(line) = next.take() {
                    match line {
                        // Lines from the history came first; the room brings some of them again.
                        Ok(line) if line.id.is_some() && line.id <= replayed_up_to => {}
                        Ok(line) => ws.feed_prepared(&line.message).await?,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            // This member does not keep up (it does not read, or reads slowly):
                            // it loses the oldest lines rather than hold the room back or grow
                            // the backlog, and is told, so that it can reconnect with its last
                            // id to recover them.
                            warn!(name, room = &**room, missed, "a slow chat client missed lines");
                            ws.feed(gap_notice(None, Some(missed))).await?;
                        }
                        Err(broadcast::error::RecvError::Closed) => return Ok(peer_close),
                    }
                    next = match lines.try_recv() {
                        Ok(line) => Some(Ok(line)),
                        Err(broadcast::error::TryRecvError::Lagged(missed)) => Some(Err(broadcast::error::RecvError::Lagged(missed))),
                        Err(_) => None,
                    };
                }
                ws.flush().await?;
            }
            _ = &mut shutdown, if !closing => {
                closing = true;
                ws.close(Some(going_away())).await?;
            }
        }
    }
}

/// Tells a member that lines are missing: those after `after` that the history no longer has,
/// or `missed` lines it fell behind on.
fn gap_notice(after: Option<&str>, missed: Option<u64>) -> Message {
    let notice = serde_json::json!({ "type": "gap", "after": after, "missed": missed });
    Message::Text(Utf8Bytes::from(notice.to_string()))
}

/// Says `line` in `room`: through Redis to every node with `--redis` (to this node's members
/// only while Redis is away or cannot keep up), to this node's members otherwise.
fn say(shared: &Shared, room: &Arc<str>, line: serde_json::Value) {
    match &shared.broker {
        Some(broker) => {
            if let Err(line) = broker.say(room.clone(), line) {
                shared.rooms.say_here(room, line);
            }
        }
        None => shared.rooms.say_here(room, line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_addresses_take_a_bare_port_and_say_what_they_want() {
        assert_eq!(listen_address("9002").unwrap(), "127.0.0.1:9002");
        assert_eq!(listen_address("0.0.0.0:80").unwrap(), "0.0.0.0:80");
        assert_eq!(listen_address("[::1]:9001").unwrap(), "[::1]:9001");
        assert_eq!(listen_address("localhost:9001").unwrap(), "localhost:9001");
        for bad in ["9001x", "host", ":80", "host:port", "99999"] {
            let e = listen_address(bad).unwrap_err();
            assert!(e.contains("HOST:PORT"), "{bad}: {e}");
        }
        assert_eq!(with_port("127.0.0.1:9001", 9002), "127.0.0.1:9002");
        assert_eq!(with_port("[::1]:9001", 80), "[::1]:80");
    }

    #[test]
    fn deflate_idle_takes_seconds_zero_or_never() {
        assert_eq!(hibernate_delay("1"), Ok(Some(Duration::from_secs(1))));
        assert_eq!(hibernate_delay("0"), Ok(Some(Duration::ZERO)));
        assert_eq!(hibernate_delay("never"), Ok(None));
        assert!(hibernate_delay("soon").is_err());
    }

    #[test]
    fn deflate_is_on_unless_turned_off_and_the_last_flag_wins() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: Args,
        }
        let on = |argv: &[&str]| Cli::try_parse_from(std::iter::once("serve").chain(argv.iter().copied())).unwrap().serve.deflate_on();
        assert!(on(&[]));
        assert!(on(&["--deflate"]));
        assert!(!on(&["--no-deflate"]));
        assert!(!on(&["--deflate", "--no-deflate"]));
        assert!(on(&["--no-deflate", "--deflate"]));
    }
}
