//! The output buffer: frames waiting to be written, pulled by the caller.
//!
//! Small frames are coalesced into one contiguous `tail`, so that a burst of messages goes out in
//! one write. A large unmasked payload handed over as [`Bytes`] is queued as its own chunk and
//! never copied; [`Output::slices`] hands header and payload to a vectored write together.

use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, encode_header};
use crate::mask::apply_mask;
use alloc::collections::VecDeque;
use bytes::{Buf, Bytes, BytesMut};

/// Payloads at least this long are queued by reference instead of copied.
const ZERO_COPY_MIN: usize = 4096;

/// A buffer that has grown past this is dropped once drained, so that one burst does not pin
/// memory on a connection that then sits idle.
const KEEP_CAPACITY: usize = 16 << 10;

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Chunks that go out before `tail`.
    chunks: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
    /// The most that `tail` held since it was last empty: `BytesMut::capacity` shrinks as the
    /// front is consumed, so it cannot tell how large the allocation is.
    tail_peak: usize,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn first(&self) -> &[u8] {
        match self.chunks.front() {
            Some(c) => c,
            None => &self.tail,
        }
    }

    /// Fills `dst` with the buffered chunks in order; returns how many it filled.
    pub(crate) fn slices<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        let mut n = 0;
        for c in self.chunks.iter().map(|c| &c[..]).chain(core::iter::once(&self.tail[..])) {
            if n == dst.len() {
                break;
            }
            if !c.is_empty() {
                dst[n] = c;
                n += 1;
            }
        }
        n
    }

    pub(crate) fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advance_output({n}) past the {} buffered bytes", self.len);
        self.len -= n;
        while n > 0 {
            match self.chunks.front_mut() {
                Some(c) if c.len() <= n => {
                    n -= c.len();
                    self.chunks.pop_front();
                }
                Some(c) => {
                    c.advance(n);
                    n = 0;
                }
                None => {
                    self.tail.advance(n);
                    n = 0;
                }
            }
        }
        if self.len == 0 {
            self.release();
        }
    }

    /// Resets an empty buffer, dropping a large allocation.
    fn release(&mut self) {
        if self.tail_peak > KEEP_CAPACITY {
            self.tail = BytesMut::new();
        } else {
            self.tail.clear();
        }
        self.tail_peak = 0;
        if self.chunks.capacity() > 8 {
            self.chunks = VecDeque::new();
        }
    }

    pub(crate) fn push_raw(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        self.len += bytes.len();
        self.tail_peak = self.tail_peak.max(self.tail.len());
    }

    fn push_header(&mut self, opcode: OpCode, fin: bool, rsv: u8, len: usize, mask: Option<[u8; 4]>) {
        let header = FrameHeader { fin, rsv, opcode, mask, payload_len: len as u64 };
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut buf);
        self.push_raw(&buf[..n]);
    }

    /// Queues a frame, copying (and masking, if `mask` is set) the payload.
    ///
    /// One capacity check and one update of the counters for header and payload together: this
    /// runs once per small message sent, where each of those showed in the instruction counts.
    pub(crate) fn push_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8], mask: Option<[u8; 4]>) {
        let header = FrameHeader { fin, rsv, opcode, mask, payload_len: payload.len() as u64 };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut head);
        self.tail.reserve(n + payload.len());
        self.tail.extend_from_slice(&head[..n]);
        let start = self.tail.len();
        self.tail.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut self.tail[start..], key, 0);
        }
        self.len += n + payload.len();
        self.tail_peak = self.tail_peak.max(self.tail.len());
    }

    /// Queues a whole frame that is already encoded, without copying it if it is large.
    pub(crate) fn push_encoded(&mut self, frame: Bytes) {
        if frame.len() < ZERO_COPY_MIN {
            return self.push_raw(&frame);
        }
        if !self.tail.is_empty() {
            let head = self.tail.split().freeze();
            self.chunks.push_back(head);
        }
        self.len += frame.len();
        self.chunks.push_back(frame);
    }

    /// Queues a frame whose payload is already in a `Bytes`, without copying it if it is large
    /// and needs no mask.
    pub(crate) fn push_frame_bytes(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes, mask: Option<[u8; 4]>) {
        if mask.is_some() || payload.len() < ZERO_COPY_MIN {
            return self.push_frame(opcode, fin, rsv, &payload, mask);
        }
        self.push_header(opcode, fin, rsv, payload.len(), None);
        let head = self.tail.split().freeze();
        self.chunks.push_back(head);
        self.len += payload.len();
        self.chunks.push_back(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    fn drain(out: &mut Output) -> alloc::vec::Vec<u8> {
        let mut all = alloc::vec::Vec::new();
        while out.len() > 0 {
            let n = out.first().len().min(3);
            all.extend_from_slice(&out.first()[..n]);
            out.advance(n);
        }
        all
    }

    #[test]
    fn small_frames_coalesce_and_large_payloads_are_not_copied() {
        let mut out = Output::default();
        out.push_frame(OpCode::Text, true, 0, b"Hello", None);
        let big = Bytes::from(alloc::vec![7u8; 5000]);
        out.push_frame_bytes(OpCode::Binary, true, 0, big.clone(), None);
        out.push_frame(OpCode::Ping, true, 0, b"", None);
        let mut slices = [&[][..]; 8];
        let n = out.slices(&mut slices);
        assert_eq!(n, 3);
        assert_eq!(slices[0], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o', 0x82, 0x7E, 0x13, 0x88]);
        // The payload slice is the caller's own allocation.
        assert_eq!(slices[1].as_ptr(), big.as_ptr());
        assert_eq!(slices[2], &[0x89, 0x00]);
        let total = out.len();
        assert_eq!(total, 11 + 5000 + 2);
        let all = drain(&mut out);
        assert_eq!(all.len(), total);
        assert_eq!(&all[11..5011], &big[..]);
        assert_eq!(out.len(), 0);
    }

    #[test]
    fn masked_frames_are_masked_in_the_copy() {
        let mut out = Output::default();
        out.push_frame(OpCode::Text, true, 0, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(drain(&mut out), [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn a_drained_buffer_lets_go_of_a_large_allocation() {
        let mut out = Output::default();
        out.push_frame(OpCode::Binary, true, 0, &[0u8; 100_000], None);
        assert!(out.tail.capacity() >= 100_000);
        let n = out.len();
        out.advance(n);
        assert_eq!(out.tail.capacity(), 0);
    }
}
