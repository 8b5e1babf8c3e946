//! The input buffer, opened for appending only.
//!
//! The bytes already in a connection's input buffer may be half parsed: a frame's payload is
//! unmasked and UTF-8-checked in place as it arrives, and the parser remembers how far it got.
//! Handing out `&mut BytesMut` would let safe code clear or rewrite those bytes, so that unchecked
//! bytes later pass as checked text. [`InputBuffer`] lets a reader add bytes after the end and
//! nothing else, while still letting it read straight into the buffer's spare room.

use bytes::buf::UninitSlice;
use bytes::{BufMut, BytesMut};

use crate::frame::MAX_HEADER_LEN;

/// The connection's input buffer, open for appending only: see
/// [`Connection::input_buffer`](crate::Connection::input_buffer).
///
/// It implements [`BufMut`], so a reader that fills a `BufMut` (tokio-util's `poll_read_buf`,
/// for example) reads straight into the connection without a copy. For a reader that wants an
/// initialised `&mut [u8]` (std's `Read`), use [`read_with`](InputBuffer::read_with).
///
/// Only appending is possible: bytes already given to the connection cannot be changed, moved or
/// removed from safe code.
///
/// ```
/// use bytes::BufMut;
/// use wsproto::{Config, Connection, Instant};
///
/// let mut conn = Connection::server(Config::default(), Instant::ZERO);
/// let mut input = conn.input_buffer();
/// input.put_slice(b"GET /chat HTTP/1.1\r\n");
/// let n = input.read_with(64, |room| {
///     room[..2].copy_from_slice(b"\r\n");
///     Ok::<_, ()>(2)
/// });
/// assert_eq!((n, input.len()), (Ok(2), 22));
/// ```
///
/// Clearing or rewriting the buffer does not compile:
///
/// ```compile_fail
/// use wsproto::{Config, Connection, Instant};
///
/// let mut conn = Connection::server(Config::default(), Instant::ZERO);
/// conn.input_buffer().clear();
/// ```
///
/// ```compile_fail
/// use wsproto::{Config, Connection, Instant};
///
/// let mut conn = Connection::server(Config::default(), Instant::ZERO);
/// conn.input_buffer()[0] = b'X';
/// ```
#[derive(Debug)]
pub struct InputBuffer<'a> {
    buf: &'a mut BytesMut,
    /// The buffer's length when it was handed out.
    start: usize,
    /// Where the connection keeps the size of the latest read: set when this is dropped.
    read: &'a mut usize,
    /// Where the connection notes that bytes arrived (a sign of life, for the keepalive).
    heard: &'a mut bool,
    /// Whether the connection is between messages, so that room reserved for a read that found
    /// nothing may be let go.
    between_messages: bool,
}

impl<'a> InputBuffer<'a> {
    pub(super) fn new(buf: &'a mut BytesMut, read: &'a mut usize, heard: &'a mut bool, between_messages: bool) -> InputBuffer<'a> {
        let start = buf.len();
        InputBuffer { buf, start, read, heard, between_messages }
    }

    /// How many bytes the connection holds that it has not consumed yet.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the connection holds no unconsumed input.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// How many bytes can be appended without reallocating.
    pub fn spare_capacity(&self) -> usize {
        self.buf.capacity() - self.buf.len()
    }

    /// Makes room for at least `additional` more bytes, and for a frame header beyond them.
    ///
    /// The extra room is for a frame whose payload is exactly the size of a read: a read of that
    /// size brings its header and all but the header's length of its payload, and the last few
    /// bytes then fit without moving the whole frame to a larger buffer.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional + MAX_HEADER_LEN);
    }

    /// Appends `data`; the same as [`Connection::receive`](crate::Connection::receive).
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Reads straight into the buffer: `read` gets `max` zeroed bytes of room at the end and
    /// returns how many it filled, which are kept. For readers that need an initialised slice,
    /// such as `std::io::Read`; the zeroing costs a `memset` of `max` bytes.
    ///
    /// # Panics
    ///
    /// If `read` claims to have filled more than `max` bytes.
    pub fn read_with<E>(&mut self, max: usize, read: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Result<usize, E> {
        let start = self.buf.len();
        self.reserve(max);
        self.buf.resize(start + max, 0);
        let result = read(&mut self.buf[start..]);
        let kept = match &result {
            Ok(n) => {
                assert!(*n <= max, "read_with: the reader claims {n} bytes of a {max}-byte room");
                *n
            }
            Err(_) => 0,
        };
        self.buf.truncate(start + kept);
        result
    }
}

impl Drop for InputBuffer<'_> {
    fn drop(&mut self) {
        // Only appending is possible, so the length never went below `start`.
        *self.read = self.buf.len() - self.start;
        *self.heard |= *self.read > 0;
        if *self.read == 0 && self.buf.is_empty() && self.between_messages {
            // A read that found nothing (the transport would block): let go of the room reserved
            // for it, so that a connection waiting for its next message holds no buffer. (In the
            // middle of a message the room is needed anyway, and is kept.)
            *self.buf = BytesMut::new();
        }
    }
}

