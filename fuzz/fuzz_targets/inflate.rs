//! permessage-deflate's bounded inflation, on both backends, fed arbitrary compressed pieces:
//! never panics and never produces more than the limit it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto::deflate::{Backend, DeflateConfig, negotiate_server};
use wsproto::extension::DecodeError;
use wsproto::handshake::parse_extensions;
use wsproto::{BytesMut, Extension};

fuzz_target!(|input: (bool, u16, Vec<Vec<u8>>)| {
    let (zlib, limit, messages) = input;
    let limit = usize::from(limit);
    let backend = if zlib { Backend::ZlibRs } else { Backend::Miniz };
    let offers = parse_extensions([&b"permessage-deflate"[..]]).unwrap();
    let (_, mut ext) = negotiate_server(&DeflateConfig::default().backend(backend), &offers).unwrap();
    for message in messages {
        let mut out = BytesMut::new();
        let mut failed = false;
        for piece in message.chunks(7) {
            let room = limit - out.len();
            match ext.decode(piece, &mut out, room) {
                Ok(()) => assert!(out.len() <= limit),
                Err(DecodeError::TooBig) | Err(DecodeError::Invalid(_)) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            // A connection fails on the first bad message; so does this run.
            return;
        }
        let room = limit - out.len();
        if ext.finish_decode(&mut out, room).is_err() {
            return;
        }
        assert!(out.len() <= limit);
    }
});
