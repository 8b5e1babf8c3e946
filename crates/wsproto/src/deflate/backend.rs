//! The compression backends behind one small pair of traits.
//!
//! Both backends speak raw deflate (no zlib header) and are driven the same way: a step function
//! that consumes input and fills an output slice. The loops that grow the output, bound it, and
//! detect the end of a sync flush are written once, here, for both.

use crate::extension::DecodeError;
use alloc::boxed::Box;
use bytes::BytesMut;

/// Which library compresses and decompresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// `miniz_oxide`: pure Rust without `unsafe`. Always compresses with a 32 KiB window; smaller
    /// negotiated windows are honoured by compressing only messages that fit in the window.
    Miniz,
    /// `zlib-rs`: several times faster, and supports window sizes of 512 B to 32 KiB natively.
    #[cfg(feature = "zlib-rs")]
    ZlibRs,
}

impl Default for Backend {
    /// `ZlibRs` when it is compiled in (it is the faster of the two; see `docs/performance.md`),
    /// else `Miniz`.
    fn default() -> Backend {
        #[cfg(feature = "zlib-rs")]
        return Backend::ZlibRs;
        #[cfg(not(feature = "zlib-rs"))]
        return Backend::Miniz;
    }
}

/// How one call of a backend went.
pub(crate) struct Step {
    pub(crate) consumed: usize,
    pub(crate) written: usize,
    /// The deflate stream ended (a block with BFINAL was decoded).
    pub(crate) end: bool,
}

/// A compressor that keeps its window between calls until reset.
pub(crate) trait Compress: Send {
    /// Compresses `input` and sync-flushes, appending to `out`. The output ends in `00 00 ff ff`.
    fn compress_sync(&mut self, input: &[u8], out: &mut BytesMut) -> Result<(), &'static str> {
        let mut input = input;
        loop {
            // Room for incompressible input, the block headers and the flush marker at once,
            // so that one call usually finishes the flush.
            let room = input.len() + input.len() / 8 + 64;
            out.reserve(room);
            let step = self.step_append(input, out, room)?;
            input = &input[step.consumed..];
            // The flush is complete once all input is taken and the output did not fill up.
            if input.is_empty() && step.written < room {
                return Ok(());
            }
        }
    }

    /// One call of the backend, appending at most `room` bytes to `out`, which has at least
    /// that much spare capacity. On error `out` is unchanged.
    ///
    /// This default zero-fills the room first, because the backend writes to an initialised
    /// slice; a backend that can write to uninitialised memory overrides it.
    fn step_append(&mut self, input: &[u8], out: &mut BytesMut, room: usize) -> Result<Step, &'static str> {
        zero_filled(out, room, |o| self.step(input, o))
    }

    /// One call of the backend with a sync flush.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, &'static str>;

    /// Forgets the window: the next message starts a fresh stream.
    fn reset(&mut self);

    /// Loads `dictionary` as the window of a fresh compressor, so that what it compresses next
    /// may refer back into it, exactly as if those bytes had just been compressed.
    fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), &'static str>;
}

