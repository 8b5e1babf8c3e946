//! Incremental UTF-8 validation (RFC 6455 §8.1) and the [`Utf8Bytes`] text type.
//!
//! Text arrives in frames, frames arrive in pieces, and a code point may straddle any of those
//! boundaries. [`Utf8Validator`] checks each piece as it comes, carrying at most three bytes of an
//! unfinished code point, and reports an error at the first byte that no valid text could contain,
//! not at the end of the message. Bulk checking is done by `simdutf8`.

use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// The text is not valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl core::error::Error for InvalidUtf8 {}

/// Validates UTF-8 that arrives in pieces.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Utf8Validator {
        Utf8Validator { partial: [0; 4], partial_len: 0 }
    }

    /// Checks the next piece. Fails as soon as the text so far cannot be the prefix of valid UTF-8.
    #[inline]
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len != 0 {
            chunk = self.finish_code_point(chunk)?;
        }
        if is_ascii(chunk) {
            // Short pieces are mostly ASCII; this test is cheaper than the SIMD set-up.
            return Ok(());
        }
        match simdutf8::compat::from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // The piece ends inside a code point whose bytes so far are a valid prefix.
                let tail = &chunk[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Completes the code point carried over from the previous piece, returning the rest of `chunk`.
    fn finish_code_point<'a>(&mut self, chunk: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let have = usize::from(self.partial_len);
        let want = sequence_len(self.partial[0]);
        let take = (want - have).min(chunk.len());
        self.partial[have..have + take].copy_from_slice(&chunk[..take]);
        match core::str::from_utf8(&self.partial[..have + take]) {
            Ok(_) => {
                self.partial_len = 0;
                Ok(&chunk[take..])
            }
            Err(e) if e.error_len().is_none() => {
                // Still a valid prefix, and `chunk` is used up.
                self.partial_len = (have + take) as u8;
                Ok(&[])
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the text. Fails if it stopped in the middle of a code point.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let incomplete = self.partial_len != 0;
        *self = Utf8Validator::new();
        if incomplete { Err(InvalidUtf8) } else { Ok(()) }
    }

    /// Whether the text so far ends in the middle of a code point.
    pub fn is_incomplete(&self) -> bool {
        self.partial_len != 0
    }
}

/// The length of the sequence that `first` starts. Only called on bytes that a valid prefix can
/// start with, so it never sees continuation bytes.
fn sequence_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

/// Validates a complete text at once.
#[inline]
pub fn validate(bytes: &[u8]) -> Result<(), InvalidUtf8> {
    if is_ascii(bytes) {
        return Ok(());
    }
    simdutf8::basic::from_utf8(bytes).map(|_| ()).map_err(|_| InvalidUtf8)
}

/// Whether every byte is ASCII: 8 bytes at a time, inline for short texts (most chat and JSON
/// messages are short ASCII), `core`'s SIMD version for long ones.
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    if bytes.len() > 64 {
        return bytes.is_ascii();
    }
    let mut words = bytes.chunks_exact(8);
    let mut high = 0u64;
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        high |= u64::from_ne_bytes(b);
    }
    for &b in words.remainder() {
        high |= u64::from(b);
    }
    high & 0x8080_8080_8080_8080 == 0
}

