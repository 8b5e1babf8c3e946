//! RFC 6455 §5.4: fragmentation.

use crate::common::*;
use wsproto::{Config, ConnectionError, Event, LocalError, MessageKind, ProtocolError};

#[test]
fn fragments_are_reassembled_with_pings_between_them() {
    let mut s = open_server(Config::default());
    let mut bytes = client_frame(0x01, b"Hel");
    bytes.extend(client_frame(0x89, b"p1"));
    bytes.extend(client_frame(0x00, b"lo, "));
    bytes.extend(client_frame(0x8A, b"p2"));
    bytes.extend(client_frame(0x80, b"world"));
    s.receive(&bytes);
    assert_eq!(
        events(&mut s),
        [Event::Ping(b"p1".to_vec().into()), Event::Pong(b"p2".to_vec().into()), Event::Text("Hello, world".into())]
    );
    // The ping between fragments was answered at once.
    assert_eq!(drain(&mut s), [0x8A, 0x02, b'p', b'1']);
}

#[test]
fn a_continuation_without_a_message_fails_with_1002() {
    let evs = server_fails_with(Config::default(), &client_frame(0x80, b"x"), 1002);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::UnexpectedContinuation)));
}

#[test]
fn a_new_message_inside_a_fragmented_one_fails_with_1002() {
    let mut bytes = client_frame(0x01, b"a");
    bytes.extend(client_frame(0x81, b"b"));
    let evs = server_fails_with(Config::default(), &bytes, 1002);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::ExpectedContinuation)));
    let mut bytes = client_frame(0x02, b"a");
    bytes.extend(client_frame(0x02, b"b"));
    server_fails_with(Config::default(), &bytes, 1002);
}

#[test]
fn sixty_five_thousand_one_byte_fragments_make_one_message() {
    // Autobahn 9.4.x sends messages in 65,536 fragments: reassembly is capped in bytes, not frames.
    let mut s = open_server(Config::default());
    let n = 65_536;
    let mut bytes = client_frame(0x02, b"x");
    for _ in 1..n - 1 {
        bytes.extend(client_frame(0x00, b"x"));
    }
    bytes.extend(client_frame(0x80, b"x"));
    s.receive(&bytes);
    assert_eq!(events(&mut s), [Event::Binary(vec![b'x'; n].into())]);
}

#[test]
fn streaming_mode_delivers_each_frame() {
    let mut s = open_server(Config::default().stream_fragments(true));
    let mut bytes = client_frame(0x01, "a€".as_bytes()[..2].as_ref());
    bytes.extend(client_frame(0x00, &"a€".as_bytes()[2..]));
    bytes.extend(client_frame(0x80, b"z"));
    bytes.extend(client_frame(0x82, b"single"));
    s.receive(&bytes);
    let frag = |payload: &[u8], kind, first, last| Event::Fragment { kind, payload: payload.to_vec().into(), first, last };
    assert_eq!(
        events(&mut s),
        [
            frag(&"a€".as_bytes()[..2], MessageKind::Text, true, false),
            frag(&"a€".as_bytes()[2..], MessageKind::Text, false, false),
            frag(b"z", MessageKind::Text, false, true),
            frag(b"single", MessageKind::Binary, true, true),
        ]
    );
}

#[test]
fn sending_fragments_produces_exact_frames_and_allows_control_frames_between() {
    let mut s = open_server(Config::default());
    s.send_fragment(MessageKind::Text, b"Hel", false).unwrap();
    assert_eq!(s.send_text("other"), Err(LocalError::FragmentInProgress));
    assert_eq!(s.send_fragment(MessageKind::Binary, b"x", false), Err(LocalError::FragmentKindMismatch));
    s.ping(b"").unwrap();
    s.send_fragment(MessageKind::Text, b"lo", true).unwrap();
    assert_eq!(drain(&mut s), [0x01, 0x03, b'H', b'e', b'l', 0x89, 0x00, 0x80, 0x02, b'l', b'o']);
    s.send_text("next").unwrap();
    assert_eq!(drain(&mut s)[0], 0x81);
}