/// A decompressor that keeps its window between calls until reset.
pub(crate) trait Decompress: Send {
    /// Inflates `input`, appending to `out`, which may grow by at most `limit` bytes. Returns
    /// whether the deflate stream ended.
    fn decompress(&mut self, input: &[u8], out: &mut BytesMut, limit: usize) -> Result<bool, DecodeError> {
        let mut input = input;
        let mut budget = limit;
        // Start near the likely size (JSON and text inflate about three-fold): a small message
        // never holds a large buffer, and a large one usually fits in one step.
        let mut room = (input.len() * 4).clamp(256, 1 << 20);
        loop {
            if budget == 0 {
                // Out of budget: the message is too big if the stream has even one more byte.
                let mut probe = [0u8; 1];
                let step = self.step(input, &mut probe)?;
                if step.written > 0 {
                    return Err(DecodeError::TooBig);
                }
                input = &input[step.consumed..];
                if step.end {
                    return Ok(true);
                }
                if input.is_empty() {
                    return Ok(false);
                }
                if step.consumed == 0 {
                    return Err(DecodeError::Invalid("deflate stream makes no progress"));
                }
                continue;
            }
            let room_now = room.min(budget);
            reserve_bounded(out, room_now, out.len().saturating_add(budget));
            let step = self.step_append(input, out, room_now)?;
            budget -= step.written;
            input = &input[step.consumed..];
            if step.end {
                return Ok(true);
            }
            if step.written < room_now {
                // Output space was left over, so the backend stopped for want of input.
                if input.is_empty() {
                    return Ok(false);
                }
                if step.consumed == 0 && step.written == 0 {
                    return Err(DecodeError::Invalid("deflate stream makes no progress"));
                }
            } else if input.is_empty() {
                // All input is in and the output filled up: what is left is the little the
                // decompressor holds back. A small step, not a doubling that zero-fills a large
                // buffer to write a few bytes.
                room = 4 << 10;
            } else {
                // Guess from what is left of the input, as at the start, but at most double: a
                // bomb's few remaining bytes still grow the room geometrically.
                let most = (room * 2).clamp(4 << 10, 4 << 20);
                room = (input.len() * 4).clamp(4 << 10, most);
            }
        }
    }

    /// One call of the backend, appending at most `room` bytes to `out`, which has at least
    /// that much spare capacity. On error `out` is unchanged.
    ///
    /// This default zero-fills the room first, because the backend writes to an initialised
    /// slice; a backend that can write to uninitialised memory overrides it.
    fn step_append(&mut self, input: &[u8], out: &mut BytesMut, room: usize) -> Result<Step, DecodeError> {
        zero_filled(out, room, |o| self.step(input, o))
    }

    /// One call of the backend.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError>;

    /// Forgets the window and any stream end.
    fn reset(&mut self);

    /// Loads `dictionary` as the window of a fresh decompressor, as if it had just inflated it.
    fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), DecodeError>;
}

/// Appends at most `room` bytes to `out` by one call of `write`, which writes from the start of
/// the zero-filled slice it is given.
fn zero_filled<E>(out: &mut BytesMut, room: usize, write: impl FnOnce(&mut [u8]) -> Result<Step, E>) -> Result<Step, E> {
    let start = out.len();
    out.resize(start + room, 0);
    let step = write(&mut out[start..]);
    out.truncate(start + step.as_ref().map_or(0, |s| s.written));
    step
}

/// Makes room for `room` more bytes in `out` without letting its capacity pass `max_capacity`.
///
/// `BytesMut` grows by doubling, which near the message cap could allocate almost twice the cap.
/// This grows by doubling too, but clamped to the cap, and through `Vec::reserve_exact`, so that a
/// large buffer grows with `realloc` (which the allocator can often do in place) rather than by
/// allocating a second buffer and copying.
fn reserve_bounded(out: &mut BytesMut, room: usize, max_capacity: usize) {
    if out.capacity() - out.len() >= room {
        return;
    }
    let target = out.capacity().saturating_mul(2).max(out.len() + room).min(max_capacity.max(out.len() + room));
    let mut v = alloc::vec::Vec::from(core::mem::take(out));
    v.reserve_exact(target - v.len());
    *out = BytesMut::from(bytes::Bytes::from(v));
}

/// A compressor for `backend` at `level`, with a window of `2^window_bits` bytes (9–15).
pub(crate) fn compressor(backend: Backend, level: u8, window_bits: u8, mem_level: u8) -> Box<dyn Compress> {
    let _ = (window_bits, mem_level);
    match backend {
        Backend::Miniz => Box::new(miniz::Compressor::new(level)),
        #[cfg(feature = "zlib-rs")]
        Backend::ZlibRs => Box::new(zlib::Compressor::new(level, window_bits, mem_level)),
    }
}

/// A decompressor for `backend` that accepts windows up to `2^window_bits` bytes.
pub(crate) fn decompressor(backend: Backend, window_bits: u8) -> Box<dyn Decompress> {
    let _ = window_bits;
    match backend {
        Backend::Miniz => Box::new(miniz::Decompressor::new()),
        #[cfg(feature = "zlib-rs")]
        Backend::ZlibRs => Box::new(zlib::Decompressor::new(window_bits)),
    }
}

