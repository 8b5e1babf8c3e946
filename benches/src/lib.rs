//! Shared helpers for the benchmarks: wire frames, payloads and JSON messages, all built
//! deterministically and without any peer library's code, so that every library under test
//! decodes exactly the same bytes.

/// The masking key of every generated client frame.
pub const MASK_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The empty stored block that ends a sync flush (RFC 7692 §7.2.1).
pub const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Appends one client-to-server frame to `out`: FIN set, `first_byte_flags` OR-ed into the first
/// byte (RSV1 is `0x40`), opcode `opcode`, masked with `key`.
pub fn masked_frame(opcode: u8, first_byte_flags: u8, payload: &[u8], key: [u8; 4], out: &mut Vec<u8>) {
    out.push(0x80 | first_byte_flags | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
}

/// A masked text frame carrying `payload`, appended to `out`.
pub fn masked_text_frame(payload: &[u8], out: &mut Vec<u8>) {
    masked_frame(0x1, 0, payload, MASK_KEY, out);
}

/// `count` identical masked text frames back to back: one batch of client input.
pub fn masked_text_batch(payload: &[u8], count: usize) -> Vec<u8> {
    let mut one = Vec::new();
    masked_text_frame(payload, &mut one);
    one.repeat(count)
}

/// How many frames of `len` bytes make one decode batch: 256 KiB of payload, at least one frame.
pub fn decode_batch_frames(len: usize) -> usize {
    (256usize << 10).checked_div(len).unwrap_or(1).max(1)
}

/// Printable ASCII text of exactly `len` bytes.
pub fn ascii_payload(len: usize) -> Vec<u8> {
    const WORDS: &[u8] = b"The quick brown fox jumps over the lazy dog 0123456789; ";
    WORDS.iter().copied().cycle().take(len).collect()
}

/// Valid UTF-8 text of exactly `len` bytes in which about half the characters are multi-byte
/// (2, 3 and 4 bytes long), so that no ASCII fast path applies.
pub fn utf8_payload(len: usize) -> Vec<u8> {
    const PIECE: &str = "héllo wörld €uro Ωmega 日本語 🦀 ";
    let mut s = String::with_capacity(len + 4);
    while s.len() < len {
        for c in PIECE.chars() {
            if s.len() + c.len_utf8() > len {
                // Fill the last few bytes with ASCII so the length is exact.
                while s.len() < len {
                    s.push('.');
                }
                break;
            }
            s.push(c);
        }
    }
    debug_assert_eq!(s.len(), len);
    s.into_bytes()
}

/// A small deterministic generator (xorshift64*), so that every run builds the same messages.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One element of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"];
const ROOMS: &[&str] = &["general", "random", "support", "dev-backend", "dev-frontend", "trading-desk", "ops-alerts"];
const WORDS: &[&str] = &[
    "the",
    "deploy",
    "is",
    "green",
    "again",
    "can",
    "someone",
    "review",
    "my",
    "pull",
    "request",
    "latency",
    "looks",
    "fine",
    "on",
    "staging",
    "but",
    "production",
    "has",
    "spikes",
    "around",
    "noon",
    "thanks",
    "lunch",
    "meeting",
    "moved",
    "to",
    "three",
    "ok",
    "websocket",
    "reconnects",
    "after",
    "idle",
    "timeout",
    "cache",
    "hit",
    "rate",
    "dropped",
    "rollback",
    "done",
    "👍",
    "🎉",
];
const SYMBOLS: &[&str] = &["BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT", "NVDA", "EUR-USD", "GBP-USD", "XAU-USD", "TSLA"];
const VENUES: &[&str] = &["XNAS", "XNYS", "BATS", "ARCX", "CBSX"];

/// One chat event as JSON.
fn chat_event(rng: &mut Rng, seq: u64, out: &mut String) {
    use core::fmt::Write;
    let ts = 1_718_000_000_000 + seq * 137 + rng.below(100);
    let _ = write!(
        out,
        r#"{{"type":"message","id":"msg_{:016x}","room":"{}","user":{{"id":{},"name":"{}","avatar":"https://cdn.example.com/a/{}.png"}},"ts":{},"text":""#,
        rng.next_u64(),
        rng.pick(ROOMS),
        1000 + rng.below(9000),
        rng.pick(USERS),
        rng.below(100_000),
        ts
    );
    for i in 0..(4 + rng.below(14)) {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick(WORDS));
    }
    let _ = write!(out, r#"","reactions":{},"edited":{}}}"#, rng.below(5), rng.below(4) == 0);
}

/// One trading event (an order book update or a fill) as JSON.
fn trade_event(rng: &mut Rng, seq: u64, out: &mut String) {
    use core::fmt::Write;
    let sym = rng.pick(SYMBOLS);
    let px = 10_000 + rng.below(9_000_000); // in cents
    if rng.below(2) == 0 {
        let _ = write!(out, r#"{{"type":"book","symbol":"{sym}","seq":{seq},"bids":["#);
        for i in 0..3 {
            let _ = write!(
                out,
                r#"{}["{}.{:02}","{}.{:04}"]"#,
                if i > 0 { "," } else { "" },
                (px - i * 7) / 100,
                (px - i * 7) % 100,
                rng.below(500),
                rng.below(10_000)
            );
        }
        out.push_str(r#"],"asks":["#);
        for i in 0..3 {
            let _ = write!(
                out,
                r#"{}["{}.{:02}","{}.{:04}"]"#,
                if i > 0 { "," } else { "" },
                (px + i * 7) / 100,
                (px + i * 7) % 100,
                rng.below(500),
                rng.below(10_000)
            );
        }
        out.push_str("]}");
    } else {
        let _ = write!(
            out,
            r#"{{"type":"fill","symbol":"{sym}","seq":{seq},"order_id":"ord-{:012}","side":"{}","price":"{}.{:02}","qty":"{}.{:04}","venue":"{}","ts":{}}}"#,
            rng.below(1_000_000_000_000),
            if rng.below(2) == 0 { "buy" } else { "sell" },
            px / 100,
            px % 100,
            rng.below(100),
            rng.below(10_000),
            rng.pick(VENUES),
            1_718_000_000_000_000u64 + seq * 911
        );
    }
}

/// `count` distinct JSON messages of about `size` bytes each (within a few percent): a batch of
/// chat and trading events, `{"channel":..,"events":[..]}`, generated from `seed`.
pub fn json_messages(size: usize, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut seq = 0;
    (0..count)
        .map(|_| {
            let mut s = String::with_capacity(size + 512);
            let chat = rng.below(2) == 0;
            s.push_str(if chat { r#"{"channel":"chat","events":["# } else { r#"{"channel":"market","events":["# });
            let mut first = true;
            loop {
                let mut ev = String::new();
                if chat {
                    chat_event(&mut rng, seq, &mut ev);
                } else {
                    trade_event(&mut rng, seq, &mut ev);
                }
                seq += 1;
                // Take the event that would overshoot only if that lands nearer to `size`.
                let with = s.len() + ev.len() + 3;
                let done = with >= size;
                if !first && done && with - size > size.saturating_sub(s.len() + 2) {
                    break;
                }
                if !first {
                    s.push(',');
                }
                s.push_str(&ev);
                first = false;
                if done {
                    break;
                }
            }
            s.push_str("]}");
            s.into_bytes()
        })
        .collect()
}

/// A chat room's traffic: `count` JSON events of 50 B to 2 KiB (sizes spread evenly on a log
/// scale): typing and presence notices at the small end, messages with longer and longer text
/// above them. What a chat or collaboration app sends to one browser tab.
pub fn chat_messages(count: usize, seed: u64) -> Vec<Vec<u8>> {
    use core::fmt::Write;
    let mut rng = Rng::new(seed);
    (0..count as u64)
        .map(|seq| {
            // log2 of the size, uniform in [log2 50, 11].
            let target = (50.0 * (2048.0f64 / 50.0).powf(rng.below(1000) as f64 / 999.0)) as usize;
            let mut s = String::with_capacity(target + 64);
            if target < 110 {
                let kind = if rng.below(2) == 0 { "typing" } else { "presence" };
                let _ = write!(s, r#"{{"type":"{kind}","user":"{}","room":"{}""#, rng.pick(USERS), rng.pick(ROOMS));
                while s.len() + 1 < target {
                    let _ = write!(s, r#","n":{}"#, rng.below(10));
                }
                s.push('}');
            } else {
                let _ = write!(
                    s,
                    r#"{{"type":"message","id":{},"room":"{}","user":"{}","ts":{},"text":""#,
                    1_000_000 + seq,
                    rng.pick(ROOMS),
                    rng.pick(USERS),
                    1_718_000_000_000 + seq * 1_377 + rng.below(1000)
                );
                while s.len() + 2 < target {
                    s.push_str(rng.pick(WORDS));
                    s.push(' ');
                }
                s.push_str(r#""}"#);
            }
            s.into_bytes()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_messages_are_json_sized_50_b_to_2_kib() {
        let msgs = chat_messages(500, 7);
        let (min, max) = (msgs.iter().map(Vec::len).min().unwrap(), msgs.iter().map(Vec::len).max().unwrap());
        assert!(min >= 45 && max <= 2100, "{min}..{max}");
        assert!(msgs.iter().all(|m| m.starts_with(b"{") && m.ends_with(b"}")));
        assert!(msgs.iter().filter(|m| m.len() < 110).count() > 50, "small events are common");
    }

    #[test]
    fn payloads_have_the_exact_length_and_are_text() {
        for len in [0, 1, 16, 127, 128, 1024, 65536] {
            assert_eq!(ascii_payload(len).len(), len);
            let u = utf8_payload(len);
            assert_eq!(u.len(), len);
            assert!(std::str::from_utf8(&u).is_ok());
        }
        assert!(utf8_payload(1024).iter().filter(|b| !b.is_ascii()).count() > 300);
    }

    #[test]
    fn frames_use_the_shortest_length_form_and_unmask_back() {
        for (len, header) in [(16, 6), (125, 6), (126, 8), (65535, 8), (65536, 14)] {
            let p = ascii_payload(len);
            let mut f = Vec::new();
            masked_text_frame(&p, &mut f);
            assert_eq!(f.len(), header + len);
            let unmasked: Vec<u8> = f[header..].iter().enumerate().map(|(i, b)| b ^ MASK_KEY[i & 3]).collect();
            assert_eq!(unmasked, p);
        }
    }

    #[test]
    fn json_messages_are_deterministic_valid_text_of_about_the_asked_size() {
        let a = json_messages(1024, 16, 7);
        assert_eq!(a, json_messages(1024, 16, 7));
        for m in a.iter().chain(json_messages(64 << 10, 2, 9).iter()) {
            let s = std::str::from_utf8(m).unwrap();
            assert!(s.starts_with('{') && s.ends_with("]}"));
        }
        for m in &a {
            assert!((850..=1200).contains(&m.len()), "{}", m.len());
        }
        for m in json_messages(64 << 10, 2, 9) {
            assert!(((60 << 10)..=(66 << 10)).contains(&m.len()), "{}", m.len());
        }
    }
}
