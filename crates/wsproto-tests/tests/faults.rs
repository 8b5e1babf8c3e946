//! Faults: peers that vanish, half-close, never read, trickle, or stop answering pings; and
//! split halves under load. Timer tests run on tokio's paused clock over in-memory streams, so
//! the detection times below are exact, not measured.

use futures_util::StreamExt;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use wsproto::{Bytes, Config, Message};
use wsproto_tokio::Error;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A masked client frame.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![b0];
    if payload.len() < 126 {
        out.push(0x80 | payload.len() as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Reads until the end of the HTTP response head.
async fn read_head<S: AsyncReadExt + Unpin>(s: &mut S) -> Vec<u8> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).await.unwrap(), 1, "EOF in the response head");
        head.push(b[0]);
    }
    head
}

/// A server on the tokio adapter, and a raw TCP client that has done the handshake.
async fn tcp_pair(config: Config) -> (tokio::task::JoinHandle<wsproto_tokio::WebSocketStream<TcpStream>>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        wsproto_tokio::accept_with(tcp, config, |_| Ok(wsproto::handshake::Accept::new())).await.unwrap()
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(REQUEST).await.unwrap();
    assert!(read_head(&mut client).await.starts_with(b"HTTP/1.1 101"));
    (server, client)
}

#[tokio::test]
async fn a_peer_that_vanishes_mid_frame_is_an_abnormal_close() {
    let (server, mut client) = tcp_pair(Config::default()).await;
    let mut ws = server.await.unwrap();
    client.write_all(&frame(0x81, &[b'x'; 100])[..20]).await.unwrap();
    drop(client);
    assert!(matches!(ws.next().await, Some(Err(Error::ResetWithoutClose))));
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn eof_without_a_close_frame_is_reported_both_ways() {
    let (server, client) = tcp_pair(Config::default()).await;
    let mut ws = server.await.unwrap();
    drop(client);
    assert!(matches!(ws.next().await, Some(Err(Error::ResetWithoutClose))));

    // And our client, when the server just goes away.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tcp.read(&mut buf).await.unwrap();
        let key =
            String::from_utf8_lossy(&buf[..n]).lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").map(str::to_owned)).unwrap();
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            wsproto::handshake::accept_key(key.as_bytes())
        );
        tcp.write_all(resp.as_bytes()).await.unwrap();
        // Gone without a close frame.
    });
    let (mut ws, _) = wsproto_tokio::connect_with(format!("ws://{addr}/"), Config::default()).await.unwrap();
    assert!(matches!(ws.next().await, Some(Err(Error::ResetWithoutClose))));
}

#[tokio::test]
async fn a_half_closed_peer_still_gets_its_messages_delivered_and_answered() {
    let (server, mut client) = tcp_pair(Config::default()).await;
    let mut ws = server.await.unwrap();
    client.write_all(&frame(0x81, b"last words")).await.unwrap();
    client.shutdown().await.unwrap();
    // Everything that arrived before the FIN is delivered, and we can still answer it.
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("last words"));
    ws.send(Message::text("heard you")).await.unwrap();
    let mut buf = [0u8; 11];
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"\x81\x09heard you");
    // Then the missing close is an abnormal end.
    assert!(matches!(ws.next().await, Some(Err(Error::ResetWithoutClose))));
}

#[tokio::test(start_paused = true)]
async fn a_server_whose_peer_never_reads_stays_within_its_write_limit() {
    let limit = 64 << 10;
    let (server, mut client) = tokio::io::duplex(256 << 10);
    let server = tokio::spawn(async move {
        wsproto_tokio::accept_with(server, Config::default().write_buffer_limit(limit), |_| Ok(Default::default())).await
    });
    client.write_all(REQUEST).await.unwrap();
    read_head(&mut client).await;
    let mut ws = server.await.unwrap().unwrap();
    let message = Message::binary(vec![7u8; 16 << 10]);
    let mut sent = 0usize;
    loop {
        // The peer never reads: once the pipe and our buffer are full, sending waits.
        match tokio::time::timeout(Duration::from_secs(5), ws.send(message.clone())).await {
            Ok(result) => result.unwrap(),
            Err(_) => break,
        }
        sent += 1;
        assert!(ws.connection().output_len() <= limit + (16 << 10) + 16, "{}", ws.connection().output_len());
    }
    // 256 KiB fit in the pipe; the rest of what was accepted sits in our bounded buffer.
    assert!(sent * (16 << 10) <= (256 << 10) + limit + (16 << 10), "{sent} messages accepted");
    assert!(ws.connection().output_len() <= limit + (16 << 10) + 16);
    drop(client);
}