/// The smallest window a backend can compress with natively.
#[cfg_attr(not(feature = "zlib-rs"), allow(unused_variables))]
pub(crate) fn native_window_bits(backend: Backend, wanted: u8) -> u8 {
    match backend {
        // miniz_oxide always uses 32 KiB.
        Backend::Miniz => 15,
        // zlib cannot make raw streams with a 256-byte window.
        #[cfg(feature = "zlib-rs")]
        Backend::ZlibRs => wanted.max(9),
    }
}

mod miniz {
    use super::Step;
    use crate::extension::DecodeError;
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use bytes::BytesMut;
    use miniz_oxide::deflate::core::{CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params};
    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

    pub(super) struct Compressor(Box<CompressorOxide>);

    impl Compressor {
        pub(super) fn new(level: u8) -> Compressor {
            // Negative window bits select a raw deflate stream without a zlib header.
            let flags = create_comp_flags_from_zip_params(i32::from(level), -15, 0);
            Compressor(Box::new(CompressorOxide::new(flags)))
        }
    }

    impl super::Compress for Compressor {
        fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, &'static str> {
            let (status, consumed, written) = compress(&mut self.0, input, output, TDEFLFlush::Sync);
            match status {
                TDEFLStatus::Okay | TDEFLStatus::Done => Ok(Step { consumed, written, end: false }),
                TDEFLStatus::BadParam | TDEFLStatus::PutBufFailed => Err("miniz_oxide failed to compress"),
            }
        }

        fn reset(&mut self) {
            self.0.reset();
        }

        /// miniz_oxide has no call to preset a window, so the dictionary is compressed and the
        /// output thrown away: the compressor then holds it as its window and sits on a byte
        /// boundary (a sync flush), where the next message's blocks start. The peer's inflater
        /// holds the same bytes, so every back-reference resolves alike.
        fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), &'static str> {
            let mut sink = BytesMut::new();
            super::Compress::compress_sync(self, dictionary, &mut sink)
        }
    }

    pub(super) struct Decompressor(Box<InflateState>);

    impl Decompressor {
        pub(super) fn new() -> Decompressor {
            Decompressor(InflateState::new_boxed(DataFormat::Raw))
        }
    }

    impl super::Decompress for Decompressor {
        fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
            let r = inflate(&mut self.0, input, output, MZFlush::None);
            match r.status {
                Ok(MZStatus::Ok) | Err(MZError::Buf) => Ok(Step { consumed: r.bytes_consumed, written: r.bytes_written, end: false }),
                Ok(MZStatus::StreamEnd) => Ok(Step { consumed: r.bytes_consumed, written: r.bytes_written, end: true }),
                Ok(MZStatus::NeedDict) | Err(_) => Err(DecodeError::Invalid("corrupt deflate stream")),
            }
        }

        fn reset(&mut self) {
            self.0.reset(DataFormat::Raw);
        }

        /// miniz_oxide has no call to preset a window either: the dictionary is inflated from
        /// stored (uncompressed) blocks, which leaves it in the window and the decoder on a block
        /// boundary, where the next message's first block starts.
        fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), DecodeError> {
            let mut stream = Vec::with_capacity(dictionary.len() + 5 * (dictionary.len() / 0xffff + 1));
            for chunk in dictionary.chunks(0xffff) {
                // BFINAL 0, BTYPE 00 (stored), padded to a byte; then LEN and its complement.
                let len = chunk.len() as u16;
                stream.push(0);
                stream.extend_from_slice(&len.to_le_bytes());
                stream.extend_from_slice(&(!len).to_le_bytes());
                stream.extend_from_slice(chunk);
            }
            let mut sink = BytesMut::new();
            let ended = super::Decompress::decompress(self, &stream, &mut sink, dictionary.len())?;
            if ended || sink.len() != dictionary.len() {
                return Err(DecodeError::Invalid("could not load the deflate window"));
            }
            Ok(())
        }
    }
}

