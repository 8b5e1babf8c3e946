//! Size limits (checked on declared lengths, before allocation), backpressure, and local misuse.

use crate::common::*;
use wsproto::{Config, ConnectionError, Event, LocalError, Message, ProtocolError};

#[test]
fn a_frame_over_the_limit_fails_with_1009_from_its_header_alone() {
    // Only the header of a 1 GiB frame arrives.
    let header = [0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4];
    let evs = server_fails_with(Config::default(), &header, 1009);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::FrameTooBig { len: 1 << 30, limit: 16 << 20 })));
}

#[test]
fn a_message_over_the_limit_fails_with_1009() {
    let config = Config::default().max_message_size(1000);
    let evs = server_fails_with(config.clone(), &client_frame(0x82, &[0u8; 1001]), 1009);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::MessageTooBig { limit: 1000 })));
    // The same size in fragments fails at the fragment that crosses the limit.
    let mut bytes = Vec::new();
    bytes.extend(client_frame(0x02, &[0u8; 600]));
    bytes.extend(client_frame(0x00, &[0u8; 401])[..10].iter().copied());
    server_fails_with(config.clone(), &bytes, 1009);
    // Exactly at the limit is fine.
    let mut s = open_server(config);
    s.receive(&client_frame(0x82, &[0u8; 1000]));
    assert_eq!(s.poll_event(), Some(Event::Binary(vec![0u8; 1000].into())));
}

#[test]
fn endless_small_fragments_hit_the_message_limit() {
    // Smaller under Miri, which is slow; the limit is what matters, not its size.
    let limit = if cfg!(miri) { 500 } else { 10_000 };
    let mut s = open_server(Config::default().max_message_size(limit));
    s.receive(&client_frame(0x02, b"x"));
    let mut failed = false;
    for _ in 0..2 * limit {
        s.receive(&client_frame(0x00, b"x"));
        if let Some(Event::Closed(c)) = s.poll_event() {
            assert_eq!(c.sent.unwrap().code.0, 1009);
            failed = true;
            break;
        }
    }
    assert!(failed);
}

#[test]
fn a_full_write_buffer_refuses_sends_and_queues_nothing() {
    let mut s = open_server(Config::default().write_buffer_limit(1000));
    s.send_binary(&[0u8; 990]).unwrap();
    // Below the limit: accepted, even though it goes past it.
    s.send_binary(&[0u8; 500]).unwrap();
    let before = s.output_len();
    assert_eq!(s.send_text("more"), Err(LocalError::WriteBufferFull { buffered: before, limit: 1000 }));
    assert_eq!(s.ping(b""), Err(LocalError::WriteBufferFull { buffered: before, limit: 1000 }));
    assert_eq!(s.output_len(), before);
    assert!(s.is_write_buffer_full());
    drain(&mut s);
    s.send_text("more").unwrap();
}

#[test]
fn a_message_larger_than_the_write_limit_can_still_be_sent() {
    let mut s = open_server(Config::default().write_buffer_limit(100));
    s.send_binary(&[1u8; 10_000]).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 4 + 10_000);
}

#[test]
fn large_server_payloads_are_sent_without_a_copy() {
    let mut s = open_server(Config::default());
    let payload = wsproto::Bytes::from(vec![5u8; 100_000]);
    s.send(Message::Binary(payload.clone())).unwrap();
    let mut slices = [&[][..]; 4];
    let n = s.pending_output_slices(&mut slices);
    assert_eq!(n, 2);
    assert_eq!(slices[0], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x86, 0xA0]);
    assert_eq!(slices[1].as_ptr(), payload.as_ptr());
}

#[test]
fn send_dispatches_every_message_kind() {
    let mut s = open_server(Config::default());
    s.send(Message::text("t")).unwrap();
    s.send(Message::binary(vec![1u8])).unwrap();
    s.send(Message::Ping(vec![2u8].into())).unwrap();
    s.send(Message::Pong(vec![3u8].into())).unwrap();
    s.send(Message::Close(None)).unwrap();
    assert_eq!(drain(&mut s), [0x81, 1, b't', 0x82, 1, 1, 0x89, 1, 2, 0x8A, 1, 3, 0x88, 0]);
}