#[tokio::test(start_paused = true)]
async fn a_handshake_that_trickles_in_times_out() {
    let (server, mut client) = tokio::io::duplex(4096);
    let started = tokio::time::Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(10)));
    let server = tokio::spawn(async move { wsproto_tokio::accept_with(server, config, |_| Ok(Default::default())).await });
    // One byte a second (slowloris): the request would take 150 s.
    tokio::spawn(async move {
        for b in REQUEST {
            if client.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let err = server.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Handshake(wsproto::HandshakeError::Timeout)), "{err}");
    assert_eq!(started.elapsed().as_secs(), 10);
}

#[tokio::test(start_paused = true)]
async fn an_opening_step_that_hangs_times_out_and_one_that_finishes_does_not() {
    // `connect` wraps its TCP connect in this; a connect that hangs cannot be made on loopback.
    let started = tokio::time::Instant::now();
    let hang = std::future::pending::<std::io::Result<()>>();
    let err = wsproto_io::within_handshake_timeout::<wsproto_tokio::Tokio, _, _>(Some(Duration::from_secs(7)), hang).await.unwrap_err();
    assert!(matches!(err, Error::Handshake(wsproto::HandshakeError::Timeout)), "{err}");
    assert_eq!(started.elapsed().as_secs(), 7);

    let quick = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok::<_, std::io::Error>(42)
    };
    assert_eq!(wsproto_io::within_handshake_timeout::<wsproto_tokio::Tokio, _, _>(Some(Duration::from_secs(7)), quick).await.unwrap(), 42);
    let failing = async { Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) };
    let err = wsproto_io::within_handshake_timeout::<wsproto_tokio::Tokio, _, _>(None, failing).await.unwrap_err();
    assert!(matches!(&err, Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused), "{err}");
}

/// A server over an in-memory pipe, and the raw client end after the handshake.
async fn duplex_pair(config: Config) -> (wsproto_tokio::WebSocketStream<DuplexStream>, DuplexStream) {
    let (server, mut client) = tokio::io::duplex(64 << 10);
    let server = tokio::spawn(async move { wsproto_tokio::accept_with(server, config, |_| Ok(Default::default())).await.unwrap() });
    client.write_all(REQUEST).await.unwrap();
    read_head(&mut client).await;
    (server.await.unwrap(), client)
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_answering_pings_is_dropped_at_interval_plus_timeout() {
    let (mut ws, mut client) = duplex_pair(wsproto_tokio::default_config()).await;
    let opened = tokio::time::Instant::now();
    // The peer reads (so pings get through) but never answers.
    let reader = tokio::spawn(async move {
        let mut pings = 0;
        let mut buf = [0u8; 256];
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => return pings,
                Ok(n) => pings += buf[..n].iter().filter(|&&b| b == 0x89).count(),
            }
        }
    });
    assert!(matches!(ws.next().await, Some(Err(Error::KeepaliveTimeout))));
    // Ping at 20 s, no pong by 40 s.
    assert_eq!(opened.elapsed(), Duration::from_secs(40));
    drop(ws);
    assert_eq!(reader.await.unwrap(), 1, "one keepalive ping was sent");
}