#[cfg(feature = "zlib-rs")]
mod zlib {
    use super::Step;
    use crate::extension::DecodeError;
    use bytes::BytesMut;
    use core::mem::MaybeUninit;
    use zlib_rs::{Deflate, DeflateConfig, DeflateError, DeflateFlush, Inflate, InflateError, InflateFlush, Status};

    /// Appends at most `room` bytes to `out` by one call of `write`, which writes from the start
    /// of the uninitialised slice it is given and reports how much it wrote. zlib-rs can write to
    /// uninitialised memory, so unlike miniz_oxide it needs no zero-fill first: for a 64 KiB
    /// message the zero-fill was most of the wrapper's cost over the raw calls.
    fn append<E>(out: &mut BytesMut, room: usize, write: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result<Step, E>) -> Result<Step, E> {
        let step = write(&mut out.spare_capacity_mut()[..room])?;
        assert!(step.written <= room, "zlib-rs reported more output than it had room for");
        // SAFETY: `step.written` is at most `room`, which is within the spare capacity, and
        // zlib-rs initialised exactly the first `step.written` bytes of that slice: it advances
        // its output pointer over each byte it writes, and `total_out` (from which `written` is
        // taken) counts that advance.
        #[allow(unsafe_code)]
        unsafe {
            out.set_len(out.len() + step.written);
        }
        Ok(step)
    }

    pub(super) struct Compressor(Deflate);

    impl Compressor {
        pub(super) fn new(level: u8, window_bits: u8, mem_level: u8) -> Compressor {
            let config = DeflateConfig {
                level: i32::from(level),
                // Negative window bits select a raw deflate stream without a zlib header.
                window_bits: -i32::from(window_bits.clamp(9, 15)),
                mem_level: i32::from(mem_level.clamp(1, 9)),
                ..DeflateConfig::default()
            };
            Compressor(Deflate::new_with_config(config))
        }

