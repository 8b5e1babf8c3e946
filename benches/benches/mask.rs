//! Unmasking speed (RFC 6455 §5.3): `wsproto::mask::apply_mask` against reference loops, on
//! buffers of 1 KiB, 64 KiB and 1 MiB, in place, reported in GB/s (10^9 bytes per second).
//!
//! - `wsproto`: `wsproto::mask::apply_mask`, the function the connection uses.
//! - `avx2-intrinsics`: a hand-written reference, `_mm256_xor_si256` on unaligned 32-byte blocks
//!   (run only where `is_x86_feature_detected!("avx2")`). The target is to be within 10% of it.
//! - `u32-words`: the approach tungstenite takes, written here from scratch: bytes up to a 4-byte
//!   boundary, then aligned `u32` words XOR-ed with the rotated key, then the tail bytes.
//! - `naive`: `buf[i] ^= key[i & 3]`, the loop that runs at a tenth of memory speed.
//! - `memcpy`: `copy_from_slice` of the same number of bytes into another buffer: the speed of
//!   moving the bytes at all, a ceiling that an in-place XOR can approach but not beat by much.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The AVX2 reference: XOR each 32-byte block with the key broadcast to 8 lanes.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mask_avx2_intrinsics(buf: &mut [u8], key: [u8; 4]) {
    use std::arch::x86_64::{__m256i, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256};
    let k = _mm256_set1_epi32(i32::from_ne_bytes(key));
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        let p = block.as_mut_ptr().cast::<__m256i>();
        // SAFETY: `block` is 32 writable bytes; the unaligned load and store need no alignment.
        unsafe { _mm256_storeu_si256(p, _mm256_xor_si256(_mm256_loadu_si256(p), k)) };
    }
    // The tail starts at a multiple of 32, so the key phase is 0 again.
    for (i, b) in blocks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Word-at-a-time masking the tungstenite way: align, then `u32` words, then the tail.
fn mask_u32_words(buf: &mut [u8], key: [u8; 4]) {
    // SAFETY: every bit pattern is a valid `u32`, and `align_to_mut` only hands out aligned,
    // in-bounds words.
    let (head, words, tail) = unsafe { buf.align_to_mut::<u32>() };
    for (i, b) in head.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
    let shift = head.len() & 3;
    let mut k = key;
    k.rotate_left(shift);
    let word = u32::from_ne_bytes(k);
    for w in words.iter_mut() {
        *w ^= word;
    }
    for (i, b) in tail.iter_mut().enumerate() {
        *b ^= k[i & 3];
    }
}

/// The byte-at-a-time loop.
fn mask_naive(buf: &mut [u8], key: [u8; 4]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

fn check_all_agree() {
    let data: Vec<u8> = (0..5010u32).map(|i| (i * 7 + 3) as u8).collect();
    for len in [0, 1, 3, 31, 32, 33, 127, 128, 129, 1000, 4999] {
        for start in 0..4 {
            let src = &data[start..start + len];
            let mut want = src.to_vec();
            mask_naive(&mut want, KEY);
            let mut a = src.to_vec();
            wsproto::mask::apply_mask(&mut a, KEY, 0);
            assert_eq!(a, want, "apply_mask, len {len}");
            let mut b = data.clone();
            mask_u32_words(&mut b[start..start + len], KEY);
            assert_eq!(&b[start..start + len], &want[..], "u32 words, len {len} start {start}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                let mut c = src.to_vec();
                // SAFETY: AVX2 was detected just above.
                unsafe { mask_avx2_intrinsics(&mut c, KEY) };
                assert_eq!(c, want, "avx2, len {len}");
            }
        }
    }
}

fn mask(c: &mut Criterion) {
    check_all_agree();
    let mut g = c.benchmark_group("mask");
    for (len, name) in [(1usize << 10, "1KiB"), (64 << 10, "64KiB"), (1 << 20, "1MiB")] {
        g.throughput(Throughput::BytesDecimal(len as u64));
        let mut buf: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let src = buf.clone();

        g.bench_function(BenchmarkId::new("wsproto", name), |b| {
            b.iter(|| wsproto::mask::apply_mask(black_box(&mut buf), black_box(KEY), 0))
        });

        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            g.bench_function(BenchmarkId::new("avx2-intrinsics", name), |b| {
                // SAFETY: AVX2 was detected just above.
                b.iter(|| unsafe { mask_avx2_intrinsics(black_box(&mut buf), black_box(KEY)) })
            });
        }

        g.bench_function(BenchmarkId::new("u32-words", name), |b| b.iter(|| mask_u32_words(black_box(&mut buf), black_box(KEY))));
        g.bench_function(BenchmarkId::new("naive", name), |b| b.iter(|| mask_naive(black_box(&mut buf), black_box(KEY))));
        g.bench_function(BenchmarkId::new("memcpy", name), |b| b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&src))));
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = mask
}
criterion_main!(benches);