#[tokio::test(start_paused = true)]
async fn a_pong_that_arrived_while_the_application_was_sending_is_read_before_the_keepalive_verdict() {
    let (mut ws, mut client) = duplex_pair(wsproto_tokio::default_config()).await;
    let opened = tokio::time::Instant::now();
    // The keepalive ping goes out at 20 s (the only place timers run is the receiving side).
    assert!(tokio::time::timeout(Duration::from_secs(21), ws.next()).await.is_err());
    let peer = tokio::spawn(async move {
        // The peer answers at 30 s, within the 20 s allowed, then reads nothing until 50 s.
        tokio::time::sleep(Duration::from_secs(9)).await;
        let mut ping = [0u8; 6];
        client.read_exact(&mut ping).await.unwrap();
        assert_eq!(&ping[..2], &[0x89, 0x04], "our keepalive ping");
        client.write_all(&frame(0x8A, &ping[2..])).await.unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await;
        let mut message = vec![0u8; (1 << 20) + 10];
        client.read_exact(&mut message).await.unwrap();
        client
    });
    // Meanwhile the application sends 1 MiB, which the peer takes only at 50 s: its pong waits
    // unread in the transport, past the 40 s deadline.
    ws.send(Message::binary(vec![7u8; 1 << 20])).await.unwrap();
    assert_eq!(opened.elapsed(), Duration::from_secs(50));
    let _client = peer.await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    assert!(next.is_err(), "the pong counts; the connection stays open: {next:?}");
    assert!(ws.connection().is_open());
}

#[tokio::test(start_paused = true)]
async fn a_sender_whose_peer_died_with_its_output_unsent_fails_by_keepalive() {
    // One task sends, and never receives; the peer is gone without a word (it never reads).
    let (mut ws, _peer) = duplex_pair(wsproto_tokio::default_config()).await;
    let opened = tokio::time::Instant::now();
    let message = Message::binary(vec![7u8; 16 << 10]);
    let error = within_minutes(async {
        loop {
            if let Err(e) = ws.send(message.clone()).await {
                break e;
            }
        }
    })
    .await;
    // The keepalive ping was queued at 20 s behind output the transport never took.
    assert!(matches!(error, Error::KeepaliveTimeout), "{error:?}");
    assert_eq!(opened.elapsed(), Duration::from_secs(40));
    // The receiving side reports the same, and ends without waiting to flush to a dead peer.
    assert!(matches!(within_minutes(ws.next()).await, Some(Err(Error::KeepaliveTimeout))));
    assert!(within_minutes(ws.next()).await.is_none());
    assert_eq!(opened.elapsed(), Duration::from_secs(40));
    assert!(matches!(ws.send(message).await, Err(Error::AlreadyClosed)));
}

#[tokio::test(start_paused = true)]
async fn split_halves_whose_peer_died_with_our_output_unsent_both_end_at_the_keepalive() {
    let (ws, _peer) = duplex_pair(wsproto_tokio::default_config()).await;
    let opened = tokio::time::Instant::now();
    let (mut write, mut read) = ws.split();
    let writer = tokio::spawn(async move {
        let message = Message::binary(vec![7u8; 16 << 10]);
        loop {
            if let Err(e) = write.send(message.clone()).await {
                return (e, tokio::time::Instant::now());
            }
        }
    });
    // The reading half runs the timers: the ping at 20 s waits behind output never taken.
    // (With two tasks, tokio's timer wheel may round a deadline up by a millisecond or two.)
    let about_40_s = |d: Duration| (Duration::from_secs(40)..Duration::from_millis(40_010)).contains(&d);
    assert!(matches!(within_minutes(read.next()).await, Some(Err(Error::KeepaliveTimeout))));
    let ended = opened.elapsed();
    assert!(about_40_s(ended), "{ended:?}");
    let (error, at) = within_minutes(writer).await.unwrap();
    assert!(matches!(error, Error::AlreadyClosed), "{error:?}");
    assert_eq!(at.duration_since(opened), ended, "the writer is woken at once, not left waiting");
}

#[tokio::test(start_paused = true)]
async fn a_close_to_a_peer_that_died_with_our_output_unsent_ends_at_the_close_timeout() {
    let (mut ws, _peer) = duplex_pair(Config::default().close_timeout(Some(Duration::from_secs(10)))).await;
    // Fill the transport and our buffer: the peer never reads.
    let message = Message::binary(vec![7u8; 16 << 10]);
    while tokio::time::timeout(Duration::from_secs(1), ws.send(message.clone())).await.is_ok() {}
    let closing = tokio::time::Instant::now();
    let closed = within_minutes(ws.close(None)).await;
    assert!(matches!(closed, Err(Error::CloseTimeout)), "{closed:?}");
    assert_eq!(closing.elapsed(), Duration::from_secs(10));
    assert!(matches!(within_minutes(ws.next()).await, Some(Err(Error::CloseTimeout))));
    assert!(within_minutes(ws.next()).await.is_none());
}