        fn counted(&mut self, call: impl FnOnce(&mut Deflate) -> Result<Status, DeflateError>) -> Result<Step, &'static str> {
            let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
            match call(&mut self.0) {
                Ok(Status::Ok | Status::BufError | Status::StreamEnd) => Ok(Step {
                    consumed: (self.0.total_in() - before_in) as usize,
                    written: (self.0.total_out() - before_out) as usize,
                    end: false,
                }),
                Err(e) => Err(e.as_str()),
            }
        }
    }

    impl super::Compress for Compressor {
        fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, &'static str> {
            self.counted(|d| d.compress(input, output, DeflateFlush::SyncFlush))
        }

        fn step_append(&mut self, input: &[u8], out: &mut BytesMut, room: usize) -> Result<Step, &'static str> {
            append(out, room, |spare| self.counted(|d| d.compress_uninit(input, spare, DeflateFlush::SyncFlush)))
        }

        fn reset(&mut self) {
            self.0.reset();
        }

        fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), &'static str> {
            self.0.set_dictionary(dictionary).map(drop).map_err(DeflateError::as_str)
        }
    }

    pub(super) struct Decompressor(Inflate, u8);

    impl Decompressor {
        pub(super) fn new(window_bits: u8) -> Decompressor {
            // zlib cannot inflate raw streams with 8 window bits; 9 reads them correctly.
            let bits = window_bits.clamp(9, 15);
            Decompressor(Inflate::new(false, bits), bits)
        }

        fn counted(&mut self, call: impl FnOnce(&mut Inflate) -> Result<Status, InflateError>) -> Result<Step, DecodeError> {
            let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
            let status = call(&mut self.0);
            let consumed = (self.0.total_in() - before_in) as usize;
            let written = (self.0.total_out() - before_out) as usize;
            match status {
                Ok(Status::Ok | Status::BufError) => Ok(Step { consumed, written, end: false }),
                Ok(Status::StreamEnd) => Ok(Step { consumed, written, end: true }),
                Err(_) => Err(DecodeError::Invalid("corrupt deflate stream")),
            }
        }
    }

    impl super::Decompress for Decompressor {
        fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
            self.counted(|i| i.decompress(input, output, InflateFlush::NoFlush))
        }

        fn step_append(&mut self, input: &[u8], out: &mut BytesMut, room: usize) -> Result<Step, DecodeError> {
            append(out, room, |spare| self.counted(|i| i.decompress_uninit(input, spare, InflateFlush::NoFlush)))
        }

        fn reset(&mut self) {
            // A fresh state keeps the negotiated window size (`Inflate::reset` would not).
            self.0 = Inflate::new(false, self.1);
        }

        fn set_dictionary(&mut self, dictionary: &[u8]) -> Result<(), DecodeError> {
            self.0.set_dictionary(dictionary).map(drop).map_err(|_| DecodeError::Invalid("could not load the deflate window"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn backends() -> Vec<Backend> {
        #[allow(unused_mut)]
        let mut all = alloc::vec![Backend::Miniz];
        #[cfg(feature = "zlib-rs")]
        all.push(Backend::ZlibRs);
        all
    }

    /// Text that compresses about as well as JSON: words drawn from a small vocabulary by a
    /// fixed linear congruential sequence.
    fn wordy(len: usize) -> Vec<u8> {
        const WORDS: [&[u8]; 8] = [b"\"price\":", b"\"size\":", b"1024.5,", b"{\"id\":", b"\"bid\"", b"},", b"true,", b"\"ask\":"];
        let (mut out, mut x) = (Vec::with_capacity(len + 16), 12345u32);
        while out.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            out.extend_from_slice(WORDS[(x >> 16) as usize % WORDS.len()]);
        }
        out.truncate(len);
        out
    }

    fn deflated(backend: Backend, data: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        compressor(backend, 1, 15, 8).compress_sync(data, &mut out).unwrap();
        assert!(out.ends_with(&[0x00, 0x00, 0xff, 0xff]), "a sync flush ends with the empty stored block");
        out
    }

    /// Test payloads are this many times smaller under Miri, which runs about a thousand times
    /// slower than native code: the paths are the same, only the number of bytes differs.
    const MIRI_SHRINK: usize = if cfg!(miri) { 100 } else { 1 };

    #[test]
    #[cfg_attr(
        miri,
        ignore = "3 MiB through each inflater takes hours under Miri; its multi-step path runs there in input_fed_in_small_pieces_inflates_the_same"
    )]
    fn output_that_takes_many_steps_round_trips_within_its_limit() {
        // 3 MiB inflates in several steps (the first room is at most 1 MiB), each appending to
        // spare capacity: every byte must come out, in order, and the buffer must never grow
        // past the limit.
        let data = wordy(3 << 20);
        for b in backends() {
            let compressed = deflated(b, &data);
            let mut out = BytesMut::new();
            let ended = decompressor(b, 15).decompress(&compressed, &mut out, data.len()).unwrap();
            assert!(!ended, "{b:?}: a sync flush does not end the stream");
            assert!(out[..] == data[..], "{b:?}: inflated bytes differ");
            assert!(out.capacity() <= data.len(), "{b:?}: capacity {} passed the limit {}", out.capacity(), data.len());
        }
    }

    #[test]
    fn one_byte_over_the_limit_is_too_big() {
        let data = wordy(200_000 / MIRI_SHRINK);
        for b in backends() {
            let compressed = deflated(b, &data);
            let mut out = BytesMut::new();
            let r = decompressor(b, 15).decompress(&compressed, &mut out, data.len() - 1);
            assert!(matches!(r, Err(DecodeError::TooBig)), "{b:?}: {r:?}");
            assert!(out.capacity() < data.len(), "{b:?}: capacity {}", out.capacity());
        }
    }

    #[test]
    fn input_fed_in_small_pieces_inflates_the_same() {
        let data = wordy(100_000 / MIRI_SHRINK);
        for b in backends() {
            let compressed = deflated(b, &data);
            let (mut d, mut out) = (decompressor(b, 15), BytesMut::new());
            for piece in compressed.chunks(7) {
                let budget = data.len() - out.len();
                d.decompress(piece, &mut out, budget).unwrap();
            }
            assert!(out[..] == data[..], "{b:?}: inflated bytes differ");
        }
    }
}
