//! RFC 6455 §8.1: text must be UTF-8, checked as it arrives.

use crate::common::*;
use wsproto::{Config, ConnectionError, Event, ProtocolError};

#[test]
fn invalid_text_fails_with_1007() {
    let evs = server_fails_with(Config::default(), &client_frame(0x81, b"\xff"), 1007);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8)));
}

#[test]
fn a_code_point_split_across_frames_is_valid() {
    let euro = "€".as_bytes();
    let mut s = open_server(Config::default());
    let mut bytes = client_frame(0x01, &euro[..1]);
    bytes.extend(client_frame(0x00, &euro[1..2]));
    bytes.extend(client_frame(0x80, &euro[2..]));
    s.receive(&bytes);
    assert_eq!(events(&mut s), [Event::Text("€".into())]);
}

#[test]
fn text_that_ends_inside_a_code_point_fails_with_1007() {
    server_fails_with(Config::default(), &client_frame(0x81, &"€".as_bytes()[..2]), 1007);
    let mut bytes = client_frame(0x01, b"ok");
    bytes.extend(client_frame(0x80, &"€".as_bytes()[..1]));
    server_fails_with(Config::default(), &bytes, 1007);
}

#[test]
fn invalid_text_fails_at_the_first_bad_byte_inside_an_unfinished_frame() {
    // Autobahn 6.4.3: the frame announces 21 bytes; the bad byte arrives with the first 12.
    let payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
    let wire = client_frame(0x81, payload);
    let mut s = open_server(Config::default());
    let header_len = 6;
    s.receive(&wire[..header_len + 11]);
    assert_eq!(s.poll_event(), None, "all valid so far");
    s.receive(&wire[header_len + 11..header_len + 13]);
    let evs = events(&mut s);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8)));
    let out = drain(&mut s);
    assert_eq!((out[0], &out[2..4]), (0x88, &1007u16.to_be_bytes()[..]));
}

#[test]
fn invalid_text_fails_in_the_bad_fragment_not_at_the_end_of_the_message() {
    // Autobahn 6.4.1: the second fragment is invalid; the third never needs to arrive.
    let mut s = open_server(Config::default());
    s.receive(&client_frame(0x01, "κόσμε".as_bytes()));
    assert_eq!(s.poll_event(), None);
    s.receive(&client_frame(0x00, b"\xf4\x90\x80\x80"));
    let evs = events(&mut s);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8)));
}

#[test]
fn binary_is_not_checked() {
    let mut s = open_server(Config::default());
    s.receive(&client_frame(0x82, b"\xff\xfe"));
    assert_eq!(s.poll_event(), Some(Event::Binary(b"\xff\xfe".to_vec().into())));
}
