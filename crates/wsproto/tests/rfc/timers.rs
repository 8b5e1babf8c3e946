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
    s.receive(&client_frame(0x8A, b"unrelated"));
    assert!(matches!(s.poll_event(), Some(Event::Pong(_))));
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)), "an unrelated pong does not count");
    s.receive(&client_frame(0x8A, payload));
    assert_eq!(s.poll_event(), None, "the keepalive pong is consumed, not reported");
    // Only the next ping remains scheduled.
    assert_eq!(s.poll_timeout(), Some(Instant::from_secs(40)));
    s.handle_timeout(Instant::from_secs(40));
    assert_eq!(s.poll_event(), None);
    assert!(s.is_open());
    assert_eq!(&drain(&mut s)[..2], &[0x89, 0x04]);
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