/// `fut`'s output, or a failure if it takes more than 5 minutes (of the paused clock): what
/// these tests guard against is a wait that TCP alone would end, after a quarter of an hour.
async fn within_minutes<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(300), fut).await.expect("still waiting after 5 minutes")
}

#[tokio::test(start_paused = true)]
async fn a_close_after_a_quiet_minute_gives_the_peer_the_whole_close_timeout() {
    let (mut ws, mut client) = duplex_pair(Config::default().close_timeout(Some(Duration::from_secs(10)))).await;
    // A minute with nothing said, then our close; the peer takes 5 s to answer.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let peer = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &[0x88, 0x02, 0x03, 0xe8], "our close frame, 1000");
        tokio::time::sleep(Duration::from_secs(5)).await;
        client.write_all(&frame(0x88, &1000u16.to_be_bytes())).await.unwrap();
        // Then the server ends the transport.
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    });
    let closing = tokio::time::Instant::now();
    ws.close(None).await.unwrap();
    let answer = ws.next().await;
    assert!(
        matches!(&answer, Some(Ok(Message::Close(Some(f)))) if f.code == wsproto::CloseCode::NORMAL),
        "the peer's answer, not the close timeout: {answer:?}"
    );
    assert!(ws.next().await.is_none(), "then a clean end");
    assert_eq!(closing.elapsed(), Duration::from_secs(5));
    peer.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_answers_pings_stays_connected() {
    let (mut ws, client) = duplex_pair(wsproto_tokio::default_config()).await;
    // A well-behaved peer on our own client core, answering pings automatically.
    let peer = tokio::spawn(async move {
        let mut peer = wsproto_tokio::from_upgraded(client, wsproto::Role::Client, Config::default(), None);
        while let Some(Ok(_)) = peer.next().await {}
    });
    // Five quiet minutes: fifteen keepalive rounds, none of them surfacing as a message.
    let quiet = tokio::time::timeout(Duration::from_secs(300), ws.next()).await;
    assert!(quiet.is_err(), "no message and no disconnect: {quiet:?}");
    assert!(ws.connection().is_open());
    peer.abort();
}

#[tokio::test]
async fn split_halves_on_two_tasks_under_load_with_pings_from_the_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The server: a reader task and a writer task joined by a channel.
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = wsproto_tokio::accept_with(tcp, Config::default().with_deflate(), |_| Ok(Default::default())).await.unwrap();
        let (mut write, mut read) = ws.split();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(16);
        let writer = tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                write.send(m).await.unwrap();
            }
            write.close_with(None).await.unwrap();
        });
        while let Some(Ok(m)) = read.next().await {
            if m.is_data() {
                tx.send(m).await.unwrap();
            }
        }
        drop(tx);
        writer.await.unwrap();
    });
    let (ws, _) = wsproto_tokio::connect_with(format!("ws://{addr}/"), Config::default().with_deflate()).await.unwrap();
    let (mut write, mut read) = ws.split();
    let n = 2000;
    let sender = tokio::spawn(async move {
        for i in 0..n {
            write.feed(Message::text(format!("message {i}"))).await.unwrap();
            if i % 10 == 0 {
                write.feed(Message::Ping(Bytes::from(format!("p{i}")))).await.unwrap();
            }
        }
        write.flush().await.unwrap();
        write
    });
    let (mut echoes, mut pongs) = (0, 0);
    while echoes < n {
        match read.next().await.unwrap().unwrap() {
            Message::Text(t) => {
                assert_eq!(t.as_str(), format!("message {echoes}"));
                echoes += 1;
            }
            Message::Pong(p) => {
                assert_eq!(p, Bytes::from(format!("p{}", pongs * 10)));
                pongs += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    let mut write = sender.await.unwrap();
    write.close_with(None).await.unwrap();
    while let Some(m) = read.next().await {
        if let Message::Pong(_) = m.unwrap() {
            pongs += 1;
        }
    }
    assert_eq!(pongs, n / 10, "every ping answered");
}

#[tokio::test]
async fn a_reader_alone_still_answers_pings_and_close() {
    let (ws, mut client) = {
        let (server, mut client) = tokio::io::duplex(64 << 10);
        let server =
            tokio::spawn(async move { wsproto_tokio::accept_with(server, Config::default(), |_| Ok(Default::default())).await.unwrap() });
        client.write_all(REQUEST).await.unwrap();
        read_head(&mut client).await;
        (server.await.unwrap(), client)
    };
    let (_write_never_polled, mut read) = ws.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = read.next().await {} });
    client.write_all(&frame(0x89, b"hello?")).await.unwrap();
    let mut pong = [0u8; 8];
    client.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\x8a\x06hello?");
    client.write_all(&frame(0x88, &1000u16.to_be_bytes())).await.unwrap();
    let mut close = [0u8; 4];
    client.read_exact(&mut close).await.unwrap();
    assert_eq!(close, [0x88, 0x02, 0x03, 0xE8]);
    reader.await.unwrap();
}