/// Bytes that are known to be valid UTF-8: the payload of a text message.
///
/// It derefs to `str`, converts from `String` without copying (and from `&str` with a copy; use
/// [`Utf8Bytes::from_static`] for a `&'static str`), and into [`Bytes`] for free.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from a static string, without copying.
    pub const fn from_static(s: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps `bytes` after checking that they are valid UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Utf8Bytes, InvalidUtf8> {
        validate(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }

    /// Wraps bytes that the caller has already validated.
    pub(crate) fn from_validated(bytes: Bytes) -> Utf8Bytes {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // The constructors only ever wrap validated bytes. Re-checking here would cost a full pass
        // on every access, so the conversion is the checked one only in debug builds (and Miri).
        #[cfg(any(debug_assertions, miri))]
        let text = core::str::from_utf8(&self.0).expect("Utf8Bytes holds valid UTF-8");
        // SAFETY: every constructor of `Utf8Bytes` validates its bytes (or takes them from a
        // `str`/`String`), and `Bytes` never changes the bytes it shares.
        #[cfg(not(any(debug_assertions, miri)))]
        #[allow(unsafe_code)]
        let text = unsafe { core::str::from_utf8_unchecked(&self.0) };
        text
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the UTF-8 guarantee and returns the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<alloc::string::String> for Utf8Bytes {
    fn from(s: alloc::string::String) -> Utf8Bytes {
        Utf8Bytes(Bytes::from(s))
    }
}

/// Copies the text; [`Utf8Bytes::from_static`] makes one from a `&'static str` without a copy.
impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Utf8Bytes {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<&alloc::string::String> for Utf8Bytes {
    fn from(s: &alloc::string::String) -> Utf8Bytes {
        Utf8Bytes::from(s.as_str())
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = InvalidUtf8;
    fn try_from(bytes: Bytes) -> Result<Utf8Bytes, InvalidUtf8> {
        Utf8Bytes::try_from_bytes(bytes)
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(t: Utf8Bytes) -> Bytes {
        t.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;
    use proptest::prelude::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for p in pieces {
            v.feed(p)?;
        }
        v.finish()
    }

    #[test]
    fn a_code_point_split_across_pieces_is_valid() {
        let euro = "€".as_bytes(); // e2 82 ac
        assert_eq!(feed_all(&[&euro[..1], &euro[1..2], &euro[2..]]), Ok(()));
        let emoji = "😀".as_bytes();
        assert_eq!(feed_all(&[b"ab", &emoji[..1], b"", &emoji[1..3], &emoji[3..], b"cd"]), Ok(()));
    }

    #[test]
    fn fails_at_the_first_impossible_byte_not_at_the_end() {
        let mut v = Utf8Validator::new();
        v.feed(b"valid").unwrap();
        // 0xF4 0x90 can start no code point (above U+10FFFF), though the sequence is unfinished.
        assert_eq!(v.feed(&[0xF4, 0x90]), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(&[0xF4]).unwrap();
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        // Surrogates are not UTF-8.
        let mut v = Utf8Validator::new();
        v.feed(&[0xED]).unwrap();
        assert_eq!(v.feed(&[0xA0]), Err(InvalidUtf8));
        // A lone continuation byte.
        assert_eq!(Utf8Validator::new().feed(&[0x80]), Err(InvalidUtf8));
    }

    #[test]
    fn an_unfinished_code_point_fails_at_the_end() {
        let mut v = Utf8Validator::new();
        v.feed(&[b'a', 0xE2, 0x82]).unwrap();
        assert!(v.is_incomplete());
        assert_eq!(v.finish(), Err(InvalidUtf8));
        // finish() resets the validator for the next message.
        assert_eq!(v.feed(b"ok"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn utf8_bytes_wraps_only_valid_text() {
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"\xff")).is_err());
        let t = Utf8Bytes::try_from(Bytes::from_static("κόσμε".as_bytes())).unwrap();
        assert_eq!(t, "κόσμε");
        assert_eq!(t.len(), 10);
        assert_eq!(Bytes::from(t.clone()), Bytes::from_static("κόσμε".as_bytes()));
        assert_eq!(format!("{t}|{t:?}"), "κόσμε|\"κόσμε\"");
    }

    proptest! {
        #[test]
        fn splitting_anywhere_agrees_with_std(
            data in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                any::<String>().prop_map(String::into_bytes),
                (any::<String>(), any::<u8>(), 0usize..64).prop_map(|(s, b, at)| {
                    let mut v = s.into_bytes();
                    let at = at.min(v.len());
                    v.insert(at, b);
                    v
                }),
            ],
            cuts in proptest::collection::vec(0usize..64, 0..5),
        ) {
            let expected = core::str::from_utf8(&data).is_ok();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let pieces: Vec<&[u8]> = cuts.windows(2).map(|w| &data[w[0]..w[1]]).collect();
            prop_assert_eq!(feed_all(&pieces).is_ok(), expected);
            prop_assert_eq!(validate(&data).is_ok(), expected);
        }

        #[test]
        fn the_error_comes_at_the_first_invalid_prefix(data in proptest::collection::vec(any::<u8>(), 1..40)) {
            // Feeding byte by byte must fail exactly at the first byte where std says the prefix
            // can no longer be completed.
            let first_bad = (1..=data.len()).find(|&n| match core::str::from_utf8(&data[..n]) {
                Ok(_) => false,
                Err(e) => e.error_len().is_some(),
            });
            let mut v = Utf8Validator::new();
            let failed_at = (0..data.len()).find(|&i| v.feed(&data[i..i + 1]).is_err()).map(|i| i + 1);
            prop_assert_eq!(failed_at, first_bad);
        }
    }
}
