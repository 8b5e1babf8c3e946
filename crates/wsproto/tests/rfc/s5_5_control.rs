//! RFC 6455 §5.5: control frames.

use crate::common::*;
use wsproto::{Config, ConnectionError, Event, LocalError, ProtocolError};

#[test]
fn control_frames_over_125_bytes_fail_with_1002() {
    let evs = server_fails_with(Config::default(), &client_frame(0x89, &[0u8; 126]), 1002);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::ControlFrameTooLong(126))));
    // 125 bytes is fine.
    let mut s = open_server(Config::default());
    s.receive(&client_frame(0x89, &[1u8; 125]));
    assert_eq!(s.poll_event(), Some(Event::Ping(vec![1u8; 125].into())));
}

#[test]
fn fragmented_control_frames_fail_with_1002() {
    for op in [0x08, 0x09, 0x0A] {
        let evs = server_fails_with(Config::default(), &client_frame(op, b""), 1002);
        assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::FragmentedControlFrame)));
    }
}

#[test]
fn every_ping_gets_its_own_pong() {
    // Autobahn 2.10: ten pings in a row, ten pongs with the same payloads, in order.
    let mut s = open_server(Config::default());
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10 {
        let p = format!("payload-{i}");
        bytes.extend(client_frame(0x89, p.as_bytes()));
        expected.extend(server_frame(0x8A, p.as_bytes()));
    }
    s.receive(&bytes);
    assert_eq!(events(&mut s).len(), 10);
    assert_eq!(drain(&mut s), expected);
}

#[test]
fn automatic_pongs_can_be_turned_off() {
    let mut s = open_server(Config::default().auto_pong(false));
    s.receive(&client_frame(0x89, b"x"));
    assert_eq!(s.poll_event(), Some(Event::Ping(b"x".to_vec().into())));
    assert_eq!(s.output_len(), 0);
    s.pong(b"x").unwrap();
    assert_eq!(drain(&mut s), [0x8A, 0x01, b'x']);
}

#[test]
fn a_ping_flood_to_a_peer_that_never_reads_keeps_the_output_bounded() {
    let limit = 4096;
    let mut s = open_server(Config::default().write_buffer_limit(limit));
    let ping = client_frame(0x89, &[9u8; 125]);
    // Far past the limit either way (fewer under Miri, which is slow).
    for _ in 0..if cfg!(miri) { 200 } else { 10_000 } {
        s.receive(&ping);
        while s.poll_event().is_some() {}
        // Nobody drains the output.
        assert!(s.output_len() <= limit + 127, "{}", s.output_len());
    }
    // Once the peer reads again, the latest pong follows.
    let before = s.output_len();
    assert!(before >= limit);
    let out = drain(&mut s);
    assert_eq!(out.len(), before + 127);
    assert_eq!(&out[out.len() - 127..out.len() - 125], &[0x8A, 125]);
}

#[test]
fn pings_and_pongs_are_sent_on_request() {
    let mut s = open_server(Config::default());
    s.ping(b"are you there").unwrap();
    s.pong(b"heartbeat").unwrap();
    let mut want = server_frame(0x89, b"are you there");
    want.extend(server_frame(0x8A, b"heartbeat"));
    assert_eq!(drain(&mut s), want);
    assert_eq!(s.ping(&[0u8; 126]), Err(LocalError::ControlPayloadTooLong(126)));
    assert_eq!(s.output_len(), 0);
}
