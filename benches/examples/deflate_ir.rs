//! A deterministic companion to `benches/deflate.rs`, for counting instructions instead of
//! timing: it runs one case's messages (two full cycles) through the raw backend and through
//! wsproto's extension, each path in its own non-inlined function, so that
//! `valgrind --tool=callgrind` reports the two paths' instruction counts side by side without
//! the noise of a shared machine.
//!
//! ```text
//! cargo build --release -p wsproto-benches --example deflate_ir
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/deflate_ir compress zlib-rs 1KiB takeover
//! callgrind_annotate --inclusive=yes cg.out | grep -E 'run_raw|run_ext'
//! ```
//!
//! Arguments: `compress|inflate`, `miniz|zlib-rs`, `1KiB|64KiB`, `takeover|no-takeover`.

use std::hint::black_box;

use bytes::BytesMut;
use wsproto::deflate::Backend;
use wsproto_benches::json_messages;

#[path = "../benches/support/deflate_paths.rs"]
#[allow(dead_code)]
mod deflate_paths;
use deflate_paths::{RawCompress, RawInflate, ext_compress, ext_inflate, extension};

const CYCLES: usize = 2;

#[inline(never)]
fn run_raw(compress: bool, backend: Backend, takeover: bool, inputs: &[Vec<u8>]) -> usize {
    let mut total = 0;
    if compress {
        let mut raw = RawCompress::new(backend, takeover);
        for _ in 0..CYCLES {
            for m in inputs {
                total += black_box(raw.compress(m)).len();
            }
        }
    } else {
        let mut raw = RawInflate::new(backend);
        for _ in 0..CYCLES {
            for p in inputs {
                total += black_box(raw.inflate(p)).len();
            }
        }
    }
    total
}

#[inline(never)]
fn run_ext(compress: bool, backend: Backend, takeover: bool, inputs: &[Vec<u8>]) -> usize {
    let mut total = 0;
    let mut ext = extension(backend, takeover);
    let mut out = BytesMut::new();
    for _ in 0..CYCLES {
        for i in inputs {
            if compress {
                ext_compress(&mut ext, i, &mut out);
            } else {
                ext_inflate(&mut ext, i, &mut out);
            }
            total += black_box(&out).len();
        }
    }
    total
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [direction, backend, size, takeover] = args.as_slice() else {
        eprintln!("usage: deflate_ir compress|inflate miniz|zlib-rs 1KiB|64KiB takeover|no-takeover");
        std::process::exit(2);
    };
    let compress = direction == "compress";
    let backend = if backend == "miniz" { Backend::Miniz } else { Backend::ZlibRs };
    let takeover = takeover == "takeover";
    let msgs = if size == "1KiB" { json_messages(1 << 10, 64, 0x5eed_0001) } else { json_messages(64 << 10, 8, 0x5eed_0002) };
    let inputs: Vec<Vec<u8>> = if compress {
        msgs.clone()
    } else {
        // The same inflate input as the benchmark: zlib-rs, level 1.
        let mut z = RawCompress::new(Backend::ZlibRs, takeover);
        msgs.iter().map(|m| z.compress(m).to_vec()).collect()
    };
    let raw = run_raw(compress, backend, takeover, &inputs);
    let ext = run_ext(compress, backend, takeover, &inputs);
    if compress {
        assert_eq!(raw, ext, "both paths produce the same compressed bytes");
    } else {
        assert_eq!(raw, ext, "both paths inflate to the same length");
        assert_eq!(raw, CYCLES * msgs.iter().map(Vec::len).sum::<usize>());
    }
    println!(
        "{direction} {size} {}: {} messages, {raw} bytes out per path",
        if takeover { "takeover" } else { "no-takeover" },
        CYCLES * inputs.len()
    );
}
