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
            let start = out.len();
            out.resize(start + room, 0);
            let step = self.step(input, &mut out[start..]);
            let step = match step {
                Ok(s) => s,
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            };
            out.truncate(start + step.written);
            input = &input[step.consumed..];
            // The flush is complete once all input is taken and the output did not fill up.
            if input.is_empty() && step.written < room {
                return Ok(());
            }
        }
    }

    /// One call of the backend with a sync flush.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, &'static str>;

    /// Forgets the window: the next message starts a fresh stream.
    fn reset(&mut self);
}

/// A decompressor that keeps its window between calls until reset.
pub(crate) trait Decompress: Send {
    /// Inflates `input`, appending to `out`, which may grow by at most `limit` bytes. Returns
    /// whether the deflate stream ended.
    fn decompress(&mut self, input: &[u8], out: &mut BytesMut, limit: usize) -> Result<bool, DecodeError> {
        let mut input = input;
        let mut budget = limit;
        // Start near the likely size and double: a small message never holds a large buffer.
        let mut room = (input.len() * 4).clamp(256, 64 << 10);
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
            let start = out.len();
            reserve_bounded(out, room_now, start + budget);
            out.resize(start + room_now, 0);
            let step = match self.step(input, &mut out[start..]) {
                Ok(s) => s,
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            };
            out.truncate(start + step.written);
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
                room = (room * 2).min(4 << 20);
            }
        }
    }

    /// One call of the backend.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError>;

    /// Forgets the window and any stream end.
    fn reset(&mut self);
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
    }
}

#[cfg(feature = "zlib-rs")]
mod zlib {
    use super::Step;
    use crate::extension::DecodeError;
    use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Status};

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
    }

    impl super::Compress for Compressor {
        fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, &'static str> {
            let before_in = self.0.total_in();
            let before_out = self.0.total_out();
            match self.0.compress(input, output, DeflateFlush::SyncFlush) {
                Ok(Status::Ok | Status::BufError | Status::StreamEnd) => Ok(Step {
                    consumed: (self.0.total_in() - before_in) as usize,
                    written: (self.0.total_out() - before_out) as usize,
                    end: false,
                }),
                Err(e) => Err(e.as_str()),
            }
        }

        fn reset(&mut self) {
            self.0.reset();
        }
    }

    pub(super) struct Decompressor(Inflate, u8);

    impl Decompressor {
        pub(super) fn new(window_bits: u8) -> Decompressor {
            // zlib cannot inflate raw streams with 8 window bits; 9 reads them correctly.
            let bits = window_bits.clamp(9, 15);
            Decompressor(Inflate::new(false, bits), bits)
        }
    }

    impl super::Decompress for Decompressor {
        fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<Step, DecodeError> {
            let before_in = self.0.total_in();
            let before_out = self.0.total_out();
            let status = self.0.decompress(input, output, InflateFlush::NoFlush);
            let consumed = (self.0.total_in() - before_in) as usize;
            let written = (self.0.total_out() - before_out) as usize;
            match status {
                Ok(Status::Ok | Status::BufError) => Ok(Step { consumed, written, end: false }),
                Ok(Status::StreamEnd) => Ok(Step { consumed, written, end: true }),
                Err(_) => Err(DecodeError::Invalid("corrupt deflate stream")),
            }
        }

        fn reset(&mut self) {
            // A fresh state keeps the negotiated window size (`Inflate::reset` would not).
            self.0 = Inflate::new(false, self.1);
        }
    }
}
