//! RFC 6455 §9 and §5.2: an extension of the application's own, installed on an upgraded
//! connection, owns the RSV bit it declares and transforms payloads both ways; what it cannot
//! decode fails the connection with 1007.

use crate::common::*;
use bytes::BytesMut;
use wsproto::extension::{DecodeError, Extension};
use wsproto::{CloseCode, Config, Connection, ConnectionError, Event, Instant, ProtocolError, SeededRandom};

/// Every payload byte XORed with 0x5A, marked with RSV2; a decoded 0xFF byte is "invalid".
#[derive(Debug)]
struct Xor;

impl Extension for Xor {
    fn rsv_bits(&self) -> u8 {
        0x20
    }

    fn decode(&mut self, input: &[u8], out: &mut BytesMut, limit: usize) -> Result<(), DecodeError> {
        if out.len() + input.len() > limit {
            return Err(DecodeError::TooBig);
        }
        for b in input {
            if b ^ 0x5A == 0xFF {
                return Err(DecodeError::Invalid("0xFF is not allowed"));
            }
            out.extend_from_slice(&[b ^ 0x5A]);
        }
        Ok(())
    }

    fn finish_decode(&mut self, _: &mut BytesMut, _: usize) -> Result<(), DecodeError> {
        Ok(())
    }

    fn begin_encode(&mut self, _: Option<usize>) -> u8 {
        0x20
    }

    fn encode(&mut self, input: &[u8], _: bool, out: &mut BytesMut) -> Result<(), &'static str> {
        out.extend(input.iter().map(|b| b ^ 0x5A));
        Ok(())
    }
}

fn pair() -> (Connection, Connection) {
    let server = Connection::upgraded_server(Config::default(), Some(Box::new(Xor)), Instant::ZERO);
    let client = Connection::upgraded_client(Config::default(), Some(Box::new(Xor)), Box::new(SeededRandom::new(7)), Instant::ZERO);
    (server, client)
}

#[test]
fn a_custom_extension_transforms_payloads_and_owns_its_rsv_bit() {
    let (mut s, mut c) = pair();
    c.send_text("hello").unwrap();
    let wire = drain(&mut c);
    assert_eq!(wire[0], 0x80 | 0x20 | 0x1, "FIN, RSV2 and text");
    s.receive(&wire);
    assert_eq!(events(&mut s), vec![Event::Text("hello".into())]);

    s.send_binary(&[1, 2, 3]).unwrap();
    let wire = drain(&mut s);
    assert_eq!(wire, vec![0x80 | 0x20 | 0x2, 3, 1 ^ 0x5A, 2 ^ 0x5A, 3 ^ 0x5A], "unmasked, transformed");
    c.receive(&wire);
    assert_eq!(events(&mut c), vec![Event::Binary(vec![1u8, 2, 3].into())]);
}

#[test]
fn the_defaults_of_the_extension_trait_keep_state_and_never_hibernate() {
    let mut x = Xor;
    assert!(!x.discard_encode());
    assert_eq!(x.hibernate_after(), None);
    x.hibernate();
    // With no hibernation deadline, a quiet connection has no timer at all.
    let (s, _) = pair();
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_payload_the_extension_cannot_decode_fails_with_1007() {
    let (mut s, _) = pair();
    // 0xA5 ^ 0x5A = 0xFF, which Xor refuses.
    let evs = {
        s.receive(&client_frame(0x80 | 0x20 | 0x2, &[0xA5]));
        events(&mut s)
    };
    let c = closed(&evs);
    assert_eq!(c.error, Some(ConnectionError::Protocol(ProtocolError::InvalidExtensionData("0xFF is not allowed"))));
    assert_eq!(c.sent.as_ref().map(|f| f.code), Some(CloseCode::INVALID_PAYLOAD));
    assert_eq!(DecodeError::Invalid("0xFF is not allowed").to_string(), "0xFF is not allowed");
    assert_eq!(DecodeError::TooBig.to_string(), "decoded message too big");
}

#[test]
fn rsv_bits_the_extension_does_not_own_still_fail_with_1002() {
    let (mut s, _) = pair();
    s.receive(&client_frame(0x80 | 0x10 | 0x2, b"x"));
    let evs = events(&mut s);
    assert_eq!(closed(&evs).sent.as_ref().map(|f| f.code), Some(CloseCode::PROTOCOL_ERROR));
}