/// A server on the blocking adapter, and a raw TCP client that has done the handshake.
fn blocking_tcp_pair(config: Config) -> (wsproto_blocking::WebSocket<std::net::TcpStream>, std::net::TcpStream) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (tcp, _) = listener.accept().unwrap();
    client.write_all(REQUEST).unwrap();
    let ws = wsproto_blocking::accept_with(tcp, config, |_| Ok(Default::default())).unwrap();
    let mut head = [0u8; 129];
    client.read_exact(&mut head).unwrap();
    assert!(head.starts_with(b"HTTP/1.1 101"));
    (ws, client)
}

#[test]
fn a_blocking_sender_whose_peer_stopped_reading_fails_by_keepalive() {
    let config = Config::default().ping_interval(Some(Duration::from_secs(1))).ping_timeout(Some(Duration::from_secs(1)));
    let (mut ws, client) = blocking_tcp_pair(config);
    // The client reads nothing more: the kernel buffers fill, and a blocking write would wait
    // for TCP to give up. The keepalive ends it instead: its ping waits behind output that the
    // transport no longer takes.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let message = Message::binary(vec![1u8; 64 << 10]);
        let error = loop {
            if let Err(e) = ws.send(message.clone()) {
                break e;
            }
        };
        let then = ws.read().map(|m| m.len());
        let _ = tx.send((error, then));
    });
    let (error, then) = rx.recv_timeout(Duration::from_secs(120)).expect("still sending after 2 minutes");
    assert!(matches!(error, wsproto_blocking::Error::KeepaliveTimeout), "{error:?}");
    assert!(matches!(then, Err(wsproto_blocking::Error::KeepaliveTimeout)), "{then:?}");
    drop(client);
}

#[test]
fn a_non_blocking_std_stream_reports_would_block_and_loses_nothing() {
    use std::io::Read;
    let (mut ws, mut client) = blocking_tcp_pair(Config::default().write_buffer_limit(64 << 10));
    ws.get_mut().set_nonblocking(true).unwrap();
    // The client never reads: the kernel buffers fill, then sends report WouldBlock.
    let message = Message::binary(vec![1u8; 32 << 10]);
    let mut accepted = 0usize;
    loop {
        match ws.write(message.clone()) {
            Ok(()) => accepted += 1,
            Err(wsproto_blocking::Error::Local(wsproto::LocalError::WriteBufferFull { .. })) => break,
            Err(e) => panic!("{e}"),
        }
        match ws.flush() {
            Ok(()) => {}
            Err(wsproto_blocking::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        assert!(accepted < 100_000, "the kernel never pushed back");
    }
    assert!(ws.connection().output_len() <= (64 << 10) + (32 << 10) + 16);
    // Now the client reads everything; every accepted message arrives whole.
    ws.get_mut().set_nonblocking(false).unwrap();
    let drain = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        while let Ok(n) = client.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    });
    ws.flush().unwrap();
    drop(ws);
    let frame_len = 4 + (32 << 10);
    assert_eq!(drain.join().unwrap(), accepted * frame_len);
}
