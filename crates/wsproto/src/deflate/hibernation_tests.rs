//! Hibernation must be invisible on the wire: whatever the messages, the window sizes, and where
//! the connection goes idle, every message arrives intact. Each side that hibernates is checked
//! against a partner that never does: a compressor's output by an inflater that never frees its
//! state, an inflater by input from a compressor that never frees its state.

use super::*;
use alloc::vec::Vec;
use proptest::prelude::*;

fn backends() -> Vec<Backend> {
    #[allow(unused_mut)]
    let mut all = alloc::vec![Backend::Miniz];
    #[cfg(feature = "zlib-rs")]
    all.push(Backend::ZlibRs);
    all
}

/// One direction of a connection with context takeover: `bits` is the sender's window.
fn direction(backend: Backend, bits: u8, sender_hibernates: bool) -> (DeflateExtension, DeflateExtension) {
    let cfg = |hibernates: bool| {
        DeflateConfig::default().backend(backend).min_compress_size(0).hibernate_after(hibernates.then_some(Duration::ZERO))
    };
    let agreement = Agreement {
        local_no_context_takeover: false,
        remote_no_context_takeover: false,
        local_window_bits: bits,
        remote_window_bits: bits,
    };
    let sender = DeflateExtension::new(&cfg(sender_hibernates), agreement);
    let receiver = DeflateExtension::new(&cfg(!sender_hibernates), agreement);
    (sender, receiver)
}

/// Text that refers back to earlier messages: words from a small vocabulary, picked by `seed`.
fn chatty(seed: u32, len: usize) -> Vec<u8> {
    const WORDS: [&[u8]; 10] = [
        b"{\"from\":",
        b"\"alice\",",
        b"\"text\":",
        b"\"hello ",
        b"world\"}",
        b"lunch ",
        b"today?",
        b"\"bob\",",
        b"42,",
        b"\xc3\xa9t\xc3\xa9 ",
    ];
    let (mut out, mut x) = (Vec::with_capacity(len + 16), seed | 1);
    while out.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        out.extend_from_slice(WORDS[(x >> 16) as usize % WORDS.len()]);
    }
    out.truncate(len);
    out
}

/// Sends `msg` from `tx` to `rx` as the connection would: whole or in `fragments` pieces, raw if
/// the extension declines it or it does not shrink, fed to `rx` in pieces of `chunk` bytes.
/// `mid` calls `hibernate` on both in the middle of the message, which must change nothing.
fn deliver(tx: &mut DeflateExtension, rx: &mut DeflateExtension, msg: &[u8], fragments: usize, chunk: usize, mid: bool) -> Vec<u8> {
    let whole = fragments <= 1;
    if tx.begin_encode(whole.then_some(msg.len())) == 0 {
        return msg.to_vec();
    }
    let pieces: Vec<&[u8]> = if whole { alloc::vec![msg] } else { msg.chunks(msg.len().div_ceil(fragments).max(1)).collect() };
    let mut frames = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let mut out = BytesMut::new();
        tx.encode(piece, i + 1 == pieces.len(), &mut out).unwrap();
        if mid && i == 0 {
            tx.hibernate();
        }
        frames.push(out);
    }
    if pieces.is_empty() {
        let mut out = BytesMut::new();
        tx.encode(&[], true, &mut out).unwrap();
        frames.push(out);
    }
    if whole && frames[0].len() >= msg.len() && tx.discard_encode() {
        return msg.to_vec();
    }
    let mut got = BytesMut::new();
    for (i, frame) in frames.iter().enumerate() {
        for piece in frame.chunks(chunk.max(1)) {
            rx.decode(piece, &mut got, usize::MAX).unwrap();
            if mid && i == 0 {
                rx.hibernate();
            }
        }
    }
    rx.finish_decode(&mut got, usize::MAX).unwrap();
    got.to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 4 } else { 64 }, ..ProptestConfig::default() })]

    #[test]
    fn every_message_arrives_intact_across_hibernation(
        backend in prop::sample::select(backends()),
        bits in 8u8..=15,
        sender_hibernates in any::<bool>(),
        msgs in prop::collection::vec((any::<u32>(), 0usize..6000, 0usize..4, 1usize..5000, any::<bool>(), any::<bool>()), 1..10),
    ) {
        let (mut tx, mut rx) = direction(backend, bits, sender_hibernates);
        for (seed, len, fragments, chunk, idle_after, mid) in msgs {
            let len = if cfg!(miri) { len / 20 } else { len };
            let msg = chatty(seed, len);
            let got = deliver(&mut tx, &mut rx, &msg, fragments, chunk, mid);
            prop_assert!(got == msg, "{:?} bits {}: a {} B message changed", backend, bits, msg.len());
            if idle_after {
                let side = if sender_hibernates { &mut tx } else { &mut rx };
                side.hibernate();
                prop_assert!(side.is_hibernating());
                prop_assert!(side.idle_bytes() <= 1 << bits, "{} B idle for a {}-bit window", side.idle_bytes(), bits);
            }
        }
    }
}

