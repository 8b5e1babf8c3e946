//! The frame header decoder: never panics, reports partial input consistently, and every header
//! it decodes re-encodes to a header that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsproto::frame::{MAX_HEADER_LEN, Status, decode_header, encode_header};

fuzz_target!(|data: &[u8]| {
    match decode_header(data) {
        Ok(Status::Complete((header, len))) => {
            assert!((2..=MAX_HEADER_LEN).contains(&len) && len <= data.len());
            assert!(header.payload_len >> 63 == 0);
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = encode_header(&header, &mut out);
            assert_eq!(decode_header(&out[..n]), Ok(Status::Complete((header, n))));
            // Every strict prefix is partial, never an error and never a different header.
            for cut in 0..len {
                assert!(matches!(decode_header(&data[..cut]), Ok(Status::Partial(k)) if k >= 1));
            }
        }
        Ok(Status::Partial(k)) => assert!(k >= 1 && data.len() < MAX_HEADER_LEN),
        Err(_) => assert!(data.len() >= 10 && data[1] & 0x7F == 127),
    }
});