// SAFETY: every method delegates to `BytesMut`'s own `BufMut` implementation, which upholds the
// trait's contract; this wrapper only hides the rest of `BytesMut`'s API (clearing, indexing,
// splitting), all of which is safe to hide.
#[allow(unsafe_code)]
unsafe impl BufMut for InputBuffer<'_> {
    #[inline]
    fn remaining_mut(&self) -> usize {
        self.buf.remaining_mut()
    }

    #[inline]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller guarantees what `BufMut::advance_mut` requires: the next `cnt` bytes
        // of `chunk_mut` were initialised. `BytesMut` checks the capacity itself.
        unsafe { self.buf.advance_mut(cnt) }
    }

    #[inline]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.buf.chunk_mut()
    }

    #[inline]
    fn put_slice(&mut self, src: &[u8]) {
        self.buf.extend_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;
    use crate::{Config, Connection, Event, Instant};

    const REQUEST: &[u8] =
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// A masked text frame "Hello" (RFC 6455 §5.7).
    const HELLO: [u8; 11] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

    fn open_server() -> Connection {
        let mut conn = Connection::server(Config::default(), Instant::ZERO);
        conn.receive(REQUEST);
        assert!(matches!(conn.poll_event(), Some(Event::Request(_))));
        conn.accept(crate::handshake::Accept::new()).unwrap();
        conn
    }

    #[test]
    fn every_way_of_appending_delivers_the_same_frame() {
        // Through BufMut's uninitialised room, BufMut::put_slice and read_with, a byte or a few at
        // a time, with a frame left half read (and half unmasked) in between.
        let mut conn = open_server();
        let mut input = conn.input_buffer();
        input.put_u8(HELLO[0]);
        input.put_slice(&HELLO[1..6]);
        drop(input);
        assert_eq!(conn.poll_event(), None);
        conn.input_buffer()
            .read_with(3, |room| {
                room.copy_from_slice(&HELLO[6..9]);
                Ok::<_, ()>(3)
            })
            .unwrap();
        // The parser has unmasked the first three payload bytes in place.
        assert_eq!(conn.poll_event(), None);
        let mut input = conn.input_buffer();
        input.reserve(2);
        input.chunk_mut()[..2].copy_from_slice(&HELLO[9..]);
        // SAFETY: the two bytes were just written.
        #[allow(unsafe_code)]
        unsafe {
            input.advance_mut(2)
        };
        drop(input);
        assert_eq!(conn.poll_event(), Some(Event::Text("Hello".into())));
    }

    #[test]
    fn a_full_read_asks_for_a_bigger_next_read_and_a_quiet_connection_holds_no_buffer() {
        let mut conn = open_server();
        assert_eq!(conn.read_hint(), 8 << 10);
        // A read that filled 8 KiB: the peer is streaming, so the next read is bigger (and an
        // adapter makes it straight into the input buffer).
        let mut input = conn.input_buffer();
        input.put_slice(&[0u8; 8 << 10][..]);
        drop(input);
        assert_eq!(conn.read_hint(), 64 << 10);
        // A read that found nothing lets go of the room reserved for it, and the next read is
        // back to the default size.
        let mut conn = open_server();
        let mut input = conn.input_buffer();
        input.reserve(64 << 10);
        drop(input);
        assert_eq!(conn.read_hint(), 8 << 10);
        assert_eq!(conn.input_buffer().spare_capacity(), 0);
        // A small message read and consumed leaves no buffer behind either.
        conn.receive(&HELLO);
        assert_eq!(conn.poll_event(), Some(Event::Text("Hello".into())));
        assert_eq!(conn.poll_event(), None);
        assert_eq!(conn.input_buffer().spare_capacity(), 0);
    }

    #[test]
    fn a_large_frame_is_read_up_to_its_end_and_leaves_the_buffer_without_being_moved() {
        // A 64 KiB binary frame (mask key 0, so the payload reads as sent) and the start of a
        // second, as a stream would bring them.
        let mut frame = alloc::vec![0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        frame.extend((0..65536u32).map(|i| i as u8));
        let mut conn = open_server();
        let mut input = conn.input_buffer();
        input.reserve(64 << 10);
        input.put_slice(&frame[..64 << 10]);
        drop(input);
        assert_eq!(conn.poll_event(), None);
        // Exactly the rest of the frame, not a default-sized read that would run into the next.
        assert_eq!(conn.read_hint(), 14);
        let mut input = conn.input_buffer();
        // The header's room reserved beyond the read takes the rest without moving the frame.
        assert!(input.spare_capacity() >= 14);
        let start = input.chunk_mut().as_mut_ptr() as usize - (64 << 10);
        input.put_slice(&frame[64 << 10..]);
        drop(input);
        match conn.poll_event() {
            Some(Event::Binary(b)) => {
                assert_eq!(&b[..], &frame[14..]);
                assert_eq!(b.as_ptr() as usize, start + 14, "the payload was moved");
            }
            other => panic!("expected the binary message, got {other:?}"),
        }
        // Small frames keep the default read size: reads may run on into the next frame.
        conn.receive(&HELLO[..4]);
        assert_eq!(conn.poll_event(), None);
        assert_eq!(conn.read_hint(), 8 << 10);
    }

    #[test]
    fn a_failed_read_keeps_nothing_and_an_honest_one_keeps_what_it_read() {
        let mut conn = open_server();
        let mut input = conn.input_buffer();
        assert_eq!(input.read_with(16, |_| Err::<usize, _>("reset")), Err("reset"));
        assert!(input.is_empty());
        let read = input.read_with(16, |room| {
            room[..4].copy_from_slice(&HELLO[..4]);
            Ok::<_, ()>(4)
        });
        assert_eq!((read, input.len()), (Ok(4), 4));
    }

    #[test]
    #[should_panic(expected = "claims 5 bytes of a 4-byte room")]
    fn a_reader_that_claims_too_much_is_caught() {
        let mut conn = open_server();
        let _ = conn.input_buffer().read_with(4, |_| Ok::<_, ()>(5));
    }
}
