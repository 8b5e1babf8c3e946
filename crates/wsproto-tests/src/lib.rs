//! Helpers for the cross-crate tests: echo servers on each adapter, and one client script.
//!
//! Every server listens on 127.0.0.1 with an ephemeral port, runs on its own thread, and stops
//! when the test process ends.

use std::future::Future;
use std::net::SocketAddr;
use wsproto::{Bytes, CloseCode, CloseFrame, Config, Message, MessageKind};
use wsproto_io::{Runtime, Transport, WebSocketStream};

/// The messages every client sends, in order: the echo of each must come back intact.
pub fn script() -> Vec<Message> {
    let big: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i * 31 % 251) as u8).collect();
    vec![
        Message::text("hello"),
        Message::text(""),
        Message::text("κόσμε — unicode 🦀"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::binary(big),
        Message::text(r#"{"type":"chat","user":"ada","text":"compressible compressible compressible"}"#.repeat(50)),
    ]
}

/// A fragmented message the clients send with `Message::Fragment`, and the whole it echoes as.
pub fn fragments() -> (Vec<Message>, Message) {
    let parts: [&[u8]; 3] = [b"frag", b"men", b"ted"];
    let frags = parts
        .iter()
        .enumerate()
        .map(|(i, p)| Message::Fragment { kind: MessageKind::Binary, payload: Bytes::copy_from_slice(p), first: i == 0, last: i == 2 })
        .collect();
    (frags, Message::binary(b"fragmented".to_vec()))
}

/// The close frame the clients end with.
pub fn goodbye() -> CloseFrame {
    CloseFrame::new(CloseCode(4000), "bye")
}

/// Configurations to run every pairing with: without and with permessage-deflate.
pub fn configs() -> Vec<(&'static str, Config)> {
    vec![("plain", Config::default()), ("deflate", Config::default().with_deflate())]
}

fn bind() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1")
}

/// A tokio server on its own thread (a current-thread runtime): `handle` runs as a task for
/// every accepted connection.
pub fn tokio_server<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio_server_on(bind(), handle)
}

/// [`tokio_server`] on a listener of your own (another address, say).
pub fn tokio_server_on<F, Fut>(listener: std::net::TcpListener, handle: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(handle(tcp));
            }
        });
    });
    addr
}

/// Echoes every data message until the connection ends, on either async adapter.
pub async fn echo<S: Transport, R: Runtime>(mut ws: WebSocketStream<S, R>) {
    while let Some(Ok(m)) = ws.recv().await {
        if m.is_data() && ws.send(m).await.is_err() {
            return;
        }
    }
}

/// An echo server on the tokio adapter.
pub fn tokio_echo_server(config: Config) -> SocketAddr {
    tokio_echo_server_on(bind(), config)
}

/// An echo server on the tokio adapter, on a listener of your own.
pub fn tokio_echo_server_on(listener: std::net::TcpListener, config: Config) -> SocketAddr {
    tokio_server_on(listener, move |tcp| {
        let config = config.clone();
        async move {
            if let Ok(ws) = wsproto_tokio::accept_with(tcp, config, |_| Ok(wsproto::handshake::Accept::new())).await {
                echo(ws).await;
            }
        }
    })
}

/// An echo server on the smol adapter.
pub fn smol_echo_server(config: Config) -> SocketAddr {
    let listener = bind();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        smol::block_on(async move {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let config = config.clone();
                smol::spawn(async move {
                    if let Ok(ws) = wsproto_smol::accept_with(tcp, config, |_| Ok(wsproto::handshake::Accept::new())).await {
                        echo(ws).await;
                    }
                })
                .detach();
            }
        });
    });
    addr
}