#[test]
fn hibernating_keeps_what_was_sent_and_frees_the_rest() {
    for backend in backends() {
        let (mut tx, mut rx) = direction(backend, 15, true);
        let msg = chatty(7, 1000);
        assert_eq!(deliver(&mut tx, &mut rx, &msg, 1, 4096, false), msg);
        // What the connection does once the delay has passed: only the 1000 bytes are kept.
        tx.hibernate();
        assert!(tx.is_hibernating(), "{backend:?}");
        assert_eq!(tx.idle_bytes(), 1000, "{backend:?}");
        // The next message refers back into the kept window: it compresses as well as if the
        // compressor had never been freed.
        let mut never_idle = direction(backend, 15, false).0;
        let mut out = BytesMut::new();
        never_idle.encode(&msg, true, &mut out).unwrap();
        let mut first_again = BytesMut::new();
        never_idle.encode(&msg, true, &mut first_again).unwrap();
        let mut rebuilt = BytesMut::new();
        tx.begin_encode(Some(msg.len()));
        tx.encode(&msg, true, &mut rebuilt).unwrap();
        // `out` is the message compressed with an empty window, as a compressor that forgot it
        // would send it.
        assert!(
            rebuilt.len() < out.len(),
            "{backend:?}: a repeated message took {} B after waking, {} B cold, {} B never idle",
            rebuilt.len(),
            out.len(),
            first_again.len()
        );
        assert!(
            rebuilt.len() <= first_again.len() + 8,
            "{backend:?}: {} B after waking, {} B without sleeping",
            rebuilt.len(),
            first_again.len()
        );
    }
}

#[test]
fn nothing_is_allocated_before_the_first_compressed_message() {
    for backend in backends() {
        let (tx, rx) = direction(backend, 15, false);
        assert!(tx.is_hibernating() && rx.is_hibernating(), "{backend:?}");
        assert_eq!(tx.idle_bytes() + rx.idle_bytes(), 0, "{backend:?}");
    }
}

#[test]
fn without_context_takeover_nothing_is_kept() {
    for backend in backends() {
        let agreement =
            Agreement { local_no_context_takeover: true, remote_no_context_takeover: true, local_window_bits: 15, remote_window_bits: 15 };
        let cfg = DeflateConfig::default().backend(backend).hibernate_after(Some(Duration::ZERO));
        let (mut tx, mut rx) = (DeflateExtension::new(&cfg, agreement), DeflateExtension::new(&cfg, agreement));
        let msg = chatty(3, 2000);
        assert_eq!(deliver(&mut tx, &mut rx, &msg, 1, 100, false), msg);
        tx.hibernate();
        rx.hibernate();
        assert_eq!(tx.idle_bytes() + rx.idle_bytes(), 0, "{backend:?}");
    }
}
