//! RFC 6455 §5.2, §5.3 and §5.7: frames, masking and the RFC's example frames.

use crate::common::*;
use wsproto::{Config, ConnectionError, Event, ProtocolError};

#[test]
fn rfc_5_7_unmasked_hello_reaches_a_client() {
    let mut c = open_client(Config::default());
    c.receive(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(c.poll_event(), Some(Event::Text("Hello".into())));
}

#[test]
fn rfc_5_7_masked_hello_reaches_a_server() {
    let mut s = open_server(Config::default());
    s.receive(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    assert_eq!(s.poll_event(), Some(Event::Text("Hello".into())));
}

#[test]
fn rfc_5_7_fragmented_hello() {
    let mut c = open_client(Config::default());
    c.receive(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
    assert_eq!(c.poll_event(), None);
    c.receive(&[0x80, 0x02, 0x6c, 0x6f]);
    assert_eq!(c.poll_event(), Some(Event::Text("Hello".into())));
}

#[test]
fn rfc_5_7_ping_is_answered_with_the_masked_pong_bytes() {
    // A server's unmasked ping, answered by a client with a masked pong carrying the payload.
    let mut c = open_client(Config::default());
    c.receive(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(c.poll_event(), Some(Event::Ping(b"Hello".to_vec().into())));
    let out = drain(&mut c);
    assert_eq!(&out[..2], &[0x8a, 0x85]);
    let key = [out[2], out[3], out[4], out[5]];
    let unmasked: Vec<u8> = out[6..].iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
    assert_eq!(unmasked, b"Hello");
    // And a server answers the RFC's masked ping with an unmasked pong.
    let mut s = open_server(Config::default());
    s.receive(&client_frame(0x89, b"Hello"));
    assert_eq!(s.poll_event(), Some(Event::Ping(b"Hello".to_vec().into())));
    assert_eq!(drain(&mut s), [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn rfc_5_7_256_byte_and_64_kib_binary_messages() {
    let mut c = open_client(Config::default());
    let p256 = vec![0xAB; 256];
    let mut bytes = vec![0x82, 0x7E, 0x01, 0x00];
    bytes.extend_from_slice(&p256);
    c.receive(&bytes);
    assert_eq!(c.poll_event(), Some(Event::Binary(p256.into())));
    let p64k = vec![0xCD; 65536];
    let mut bytes = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
    bytes.extend_from_slice(&p64k);
    c.receive(&bytes);
    assert_eq!(c.poll_event(), Some(Event::Binary(p64k.into())));
}

#[test]
fn servers_send_exact_unmasked_frames_in_every_length_form() {
    let mut s = open_server(Config::default());
    s.send_text("Hello").unwrap();
    assert_eq!(drain(&mut s), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    s.send_binary(&[0u8; 256]).unwrap();
    let out = drain(&mut s);
    assert_eq!(&out[..4], &[0x82, 0x7E, 0x01, 0x00]);
    assert_eq!(out.len(), 4 + 256);
    s.send_binary(&vec![0u8; 65536]).unwrap();
    let out = drain(&mut s);
    assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    assert_eq!(out.len(), 10 + 65536);
    s.send_binary(&[]).unwrap();
    assert_eq!(drain(&mut s), [0x82, 0x00]);
}

#[test]
fn clients_mask_every_frame_with_a_fresh_key() {
    let mut c = open_client(Config::default());
    c.send_text("Hello").unwrap();
    c.send_text("Hello").unwrap();
    let out = drain(&mut c);
    assert_eq!(out.len(), 22);
    let (a, b) = out.split_at(11);
    for f in [a, b] {
        assert_eq!(&f[..2], &[0x81, 0x85]);
        let key = [f[2], f[3], f[4], f[5]];
        let p: Vec<u8> = f[6..].iter().enumerate().map(|(i, x)| x ^ key[i % 4]).collect();
        assert_eq!(p, b"Hello");
    }
    assert_ne!(&a[2..6], &b[2..6], "mask keys differ");
}

#[test]
fn rsv_bits_without_an_extension_fail_with_1002() {
    for b0 in [0xC1, 0xA1, 0x91, 0xF1] {
        let evs = server_fails_with(Config::default(), &client_frame(b0, b"x"), 1002);
        assert!(matches!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::ReservedBits(_)))));
    }
}

#[test]
fn reserved_opcodes_fail_with_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let evs = server_fails_with(Config::default(), &client_frame(0x80 | op, b""), 1002);
        assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::ReservedOpcode(op))));
    }
}

#[test]
fn a_64_bit_length_with_the_top_bit_fails_before_any_payload() {
    let header = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    let evs = server_fails_with(Config::default(), &header, 1002);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::LengthTopBitSet)));
}

#[test]
fn unmasked_client_frames_and_masked_server_frames_fail_with_1002() {
    let evs = server_fails_with(Config::default(), &server_frame(0x81, b"hi"), 1002);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::UnmaskedFrame)));
    let mut c = open_client(Config::default());
    c.receive(&client_frame(0x81, b"hi"));
    let evs = events(&mut c);
    assert_eq!(closed(&evs).error, Some(ConnectionError::Protocol(ProtocolError::MaskedFrame)));
    let out = drain(&mut c);
    // The client's close frame is masked and carries 1002.
    assert_eq!(out[0], 0x88);
    assert_eq!(out[1] & 0x80, 0x80);
    let key = [out[2], out[3], out[4], out[5]];
    assert_eq!([out[6] ^ key[0], out[7] ^ key[1]], 1002u16.to_be_bytes());
}

#[test]
fn input_split_at_every_byte_gives_the_same_events() {
    let mut stream = Vec::new();
    stream.extend(client_frame(0x81, "héllo".as_bytes()));
    stream.extend(client_frame(0x02, b"frag"));
    stream.extend(client_frame(0x89, b"ping"));
    stream.extend(client_frame(0x80, b"ment"));
    stream.extend(client_frame(0x82, &[7u8; 300]));
    stream.extend(client_frame(0x8A, b""));
    stream.extend(client_frame(0x88, &close_payload(1000, "bye")));
    let mut whole = open_server(Config::default());
    whole.receive(&stream);
    let expected = events(&mut whole);
    let expected_out = drain(&mut whole);
    assert_eq!(expected.len(), 7, "{expected:?}");
    for split in 0..stream.len() {
        let mut s = open_server(Config::default());
        s.receive(&stream[..split]);
        let mut got = events(&mut s);
        s.receive(&stream[split..]);
        got.extend(events(&mut s));
        assert_eq!(got, expected, "split at {split}");
        assert_eq!(drain(&mut s), expected_out, "split at {split}");
    }
    // And one byte at a time.
    let mut s = open_server(Config::default());
    let mut got = Vec::new();
    for b in &stream {
        s.receive(std::slice::from_ref(b));
        got.extend(events(&mut s));
    }
    assert_eq!(got, expected);
}
