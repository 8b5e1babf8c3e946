//! The frame header (RFC 6455 §5.2), as pure functions.
//!
//! [`decode_header`] looks at bytes and says what header they hold, in httparse's style: it never
//! allocates and never needs more than [`MAX_HEADER_LEN`] bytes. The rules about which headers a
//! connection accepts (reserved bits, masking, fragmentation, sizes) live in the connection, which
//! knows the role and what was negotiated.

use core::fmt;

/// The longest header: 2 bytes, an 8-byte length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continues a fragmented data message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: starts or answers the closing handshake.
    Close,
    /// `0x9`: asks for a pong.
    Ping,
    /// `0xA`: answers a ping, or is a heartbeat of its own.
    Pong,
    /// `0x3`–`0x7` and `0xB`–`0xF`: reserved; receiving one fails the connection.
    Reserved(u8),
}

impl OpCode {
    /// The opcode for the low four bits of `bits`.
    pub const fn from_bits(bits: u8) -> OpCode {
        match bits & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The four-bit value on the wire.
    pub const fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(b) => b & 0x0F,
        }
    }

    /// Whether this is a control opcode (the high bit of the four is set).
    pub const fn is_control(self) -> bool {
        self.bits() & 0x08 != 0
    }
}

/// The RSV1 bit, as it sits in the first header byte. permessage-deflate uses it.
pub const RSV1: u8 = 0x40;
/// The RSV2 bit, as it sits in the first header byte.
pub const RSV2: u8 = 0x20;
/// The RSV3 bit, as it sits in the first header byte.
pub const RSV3: u8 = 0x10;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Whether this is the last frame of its message.
    pub fin: bool,
    /// The RSV bits, in their first-byte positions ([`RSV1`], [`RSV2`], [`RSV3`]).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// The result of looking for a header in a buffer that may end early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// A whole header was found.
    Complete(T),
    /// The buffer ends before the header does; at least this many more bytes are needed.
    Partial(usize),
}

/// A header that no valid frame has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2).
    LengthTopBitSet,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::LengthTopBitSet => f.write_str("64-bit payload length has its most significant bit set"),
        }
    }
}

impl core::error::Error for HeaderError {}

