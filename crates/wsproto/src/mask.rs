//! Payload masking (RFC 6455 §5.3).
//!
//! Masking XORs the payload with a 4-byte key that repeats. The byte-at-a-time `key[i & 3]` loop
//! runs at about 3 GB/s; XOR on whole 64-bit words, which the compiler turns into SIMD, runs at
//! memory speed. On x86-64 with `std` the same word loop is also compiled with AVX2 enabled and
//! picked at run time, which doubles the width again.

/// XORs `buf` with the mask `key`, where `buf[0]` is byte number `offset` of the payload.
///
/// Masking is its own inverse, so this both masks and unmasks. `offset` lets a payload that
/// arrives in pieces be unmasked piece by piece.
///
/// ```
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"Hello";
/// wsproto::mask::apply_mask(&mut payload, key, 0);
/// assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// // The same bytes unmasked in two pieces.
/// let (head, tail) = payload.split_at_mut(2);
/// wsproto::mask::apply_mask(head, key, 0);
/// wsproto::mask::apply_mask(tail, key, 2);
/// assert_eq!(&payload, b"Hello");
/// ```
#[inline(always)]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    // Small payloads (most messages) stay inline in the caller; large ones take the call.
    if buf.len() < 128 {
        mask_words(buf, key);
    } else {
        mask_large(buf, key);
    }
}

#[inline(never)]
fn mask_large(buf: &mut [u8], key: [u8; 4]) {
    // Miri checks the portable loop, which is what every other build runs too.
    #[cfg(all(feature = "std", target_arch = "x86_64", not(miri)))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, which is the only precondition of `mask_avx2`.
        #[allow(unsafe_code)]
        unsafe {
            mask_avx2(buf, key)
        };
        return;
    }
    mask_words(buf, key);
}

/// The key as seen from byte `offset` of the payload.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut k = key;
    k.rotate_left(offset & 3);
    k
}

/// XOR in 32-byte blocks of 64-bit words. The compiler vectorises the block loop with whatever
/// SIMD width the enclosing function was compiled for.
#[inline(always)]
fn mask_words(buf: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for w in block.chunks_exact_mut(8) {
            xor_word(w, word);
        }
    }
    let mut words = blocks.into_remainder().chunks_exact_mut(8);
    for w in &mut words {
        xor_word(w, word);
    }
    // Fewer than 8 bytes remain, starting at a multiple of 8, so the key phase is 0.
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

#[inline(always)]
fn xor_word(w: &mut [u8], word: u64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(w);
    w.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
}

/// The word loop compiled with AVX2 enabled.
#[cfg(all(feature = "std", target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "avx2")]
fn mask_avx2(buf: &mut [u8], key: [u8; 4]) {
    mask_words(buf, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc_6455_5_7_masked_hello() {
        let mut p = *b"Hello";
        apply_mask(&mut p, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(p, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    proptest! {
        #[test]
        fn matches_the_naive_loop_at_every_length_and_offset(
            data in proptest::collection::vec(any::<u8>(), 0..700),
            key in any::<[u8; 4]>(),
            offset in 0usize..16,
        ) {
            let mut fast = data.clone();
            let mut slow = data.clone();
            apply_mask(&mut fast, key, offset);
            naive(&mut slow, key, offset);
            prop_assert_eq!(&fast, &slow);
            apply_mask(&mut fast, key, offset);
            prop_assert_eq!(&fast, &data);
        }

        #[test]
        fn unmasking_in_pieces_equals_unmasking_at_once(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            key in any::<[u8; 4]>(),
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let mut whole = data.clone();
            apply_mask(&mut whole, key, 0);
            let mut pieces = data.clone();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            for w in cuts.windows(2) {
                apply_mask(&mut pieces[w[0]..w[1]], key, w[0]);
            }
            prop_assert_eq!(whole, pieces);
        }
    }
}
