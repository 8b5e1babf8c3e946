//! RFC 6455 §5.5.1 and §7: the closing handshake and close codes.

use crate::common::*;
use core::time::Duration;
use wsproto::{CloseCode, CloseFrame, Config, ConnectionError, ConnectionState, Event, Instant, LocalError, ProtocolError};

#[test]
fn every_valid_code_is_echoed_and_the_server_closes_at_once() {
    for code in [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
        let mut s = open_server(Config::default());
        s.receive(&client_frame(0x88, &close_payload(code, "reason")));
        let evs = events(&mut s);
        assert_eq!(evs[0], Event::CloseReceived(CloseFrame::new(CloseCode(code), "reason")));
        let c = closed(&evs);
        assert!(c.clean);
        assert_eq!(c.error, None);
        assert_eq!(c.code(), CloseCode(code));
        assert_eq!(c.reason(), "reason");
        assert_eq!(drain(&mut s), server_frame(0x88, &code.to_be_bytes()), "echo of {code}");
        assert!(s.is_closed());
    }
}

#[test]
fn invalid_codes_fail_with_1002() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        let evs = server_fails_with(Config::default(), &client_frame(0x88, &close_payload(code, "")), 1002);
        assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::InvalidCloseCode(code))));
    }
}

#[test]
fn a_one_byte_close_payload_fails_with_1002() {
    let evs = server_fails_with(Config::default(), &client_frame(0x88, &[0x03]), 1002);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::InvalidClosePayload)));
}

#[test]
fn an_invalid_utf8_reason_fails_with_1007() {
    let mut payload = close_payload(1000, "");
    payload.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64");
    let evs = server_fails_with(Config::default(), &client_frame(0x88, &payload), 1007);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8)));
}

#[test]
fn an_empty_close_is_echoed_empty_and_reported_as_1005() {
    let mut s = open_server(Config::default());
    s.receive(&client_frame(0x88, b""));
    let evs = events(&mut s);
    assert_eq!(evs[0], Event::CloseReceived(CloseFrame::new(CloseCode::NO_STATUS, "")));
    assert_eq!(closed(&evs).code(), CloseCode::NO_STATUS);
    assert_eq!(drain(&mut s), [0x88, 0x00]);
}

#[test]
fn a_locally_started_close_completes_when_the_peer_answers() {
    let mut s = open_server(Config::default());
    s.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
    assert_eq!(drain(&mut s), server_frame(0x88, &close_payload(1001, "shutting down")));
    assert_eq!(s.state(), ConnectionState::Closing);
    assert_eq!(s.send_text("late"), Err(LocalError::Closing));
    assert_eq!(s.close(CloseCode::NORMAL, ""), Err(LocalError::Closing));
    // Data that arrives after our close is dropped, not delivered.
    s.receive(&client_frame(0x81, b"in flight"));
    s.receive(&client_frame(0x02, b"frag"));
    s.receive(&client_frame(0x80, b"ment"));
    s.receive(&client_frame(0x88, &close_payload(1001, "")));
    let evs = events(&mut s);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert_eq!(evs[0], Event::CloseReceived(CloseFrame::new(CloseCode::GOING_AWAY, "")));
    let c = closed(&evs);
    assert!(c.clean);
    assert_eq!(c.sent, Some(CloseFrame::new(CloseCode::GOING_AWAY, "shutting down")));
    assert_eq!(s.output_len(), 0, "no second close frame");
}

#[test]
fn the_client_waits_for_the_server_to_end_the_transport() {
    let mut c = open_client(Config::default());
    c.close(CloseCode::NORMAL, "").unwrap();
    drain(&mut c);
    c.receive(&server_frame(0x88, &close_payload(1000, "")));
    let evs = events(&mut c);
    assert_eq!(evs.len(), 1, "no Closed until the server ends the transport: {evs:?}");
    assert_eq!(c.state(), ConnectionState::Closing);
    assert_eq!(c.poll_timeout(), Some(Instant::from_secs(10)));
    c.receive_eof();
    let evs = events(&mut c);
    let closed = closed(&evs);
    assert!(closed.clean);
    assert_eq!(closed.code(), CloseCode::NORMAL);
}

#[test]
fn the_client_gives_up_waiting_for_the_server_after_the_close_timeout() {
    let mut c = open_client(Config::default().close_timeout(Some(Duration::from_secs(3))));
    c.receive(&server_frame(0x88, &close_payload(1000, "")));
    assert!(matches!(c.poll_event(), Some(Event::CloseReceived(_))));
    assert_eq!(c.poll_event(), None);
    c.handle_timeout(Instant::from_secs(3));
    let evs = events(&mut c);
    assert!(closed(&evs).clean, "the closing handshake itself completed");
}

#[test]
fn a_peer_that_never_answers_our_close_times_out() {
    let mut s = open_server(Config::default());
    s.handle_timeout(Instant::from_secs(5));
    s.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(15)));
    s.handle_timeout(Instant::from_secs(14));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(Instant::from_secs(15));
    let evs = events(&mut s);
    let c = closed(&evs);
    assert_eq!(c.error, Some(ConnectionError::CloseTimeout));
    assert_eq!(c.code(), CloseCode::ABNORMAL);
}

#[test]
fn eof_without_a_close_frame_is_1006() {
    let mut s = open_server(Config::default());
    s.receive(&client_frame(0x81, b"hi")[..4]);
    s.receive_eof();
    let evs = events(&mut s);
    let c = closed(&evs);
    assert_eq!(c.code(), CloseCode::ABNORMAL);
    assert_eq!(c.error, Some(ConnectionError::UnexpectedEof));
    assert!(!c.clean);
}

#[test]
fn with_auto_close_off_the_application_answers() {
    let mut s = open_server(Config::default().auto_close(false));
    s.receive(&client_frame(0x88, &close_payload(4001, "bye")));
    assert_eq!(s.poll_event(), Some(Event::CloseReceived(CloseFrame::new(CloseCode(4001), "bye"))));
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.output_len(), 0);
    // Still allowed to send a last message before answering (RFC 6455 §5.5.1).
    s.send_text("last words").unwrap();
    s.close(CloseCode(4002), "ok").unwrap();
    let mut want = server_frame(0x81, b"last words");
    want.extend(server_frame(0x88, &close_payload(4002, "ok")));
    assert_eq!(drain(&mut s), want);
    let evs = events(&mut s);
    assert!(closed(&evs).clean);
}

#[test]
fn local_close_codes_are_checked() {
    let mut s = open_server(Config::default());
    for code in [1005u16, 1006, 1015, 999, 2000, 5000] {
        assert_eq!(s.close(CloseCode(code), "x"), Err(LocalError::InvalidCloseCode(CloseCode(code))));
    }
    assert_eq!(s.close(CloseCode::NORMAL, &"x".repeat(124)), Err(LocalError::ControlPayloadTooLong(126)));
    assert!(s.is_open(), "a refused close changes nothing");
    assert_eq!(s.output_len(), 0);
    s.close(CloseCode::NO_STATUS, "").unwrap();
    assert_eq!(drain(&mut s), [0x88, 0x00]);
}

#[test]
fn a_close_in_the_middle_of_a_fragmented_message_is_fine() {
    // Autobahn 7.1.5.
    let mut s = open_server(Config::default());
    let mut bytes = client_frame(0x01, b"frag");
    bytes.extend(client_frame(0x88, &close_payload(1000, "")));
    s.receive(&bytes);
    let evs = events(&mut s);
    assert!(closed(&evs).clean);
}