/// An echo server on the blocking adapter, a thread per connection.
pub fn blocking_echo_server(config: Config) -> SocketAddr {
    let listener = bind();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let tcp = tcp.unwrap();
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(mut ws) = wsproto_blocking::accept_with(tcp, config, |_| Ok(wsproto::handshake::Accept::new())) else { return };
                while let Ok(m) = ws.read() {
                    if m.is_data() && ws.send(m).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// What a client saw: the echoes in order, whether pings were answered, and the close.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Data messages received.
    pub echoes: Vec<Message>,
    /// Pongs received.
    pub pongs: Vec<Bytes>,
    /// The peer's close frame, if any.
    pub close: Option<CloseFrame>,
}

impl Transcript {
    /// Asserts that every message came back intact, the ping was answered, and the server echoed
    /// our close code.
    pub fn check(&self, what: &str) {
        let (_, whole) = fragments();
        let mut expected = script();
        expected.push(whole);
        assert_eq!(self.echoes.len(), expected.len(), "{what}: echo count");
        for (i, (got, want)) in self.echoes.iter().zip(&expected).enumerate() {
            assert!(got == want, "{what}: echo {i} differs ({} vs {} bytes)", got.payload().len(), want.payload().len());
        }
        assert_eq!(self.pongs, [Bytes::from_static(b"ping!")], "{what}: pong");
        assert_eq!(self.close.as_ref().map(|c| c.code), Some(CloseCode(4000)), "{what}: close echoed");
    }

    /// Records one received message; returns true when the close arrived.
    pub fn record(&mut self, m: Message) -> bool {
        match m {
            Message::Pong(p) => self.pongs.push(p),
            Message::Close(c) => {
                self.close = c;
                return true;
            }
            Message::Ping(_) => {}
            other => self.echoes.push(other),
        }
        false
    }
}

/// Sends each message of [`script`] and records its echo, on either async adapter.
pub async fn send_script<S: Transport, R: Runtime>(ws: &mut WebSocketStream<S, R>, t: &mut Transcript) {
    for m in script() {
        ws.send(m).await.unwrap();
        t.record(ws.recv().await.unwrap().unwrap());
    }
}

/// The whole script on a connected async client: the messages, a fragmented message, a ping,
/// and a close that the peer echoes; the stream must end after it.
pub async fn run_script<S: Transport, R: Runtime>(mut ws: WebSocketStream<S, R>) -> Transcript {
    let mut t = Transcript::default();
    send_script(&mut ws, &mut t).await;
    for f in fragments().0 {
        ws.send(f).await.unwrap();
    }
    t.record(ws.recv().await.unwrap().unwrap());
    ws.send(Message::Ping(Bytes::from_static(b"ping!"))).await.unwrap();
    t.record(ws.recv().await.unwrap().unwrap());
    ws.send(Message::Close(Some(goodbye()))).await.unwrap();
    while let Some(m) = ws.recv().await {
        if t.record(m.expect("a clean close")) {
            break;
        }
    }
    assert!(ws.recv().await.is_none(), "the stream ends after the close");
    t
}

/// The script on the tokio client.
pub async fn tokio_client(url: &str, config: Config) -> Transcript {
    run_script(wsproto_tokio::connect_with(url, config).await.expect("tokio connect").0).await
}

/// The script on the smol client.
pub async fn smol_client(url: &str, config: Config) -> Transcript {
    run_script(wsproto_smol::connect_with(url, config).await.expect("smol connect").0).await
}

/// The script on the blocking client.
pub fn blocking_client(url: &str, config: Config) -> Transcript {
    let (mut ws, _) = wsproto_blocking::connect_with(url, config).expect("blocking connect");
    let mut t = Transcript::default();
    for m in script() {
        ws.send(m).unwrap();
        t.record(ws.read().unwrap());
    }
    for f in fragments().0 {
        ws.send(f).unwrap();
    }
    t.record(ws.read().unwrap());
    ws.send(Message::Ping(Bytes::from_static(b"ping!"))).unwrap();
    t.record(ws.read().unwrap());
    ws.send(Message::Close(Some(goodbye()))).unwrap();
    loop {
        if t.record(ws.read().unwrap()) {
            break;
        }
    }
    // As in tungstenite: the end is reported once, then the connection is simply closed.
    assert!(matches!(ws.read(), Err(wsproto_blocking::Error::ConnectionClosed)), "the connection ends after the close");
    assert!(matches!(ws.read(), Err(wsproto_blocking::Error::AlreadyClosed)));
    t
}
