//! RFC 6455 §5.5.1 and §7: the closing handshake and close codes.

use crate::common::*;
use core::time::Duration;
use wsproto::{Bytes, CloseCode, CloseFrame, Config, ConnectionError, ConnectionState, Event, Instant, LocalError, ProtocolError, Role};

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
    s.receive(&client_frame(0x88, &close_payload(1001, "")));
    let evs = events(&mut s);
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert_eq!(evs[0], Event::CloseReceived(CloseFrame::new(CloseCode::GOING_AWAY, "")));
    let c = closed(&evs);
    assert!(c.clean);
    assert_eq!(c.sent, Some(CloseFrame::new(CloseCode::GOING_AWAY, "shutting down")));
    assert_eq!(s.output_len(), 0, "no second close frame");
}

/// The peer sent these before it saw our close frame: they are real messages (tungstenite's
/// `test_receive_after_init_close` checks the same). Only the peer's close ends them.
#[test]
fn data_that_arrives_after_our_close_is_delivered_until_the_peers_close() {
    for role in [Role::Server, Role::Client] {
        let mut conn = if role == Role::Server { open_server(Config::default()) } else { open_client(Config::default()) };
        // Frames as the peer sends them: masked from a client, plain from a server.
        let frame = |b0: u8, payload: &[u8]| if role == Role::Server { client_frame(b0, payload) } else { server_frame(b0, payload) };
        conn.close(CloseCode::NORMAL, "bye").unwrap();
        drain(&mut conn);
        conn.receive(&frame(0x81, b"in flight"));
        conn.receive(&frame(0x02, b"frag"));
        conn.receive(&frame(0x89, b"p")); // a ping between fragments: reported, not answered
        conn.receive(&frame(0x80, b"ment"));
        conn.receive(&frame(0x88, &close_payload(1000, "")));
        conn.receive(&frame(0x81, b"after the peer's close"));
        let evs = events(&mut conn);
        assert_eq!(evs[0], Event::Text("in flight".into()), "{role:?}");
        assert_eq!(evs[1], Event::Ping(Bytes::from_static(b"p")), "{role:?}");
        assert_eq!(evs[2], Event::Binary(Bytes::from_static(b"fragment")), "{role:?}");
        assert_eq!(evs[3], Event::CloseReceived(CloseFrame::new(CloseCode::NORMAL, "")), "{role:?}");
        assert_eq!(conn.output_len(), 0, "{role:?}: no pong and no second close after ours");
        if role == Role::Server {
            assert!(closed(&evs).clean);
            assert_eq!(evs.len(), 5, "{evs:?}");
        } else {
            // The client waits for the server to end the transport; nothing more is delivered.
            assert_eq!(evs.len(), 4, "{evs:?}");
            conn.receive_eof();
            let evs = events(&mut conn);
            assert!(closed(&evs).clean, "{evs:?}");
        }
    }
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
    // The wait starts when the connection is next told the time, which it asks for at once.
    assert_eq!(c.poll_timeout(), Some(Instant::from_secs(0)));
    c.handle_timeout(Instant::from_secs(0));
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
    c.handle_timeout(Instant::from_secs(0));
    assert_eq!(c.poll_timeout(), Some(Instant::from_secs(3)));
    c.handle_timeout(Instant::from_secs(3));
    let evs = events(&mut c);
    assert!(closed(&evs).clean, "the closing handshake itself completed");
}

#[test]
fn a_peer_that_never_answers_our_close_times_out() {
    let mut s = open_server(Config::default());
    s.handle_timeout(Instant::from_secs(5));
    s.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(5)), "the connection asks for the time");
    s.handle_timeout(Instant::from_secs(5));
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
fn the_close_timeout_runs_from_the_next_time_told_not_from_a_quiet_minute_ago() {
    // Open at 0, then a minute without a word: the application closes at 60 s without telling
    // the connection the time first. The peer's answer must get the whole close timeout.
    let mut s = open_server(Config::default().close_timeout(Some(Duration::from_secs(10))));
    s.close(CloseCode::NORMAL, "").unwrap();
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(0)), "due at once: the connection needs the time");
    s.handle_timeout(Instant::from_secs(60));
    assert_eq!(events(&mut s), vec![], "not timed out: the wait has only begun");
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(70)));
    s.handle_timeout(Instant::from_secs(69));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(Instant::from_secs(70));
    let evs = events(&mut s);
    assert_eq!(closed(&evs).error, Some(ConnectionError::CloseTimeout));
}

#[test]
fn the_connection_reports_both_close_frames_and_its_state_throughout() {
    let mut s = open_server(Config::default());
    assert_eq!((s.role(), s.state()), (Role::Server, ConnectionState::Open));
    assert!(format!("{s:?}").contains("role: Server"), "{s:?}");
    s.close(CloseCode(4001), "done").unwrap();
    drain(&mut s);
    assert_eq!(s.state(), ConnectionState::Closing);
    assert_eq!(s.close_sent(), Some(&CloseFrame::new(CloseCode(4001), "done")));
    assert_eq!((s.close_received(), s.is_close_handshake_complete()), (None, false));
    s.receive(&client_frame(0x88, &close_payload(4001, "")));
    events(&mut s);
    assert_eq!(s.close_received(), Some(&CloseFrame::new(CloseCode(4001), "")));
    assert!(s.is_close_handshake_complete());
    assert_eq!(s.state(), ConnectionState::Closed);
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
