//! The sliding window of one direction's uncompressed bytes, kept outside the backend.
//!
//! With context takeover, a message may refer back to any of the last 2^window_bits bytes of
//! the messages before it. The backends keep that window inside hundreds of KiB of working state
//! (hash tables, lookahead and output buffers) and cannot hand it back. Keeping our own copy lets
//! an idle connection free the backend entirely and rebuild it later from this window alone.
//!
//! Busy, it is a ring of at most `capacity` bytes: each message costs one copy of at most
//! `capacity` of its bytes, never a shift of the whole window. Idle, it is made contiguous and
//! shrunk to what was actually seen, so a connection that exchanged 1 KiB keeps 1 KiB.

use alloc::vec::Vec;

/// The last `capacity` bytes of a stream (fewer until that many have been seen).
#[derive(Debug, Default)]
pub(crate) struct History {
    /// While shorter than `capacity`, the bytes in order. Once full, a ring whose oldest byte is
    /// at `head`.
    buf: Vec<u8>,
    head: usize,
    capacity: usize,
}

impl History {
    pub(crate) fn new(capacity: usize) -> History {
        History { buf: Vec::new(), head: 0, capacity }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes held, including spare capacity.
    pub(crate) fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Appends `data`, forgetting what falls out of the window.
    pub(crate) fn push(&mut self, data: &[u8]) {
        let cap = self.capacity;
        if data.len() >= cap {
            // Only the tail survives: it replaces everything.
            self.buf.clear();
            self.buf.reserve_exact(cap);
            self.buf.extend_from_slice(&data[data.len() - cap..]);
            self.head = 0;
            return;
        }
        let mut data = data;
        if self.buf.len() < cap {
            // Still filling: grow geometrically but never past the window.
            let take = data.len().min(cap - self.buf.len());
            if self.buf.capacity() < self.buf.len() + take {
                let want = (self.buf.len() + take).max(self.buf.capacity() * 2).min(cap);
                self.buf.reserve_exact(want - self.buf.len());
            }
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            // `head` is 0 until the ring is full.
        }
        // Full: overwrite the oldest bytes, in at most two pieces.
        while !data.is_empty() {
            let n = data.len().min(cap - self.head);
            self.buf[self.head..self.head + n].copy_from_slice(&data[..n]);
            self.head = (self.head + n) % cap;
            data = &data[n..];
        }
    }

    /// The window in order, as one slice. Rotates the ring in place if it has wrapped.
    pub(crate) fn contiguous(&mut self) -> &[u8] {
        if self.head != 0 {
            self.buf.rotate_left(self.head);
            self.head = 0;
        }
        &self.buf
    }

    /// Makes the window contiguous and gives back any spare capacity: the form it idles in.
    pub(crate) fn compact(&mut self) {
        self.contiguous();
        self.buf.shrink_to_fit();
    }

    /// Forgets everything and frees the buffer (the stream was reset).
    pub(crate) fn clear(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Capacities and pieces a tenth the size under Miri, where generating each byte costs
    /// milliseconds (four cases took six minutes): wrapping around, pieces longer than the
    /// capacity and empty pieces all still occur.
    const SCALE: usize = if cfg!(miri) { 10 } else { 1 };

    proptest! {
        #[test]
        fn holds_the_last_capacity_bytes(cap in 1usize..300 / SCALE, pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400 / SCALE), 0..20)) {
            let mut h = History::new(cap);
            let mut all = Vec::new();
            for p in &pieces {
                h.push(p);
                all.extend_from_slice(p);
                prop_assert!(h.len() <= cap);
                prop_assert!(h.allocated() <= cap.max(h.len()));
            }
            let want = &all[all.len().saturating_sub(cap)..];
            prop_assert_eq!(h.contiguous(), want);
            h.compact();
            prop_assert_eq!(h.allocated(), h.len());
            // Pushing after compaction continues the same stream.
            h.push(b"xyz");
            all.extend_from_slice(b"xyz");
            let want = &all[all.len().saturating_sub(cap)..];
            prop_assert_eq!(h.contiguous(), want);
        }
    }

    #[test]
    fn clear_frees_the_buffer() {
        let mut h = History::new(16);
        h.push(b"hello");
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.allocated(), 0);
    }
}
