//! The two paths compared by the deflate benchmark: the raw backends, called directly and as
//! leanly as a caller can, and wsproto's permessage-deflate extension. Shared by `benches/deflate.rs` and
//! `examples/deflate_ir.rs`.

use bytes::BytesMut;
use miniz_oxide::deflate::core::{CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params};
use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use wsproto::Extension;
use wsproto::deflate::{Backend, DeflateConfig, DeflateExtension, negotiate_server};
use wsproto_benches::DEFLATE_TAIL;
use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

/// The compression level of every benchmark: wsproto's default.
pub(crate) const LEVEL: u8 = 1;

/// The message size limit given to the decoder: the connection's default.
pub(crate) const LIMIT: usize = 16 << 20;

enum RawCompressor {
    Miniz(Box<CompressorOxide>),
    Zlib(Deflate),
}

/// A compressor called directly: one sync flush per message into a reused buffer, tail stripped.
pub(crate) struct RawCompress {
    c: RawCompressor,
    buf: Vec<u8>,
    reset_each: bool,
}

impl RawCompress {
    pub(crate) fn new(backend: Backend, takeover: bool) -> RawCompress {
        let c = match backend {
            Backend::Miniz => {
                RawCompressor::Miniz(Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(i32::from(LEVEL), -15, 0))))
            }
            _ => RawCompressor::Zlib(Deflate::new_with_config(zlib_rs::DeflateConfig {
                level: i32::from(LEVEL),
                window_bits: -15,
                mem_level: 8,
                ..zlib_rs::DeflateConfig::default()
            })),
        };
        RawCompress { c, buf: Vec::new(), reset_each: !takeover }
    }

    /// One backend call: (consumed, written).
    fn step(&mut self, input: &[u8], written: usize) -> (usize, usize) {
        let out = &mut self.buf[written..];
        match &mut self.c {
            RawCompressor::Miniz(c) => {
                let (status, used, wrote) = compress(c, input, out, TDEFLFlush::Sync);
                assert!(matches!(status, TDEFLStatus::Okay | TDEFLStatus::Done), "miniz: {status:?}");
                (used, wrote)
            }
            RawCompressor::Zlib(d) => {
                let (i0, o0) = (d.total_in(), d.total_out());
                d.compress(input, out, DeflateFlush::SyncFlush).expect("zlib-rs compress");
                ((d.total_in() - i0) as usize, (d.total_out() - o0) as usize)
            }
        }
    }

    #[inline(never)] // a symbol of its own, for profilers
    pub(crate) fn compress(&mut self, msg: &[u8]) -> &[u8] {
        let need = msg.len() + msg.len() / 8 + 64;
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let mut input = msg;
        let mut written = 0;
        loop {
            let (used, wrote) = self.step(input, written);
            written += wrote;
            input = &input[used..];
            if input.is_empty() && written < self.buf.len() {
                break;
            }
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        assert!(self.buf[..written].ends_with(&DEFLATE_TAIL));
        written -= DEFLATE_TAIL.len();
        if self.reset_each {
            match &mut self.c {
                RawCompressor::Miniz(c) => c.reset(),
                RawCompressor::Zlib(d) => d.reset(),
            }
        }
        &self.buf[..written]
    }
}

enum RawInflater {
    Miniz(Box<InflateState>),
    Zlib(Inflate),
}

/// An inflater called directly: the payload, then the tail, into a reused buffer.
pub(crate) struct RawInflate {
    d: RawInflater,
    buf: Vec<u8>,
}

impl RawInflate {
    pub(crate) fn new(backend: Backend) -> RawInflate {
        let d = match backend {
            Backend::Miniz => RawInflater::Miniz(InflateState::new_boxed(DataFormat::Raw)),
            _ => RawInflater::Zlib(Inflate::new(false, 15)),
        };
        RawInflate { d, buf: vec![0; 128 << 10] }
    }

    /// One backend call: (consumed, written, stream ended).
    fn step(&mut self, input: &[u8], written: usize) -> (usize, usize, bool) {
        let out = &mut self.buf[written..];
        match &mut self.d {
            RawInflater::Miniz(s) => {
                let r = inflate(s, input, out, MZFlush::None);
                match r.status {
                    Ok(MZStatus::Ok) | Err(MZError::Buf) => (r.bytes_consumed, r.bytes_written, false),
                    Ok(MZStatus::StreamEnd) => (r.bytes_consumed, r.bytes_written, true),
                    other => panic!("miniz inflate: {other:?}"),
                }
            }
            RawInflater::Zlib(d) => {
                let (i0, o0) = (d.total_in(), d.total_out());
                let st = d.decompress(input, out, InflateFlush::NoFlush).expect("zlib-rs inflate");
                ((d.total_in() - i0) as usize, (d.total_out() - o0) as usize, st == Status::StreamEnd)
            }
        }
    }

    #[inline(never)] // a symbol of its own, for profilers
    pub(crate) fn inflate(&mut self, payload: &[u8]) -> &[u8] {
        let mut written = 0;
        for part in [payload, &DEFLATE_TAIL[..]] {
            let mut input = part;
            loop {
                if written == self.buf.len() {
                    let grown = self.buf.len() * 2;
                    self.buf.resize(grown, 0);
                }
                let (used, wrote, end) = self.step(input, written);
                input = &input[used..];
                written += wrote;
                assert!(!end, "the benchmark's streams have no final block");
                if input.is_empty() && written < self.buf.len() {
                    break;
                }
            }
        }
        &self.buf[..written]
    }
}

// wsproto's extension.

pub(crate) fn deflate_config(backend: Backend, takeover: bool) -> DeflateConfig {
    DeflateConfig::default().backend(backend).level(LEVEL).server_no_context_takeover(!takeover).client_no_context_takeover(!takeover)
}

/// The server's extension, negotiated from a browser-like offer.
pub(crate) fn extension(backend: Backend, takeover: bool) -> DeflateExtension {
    let offers = wsproto::handshake::parse_extensions([b"permessage-deflate; client_max_window_bits".as_slice()]).expect("offer");
    let (_, ext) = negotiate_server(&deflate_config(backend, takeover), &offers).expect("negotiated");
    assert_eq!(ext.local_no_context_takeover(), !takeover);
    ext
}

#[inline(never)] // a symbol of its own, for profilers
pub(crate) fn ext_compress(ext: &mut DeflateExtension, msg: &[u8], out: &mut BytesMut) {
    out.clear();
    assert_ne!(ext.begin_encode(Some(msg.len())), 0, "the message is compressed");
    ext.encode(msg, true, out).expect("encode");
}

#[inline(never)] // a symbol of its own, for profilers
pub(crate) fn ext_inflate(ext: &mut DeflateExtension, payload: &[u8], out: &mut BytesMut) {
    out.clear();
    ext.decode(payload, out, LIMIT).expect("decode");
    ext.finish_decode(out, LIMIT).expect("finish_decode");
}
