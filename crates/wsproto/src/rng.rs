//! Injected randomness.
//!
//! A client must mask every frame with a key that the network cannot predict (RFC 6455 §10.3),
//! and the opening handshake needs a random 16-byte nonce. The core has no randomness of its own:
//! the caller hands it a [`Random`] source. Under `std`, [`OsRandom`] draws from the operating
//! system in batches, so that a frame does not cost a system call. Tests use [`SeededRandom`] so
//! that every mask is reproducible.

#[cfg(feature = "std")]
use core::fmt;

/// A source of random bytes for mask keys and handshake nonces.
pub trait Random: Send {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

impl<R: Random + ?Sized> Random for alloc::boxed::Box<R> {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }
}

/// A deterministic source, for tests and reproducible traces. **Not** for production clients.
///
/// It is the SplitMix64 generator, so the same seed gives the same bytes on every platform.
#[derive(Clone, Debug)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    /// A source that produces the same sequence for the same `seed`.
    pub const fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SeededRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Random bytes from the operating system, buffered.
///
/// One system call fills a 256-byte pool, which covers 64 frames' mask keys.
#[cfg(feature = "std")]
pub struct OsRandom {
    pool: [u8; 256],
    used: usize,
}

#[cfg(feature = "std")]
impl OsRandom {
    /// A source with an empty pool; the first draw fills it.
    pub const fn new() -> OsRandom {
        OsRandom { pool: [0; 256], used: 256 }
    }
}

#[cfg(feature = "std")]
impl Default for OsRandom {
    fn default() -> Self {
        OsRandom::new()
    }
}

#[cfg(feature = "std")]
impl fmt::Debug for OsRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the pool: it holds future mask keys.
        f.debug_struct("OsRandom").finish_non_exhaustive()
    }
}

#[cfg(feature = "std")]
impl Random for OsRandom {
    fn fill(&mut self, mut dest: &mut [u8]) {
        while !dest.is_empty() {
            if self.used == self.pool.len() {
                // An OS without a working random source cannot mask frames safely; there is no
                // sensible fallback, and continuing with predictable keys would be worse.
                getrandom::fill(&mut self.pool).expect("the operating system's random source failed");
                self.used = 0;
            }
            let n = dest.len().min(self.pool.len() - self.used);
            dest[..n].copy_from_slice(&self.pool[self.used..self.used + n]);
            // Wipe what was handed out, so that the pool never hands out the same bytes twice.
            self.pool[self.used..self.used + n].fill(0);
            self.used += n;
            dest = &mut dest[n..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn seeded_source_is_reproducible_and_varied() {
        let mut a = SeededRandom::new(7);
        let mut b = SeededRandom::new(7);
        let (mut x, mut y) = ([0u8; 21], [0u8; 21]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        let mut c = SeededRandom::new(8);
        c.fill(&mut y);
        assert_ne!(x, y);
    }

    #[cfg(feature = "std")]
    #[test]
    fn os_source_refills_its_pool_and_does_not_repeat() {
        let mut r = OsRandom::new();
        let mut seen = std::collections::HashSet::new();
        // 200 keys of 4 bytes cross the 256-byte pool boundary several times.
        for _ in 0..200 {
            let mut key = [0u8; 4];
            r.fill(&mut key);
            seen.insert(key);
        }
        // 200 draws from 2^32 values collide with probability about 5e-6.
        assert!(seen.len() >= 199, "{} distinct keys", seen.len());
        let mut big = [0u8; 1000];
        r.fill(&mut big);
        assert!(big.iter().filter(|&&b| b == 0).count() < 30);
    }
}