/// Decodes the frame header at the start of `buf`.
///
/// Returns the header and its length in bytes. The payload follows right after.
///
/// ```
/// use wsproto::frame::{decode_header, OpCode, Status};
/// // RFC 6455 §5.7: a single-frame masked text message "Hello".
/// let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let Status::Complete((h, len)) = decode_header(&bytes).unwrap() else { panic!() };
/// assert_eq!((h.fin, h.opcode, h.mask, h.payload_len, len), (true, OpCode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6));
/// assert_eq!(decode_header(&bytes[..3]).unwrap(), Status::Partial(3));
/// ```
#[inline]
pub fn decode_header(buf: &[u8]) -> Result<Status<(FrameHeader, usize)>, HeaderError> {
    if buf.len() < 2 {
        return Ok(Status::Partial(2 - buf.len()));
    }
    let (b0, b1) = (buf[0], buf[1]);
    let masked = b1 & 0x80 != 0;
    let (len_bytes, short) = match b1 & 0x7F {
        126 => (2, 0),
        127 => (8, 0),
        n => (0, u64::from(n)),
    };
    let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
    if buf.len() < header_len {
        return Ok(Status::Partial(header_len - buf.len()));
    }
    let payload_len = match len_bytes {
        0 => short,
        2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            let n = u64::from_be_bytes(b);
            if n >> 63 != 0 {
                return Err(HeaderError::LengthTopBitSet);
            }
            n
        }
    };
    let mask = if masked {
        let at = 2 + len_bytes;
        Some([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
    } else {
        None
    };
    let header = FrameHeader { fin: b0 & 0x80 != 0, rsv: b0 & (RSV1 | RSV2 | RSV3), opcode: OpCode::from_bits(b0), mask, payload_len };
    Ok(Status::Complete((header, header_len)))
}

/// Writes `header` into `out` with the shortest length form, and returns how many bytes it took.
///
/// ```
/// use wsproto::frame::{encode_header, FrameHeader, OpCode, MAX_HEADER_LEN};
/// let mut out = [0u8; MAX_HEADER_LEN];
/// let h = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
/// let n = encode_header(&h, &mut out);
/// assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]); // RFC 6455 §5.7
/// ```
#[inline]
pub fn encode_header(header: &FrameHeader, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
    out[0] = (if header.fin { 0x80 } else { 0 }) | (header.rsv & (RSV1 | RSV2 | RSV3)) | header.opcode.bits();
    let mask_bit = if header.mask.is_some() { 0x80 } else { 0 };
    let len = header.payload_len;
    let mut n = if len < 126 {
        out[1] = mask_bit | len as u8;
        2
    } else if len <= 0xFFFF {
        out[1] = mask_bit | 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = mask_bit | 127;
        out[2..10].copy_from_slice(&len.to_be_bytes());
        10
    };
    if let Some(key) = header.mask {
        out[n..n + 4].copy_from_slice(&key);
        n += 4;
    }
    n
}

/// The header length that [`encode_header`] uses for this payload length.
#[inline]
pub const fn header_len(payload_len: usize, masked: bool) -> usize {
    let len = if payload_len < 126 {
        2
    } else if payload_len <= 0xFFFF {
        4
    } else {
        10
    };
    if masked { len + 4 } else { len }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;
    use proptest::prelude::*;

    fn decode(bytes: &[u8]) -> (FrameHeader, usize) {
        match decode_header(bytes).unwrap() {
            Status::Complete(h) => h,
            Status::Partial(n) => panic!("partial, {n} more"),
        }
    }

    fn encode(h: FrameHeader) -> Vec<u8> {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&h, &mut out);
        out[..n].to_vec()
    }

    fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader { fin, rsv: 0, opcode, mask, payload_len: len }
    }

    // RFC 6455 §5.7, every example.
    #[test]
    fn rfc_examples_single_frame_unmasked_hello() {
        let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(decode(&wire), (header(true, OpCode::Text, None, 5), 2));
        assert_eq!(encode(header(true, OpCode::Text, None, 5)), &wire[..2]);
    }

    #[test]
    fn rfc_examples_fragmented_unmasked_hello() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        assert_eq!(decode(&first), (header(false, OpCode::Text, None, 3), 2));
        assert_eq!(decode(&second), (header(true, OpCode::Continuation, None, 2), 2));
        assert_eq!(encode(header(false, OpCode::Text, None, 3)), &first[..2]);
        assert_eq!(encode(header(true, OpCode::Continuation, None, 2)), &second[..2]);
    }

    #[test]
    fn rfc_examples_ping_and_masked_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(decode(&ping), (header(true, OpCode::Ping, None, 5), 2));
        let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let key = [0x37, 0xfa, 0x21, 0x3d];
        assert_eq!(decode(&pong), (header(true, OpCode::Pong, Some(key), 5), 6));
        assert_eq!(encode(header(true, OpCode::Pong, Some(key), 5)), &pong[..6]);
    }

    #[test]
    fn rfc_examples_256_byte_and_64_kib_binary_headers() {
        let h256 = [0x82, 0x7E, 0x01, 0x00];
        assert_eq!(decode(&h256), (header(true, OpCode::Binary, None, 256), 4));
        assert_eq!(encode(header(true, OpCode::Binary, None, 256)), h256);
        let h64k = [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00];
        assert_eq!(decode(&h64k), (header(true, OpCode::Binary, None, 65536), 10));
        assert_eq!(encode(header(true, OpCode::Binary, None, 65536)), h64k);
    }

    #[test]
    fn the_top_bit_of_a_64_bit_length_is_an_error() {
        let wire = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(decode_header(&wire), Err(HeaderError::LengthTopBitSet));
        let max = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(decode(&max).0.payload_len, i64::MAX as u64);
    }

    #[test]
    fn partial_headers_say_how_much_is_missing() {
        assert_eq!(decode_header(&[]), Ok(Status::Partial(2)));
        assert_eq!(decode_header(&[0x81]), Ok(Status::Partial(1)));
        assert_eq!(decode_header(&[0x81, 0xFE, 0x01]), Ok(Status::Partial(5)));
        assert_eq!(decode_header(&[0x81, 0x7F]), Ok(Status::Partial(8)));
    }

    #[test]
    fn rsv_bits_and_reserved_opcodes_are_reported_not_judged() {
        let (h, _) = decode(&[0xF3, 0x00]);
        assert_eq!(h.rsv, RSV1 | RSV2 | RSV3);
        assert_eq!(h.opcode, OpCode::Reserved(3));
        assert!(!OpCode::Reserved(3).is_control());
        assert!(OpCode::Reserved(0xB).is_control());
        for bits in 0..16u8 {
            assert_eq!(OpCode::from_bits(bits).bits(), bits);
        }
    }

    #[test]
    fn header_len_matches_encoding() {
        for len in [0usize, 125, 126, 65535, 65536, 1 << 40] {
            for masked in [false, true] {
                let h = header(true, OpCode::Binary, masked.then_some([1, 2, 3, 4]), len as u64);
                assert_eq!(encode(h).len(), header_len(len, masked));
            }
        }
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(
            fin in any::<bool>(),
            rsv in 0u8..8,
            opcode in 0u8..16,
            mask in proptest::option::of(any::<[u8; 4]>()),
            len in prop_oneof![0u64..130, 120u64..70_000, 0u64..(1 << 63)],
            trailing in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let h = FrameHeader { fin, rsv: rsv << 4, opcode: OpCode::from_bits(opcode), mask, payload_len: len };
            let mut wire = encode(h);
            let n = wire.len();
            wire.extend_from_slice(&trailing);
            prop_assert_eq!(decode_header(&wire), Ok(Status::Complete((h, n))));
            for cut in 0..n {
                prop_assert!(matches!(decode_header(&wire[..cut]), Ok(Status::Partial(k)) if k >= 1 && cut + k <= n));
            }
        }
    }
}
