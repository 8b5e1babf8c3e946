//! Time as an input: keepalive, idle timeout, and spurious wake-ups.

use crate::common::*;
use core::time::Duration;
use wsproto::{CloseCode, Config, ConnectionError, Event, Instant};

fn keepalive() -> Config {
    Config::default().ping_interval(Some(Duration::from_secs(20))).ping_timeout(Some(Duration::from_secs(20)))
}

#[test]
fn keepalive_detects_a_dead_peer_at_exactly_interval_plus_timeout() {
    let mut s = open_server(keepalive());
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(20)));
    s.handle_timeout(Instant::from_secs(20));
    assert_eq!(events(&mut s), []);
    let out = drain(&mut s);
    assert_eq!(&out[..2], &[0x89, 0x04], "a keepalive ping");
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)));
    s.handle_timeout(Instant::from_micros(40_000_000 - 1));
    assert_eq!(s.poll_event(), None, "still alive one microsecond before");
    s.handle_timeout(Instant::from_secs(40));
    let evs = events(&mut s);
    let c = closed(&evs);
    assert_eq!(c.error, Some(ConnectionError::KeepaliveTimeout));
    assert_eq!(c.sent.as_ref().unwrap().code, CloseCode::INTERNAL_ERROR);
}

#[test]
fn a_matching_pong_keeps_the_connection_alive() {
    let mut s = open_server(keepalive());
    s.handle_timeout(Instant::from_secs(20));
    let ping = drain(&mut s);
    let payload = &ping[2..6];
    s.handle_timeout(Instant::from_secs(25));
    s.receive(&client_frame(0x8A, payload));
    assert_eq!(s.poll_event(), None, "the keepalive pong is consumed, not reported");
    s.handle_timeout(Instant::from_secs(25));
    // Only the next ping remains scheduled.
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)));
    s.handle_timeout(Instant::from_secs(40));
    assert_eq!(s.poll_event(), None);
    assert!(s.is_open());
    assert_eq!(&drain(&mut s)[..2], &[0x89, 0x04]);
}

#[test]
fn anything_from_the_peer_gives_it_the_whole_pong_timeout_again() {
    let mut s = open_server(keepalive());
    s.handle_timeout(Instant::from_secs(20));
    assert_eq!(&drain(&mut s)[..2], &[0x89, 0x04]);
    // At 35 the first bytes of a large message arrive: the peer's pong is behind it.
    // Large enough to arrive in two parts (a tenth under Miri, which unmasks each byte slowly).
    let len = if cfg!(miri) { 30_000 } else { 300_000 };
    let message = client_frame(0x82, &vec![7u8; len]);
    s.receive(&message[..1000]);
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(20)), "asks for the time");
    s.handle_timeout(Instant::from_secs(35));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)), "the next ping is due first");
    s.handle_timeout(Instant::from_secs(40));
    assert_eq!(s.output_len(), 0, "no second ping while one is unanswered");
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(55)));
    // At 50 the rest of the message, then an unrelated pong (reported, and a sign of life too).
    s.receive(&message[1000..]);
    s.receive(&client_frame(0x8A, b"unrelated"));
    s.handle_timeout(Instant::from_secs(50));
    let evs = events(&mut s);
    assert!(matches!(&evs[..], [Event::Binary(b), Event::Pong(_)] if b.len() == len), "{evs:?}");
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(60)), "the next ping is due first");
    s.handle_timeout(Instant::from_secs(60));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(70)));
    // Then nothing more: dead exactly 20 s after the last sign of life.
    s.handle_timeout(Instant::from_micros(70_000_000 - 1));
    assert_eq!(s.poll_event(), None, "still alive one microsecond before");
    s.handle_timeout(Instant::from_secs(70));
    assert_eq!(closed(&events(&mut s)).error, Some(ConnectionError::KeepaliveTimeout));
}

#[test]
fn a_ping_behind_our_own_output_waits_while_the_transport_takes_that_output() {
    let mut s = open_server(keepalive());
    s.send_binary(&[1u8; 1 << 20]).unwrap();
    let message_len = s.output_len();
    s.handle_timeout(Instant::from_secs(20));
    assert_eq!(s.output_len(), message_len + 6, "the ping waits behind the message");
    // A slow reader: the transport takes a little at 30, 45 and 60, then the rest at 70.
    let mut told = 20;
    for (t, n) in [(30, 100_000), (45, 100_000), (60, 100_000)] {
        s.advance_output(n);
        assert_eq!(s.poll_timeout(), Some(Instant::from_secs(told)), "asks for the time");
        s.handle_timeout(Instant::from_secs(t));
        told = t;
        assert!(s.is_open(), "alive at {t} s");
    }
    // (The next ping, due at 40, was skipped at 45: one is still unanswered.)
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(65)), "the next ping is due first");
    s.handle_timeout(Instant::from_secs(65));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(80)), "20 s after the transport last took output");
    s.handle_timeout(Instant::from_secs(70));
    let rest = drain(&mut s);
    assert_eq!(&rest[rest.len() - 6..rest.len() - 4], &[0x89, 0x04], "the ping went out last");
    s.handle_timeout(Instant::from_secs(70));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(85)), "the next ping is due first");
    s.handle_timeout(Instant::from_secs(85));
    // The ping is out: from now on only the peer can show it is alive, until 20 s after the
    // transport took the ping.
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(90)));
    s.handle_timeout(Instant::from_micros(90_000_000 - 1));
    assert!(s.is_open(), "alive one microsecond before");
    s.handle_timeout(Instant::from_secs(90));
    assert_eq!(closed(&events(&mut s)).error, Some(ConnectionError::KeepaliveTimeout));
}

#[test]
fn a_ping_behind_output_that_never_moves_times_out() {
    let mut s = open_server(keepalive());
    s.send_binary(&[1u8; 1 << 20]).unwrap();
    s.handle_timeout(Instant::from_secs(20));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)));
    s.handle_timeout(Instant::from_secs(40));
    assert_eq!(closed(&events(&mut s)).error, Some(ConnectionError::KeepaliveTimeout));
}

#[test]
fn the_idle_timeout_closes_with_1001() {
    let mut s = open_server(Config::default().idle_timeout(Some(Duration::from_secs(30))));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(30)));
    s.handle_timeout(Instant::from_secs(10));
    s.receive(&client_frame(0x81, b"activity"));
    assert!(s.poll_event().is_some());
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)));
    s.handle_timeout(Instant::from_secs(40));
    assert_eq!(drain(&mut s), server_frame(0x88, &close_payload(1001, "idle timeout")));
}

#[test]
fn spurious_and_backward_wakeups_do_nothing() {
    let mut s = open_server(keepalive());
    for t in [0, 5, 19, 3, 10] {
        s.handle_timeout(Instant::from_secs(t));
        assert_eq!(s.poll_event(), None);
        assert_eq!(s.output_len(), 0);
        assert_eq!(s.poll_timeout(), Some(Instant::from_secs(20)));
    }
}

#[test]
fn without_timers_configured_there_is_no_deadline_once_open() {
    let s = open_server(Config::default());
    assert_eq!(s.poll_timeout(), None);
}
