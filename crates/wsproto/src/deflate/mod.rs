//! permessage-deflate (RFC 7692), built on the [`Extension`] seam.
//!
//! Turn it on with one line, [`Config::with_deflate`](crate::Config::with_deflate); the
//! handshake then negotiates it and the connection compresses and inflates without further help.
//!
//! - **Bounded inflation.** Output is produced in steps into a buffer that may not grow past the
//!   message size limit, so a 1 KiB message that would inflate to 1 GiB fails with 1009 after
//!   allocating at most the limit. Text is validated as it inflates and fails fast with 1007.
//! - **Negotiation.** All four parameters, with strict parsing: an offer with a duplicate, unknown
//!   or out-of-range parameter is declined (server) or fails the handshake (client).
//! - **Windows.** A negotiated window below 32 KiB is honoured natively by `zlib-rs`. `miniz_oxide`
//!   always compresses with 32 KiB, so with it (and for the 256-byte window zlib cannot produce)
//!   the compressor starts every message afresh and compresses only messages no longer than the
//!   window: no back-reference can then reach further than the window. Longer messages are sent
//!   uncompressed, which RFC 7692 allows per message.
//!
//! # Memory per connection
//!
//! State is created on first use in each direction, and freed again once the connection has been
//! quiet for [`DeflateConfig::hibernate_after`]: what later messages may refer back to (at most a
//! window each way, only as much as was sent) is kept, and the next message rebuilds the rest
//! from it. See `docs/performance.md` for measured figures per backend and window, and what a
//! wake-up costs; [`DeflateConfig::memory_level`], smaller windows and `no_context_takeover` cap
//! the state while it exists.
//!
//! With `miniz_oxide` (the `no_std` backend) hibernation works the same way; as it has no call to
//! preset a window, a wake-up compresses the kept window once (throwing the output away) or
//! inflates it from stored blocks, which costs more than `zlib-rs`'s `set_dictionary`.

mod backend;
mod history;
mod params;

pub use backend::Backend;
pub use params::NAME;

use crate::error::HandshakeError;
use crate::extension::{DecodeError, Extension};
use crate::frame::RSV1;
use crate::handshake::ExtensionOffer;
use alloc::boxed::Box;
use alloc::string::String;
use backend::{Compress, Decompress};
use bytes::BytesMut;
use core::fmt;
use core::time::Duration;
use history::History;
use params::Agreement;

/// permessage-deflate settings, for either side.
///
/// The four RFC 7692 parameters say what this side asks for (a client's offer) or imposes (a
/// server's response). The rest tune this side's own compressor.
///
/// ```
/// use wsproto::Config;
/// use wsproto::deflate::DeflateConfig;
///
/// // The one line that turns compression on:
/// let config = Config::default().with_deflate();
/// // A server that caps memory: no context takeover in either direction, 4 KiB windows.
/// let lean = DeflateConfig::default()
///     .server_no_context_takeover(true)
///     .client_no_context_takeover(true)
///     .server_max_window_bits(12)
///     .client_max_window_bits(12);
/// let config = Config::default().deflate(Some(lean));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Compression level, 0 (store) to 9 (smallest). Default 3: on chat-sized JSON (50 B to
    /// 2 KiB) zlib-rs then compresses to 0.27 of the size, smaller than Python `websockets` with
    /// its defaults (0.28), at three times the CPU of level 1, which compresses to 0.35
    /// (`docs/performance.md`). Level 1 suits bulk data where speed matters more than bytes.
    pub level: u8,
    /// Messages shorter than this many bytes are sent uncompressed. Default 32.
    pub min_compress_size: usize,
    /// The server resets its compressor after every message. A client asks for it; a server
    /// imposes it on itself. Default off.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message. A client promises it; a server
    /// imposes it on the client. Default off.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, as a power of two, 8–15. Default 15.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, as a power of two, 8–15. Default 15.
    pub client_max_window_bits: u8,
    /// zlib's memory level for this side's compressor, 1–9 (`zlib-rs` only). Default 8. It sizes
    /// the buffer of symbols gathered before a block is written, not the hash table (fixed in
    /// zlib-rs): at 15 window bits the compressor holds 266 KB at level 1, 380 KB at 8 and 495 KB
    /// at 9 while it exists; lower levels write smaller blocks and compress slightly worse.
    pub memory_level: u8,
    /// Which library does the work.
    pub backend: Backend,
    /// How long a connection may be quiet before it frees its compression state, keeping only
    /// each direction's window of recent bytes (as much as was actually sent, at most 2^window_bits
    /// bytes). The next message rebuilds the state from that window. `None`: never;
    /// `Some(Duration::ZERO)`: after every message. Default 1 s; see `docs/performance.md` for
    /// what it saves and what a wake-up costs. It needs the connection to be told the time
    /// ([`Connection::handle_timeout`](crate::Connection::handle_timeout)), as the adapters do.
    pub hibernate_after: Option<Duration>,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            level: 3,
            min_compress_size: 32,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            memory_level: 8,
            backend: Backend::default(),
            hibernate_after: Some(Duration::from_secs(1)),
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, value: $ty) -> DeflateConfig {
                self.$name = value;
                self
            }
        )*
    };
}

impl DeflateConfig {
    setters! {
        /// Sets [`DeflateConfig::level`] (clamped to 9 when used).
        level: u8;
        /// Sets [`DeflateConfig::min_compress_size`].
        min_compress_size: usize;
        /// Sets [`DeflateConfig::server_no_context_takeover`].
        server_no_context_takeover: bool;
        /// Sets [`DeflateConfig::client_no_context_takeover`].
        client_no_context_takeover: bool;
        /// Sets [`DeflateConfig::memory_level`].
        memory_level: u8;
        /// Sets [`DeflateConfig::backend`].
        backend: Backend;
        /// Sets [`DeflateConfig::hibernate_after`].
        hibernate_after: Option<Duration>;
    }

    /// Sets [`DeflateConfig::server_max_window_bits`], clamped to 8–15.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.server_max_window_bits = bits.clamp(8, 15);
        self
    }

    /// Sets [`DeflateConfig::client_max_window_bits`], clamped to 8–15.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.client_max_window_bits = bits.clamp(8, 15);
        self
    }
}

/// The client's `Sec-WebSocket-Extensions` offer for `config`.
pub fn client_offer(config: &DeflateConfig) -> String {
    params::format_params(&params::client_offer(config))
}

/// Client: checks the extensions in a 101 response and builds the extension they agree to.
///
/// `config` is what the client offered (`None`: it offered nothing, so any extension in the
/// response is an error).
pub fn negotiate_client(config: Option<&DeflateConfig>, response: &[ExtensionOffer]) -> Result<Option<DeflateExtension>, HandshakeError> {
    let mut chosen = None;
    for ext in response {
        let offered = config.filter(|_| ext.name.eq_ignore_ascii_case(NAME) && chosen.is_none());
        let Some(cfg) = offered else {
            return Err(HandshakeError::UnexpectedExtension(alloc::string::ToString::to_string(ext)));
        };
        chosen = Some(DeflateExtension::new(cfg, params::client_accept(cfg, ext)?));
    }
    Ok(chosen)
}

/// Server: picks the first offer it can honour. Returns the `Sec-WebSocket-Extensions` response
/// value and the extension, or `None` when every offer is declined.
///
/// The core calls this during [`Connection::accept`](crate::Connection::accept); it is public for
/// servers whose handshake another HTTP stack performs, together with
/// [`Connection::upgraded_server`](crate::Connection::upgraded_server).
pub fn negotiate_server(config: &DeflateConfig, offers: &[ExtensionOffer]) -> Option<(String, DeflateExtension)> {
    let (response, agreement) = params::server_accept(config, offers)?;
    Some((params::format_params(&response), DeflateExtension::new(config, agreement)))
}

/// The negotiated permessage-deflate extension of one connection.
pub struct DeflateExtension {
    agreement: Agreement,
    level: u8,
    min_size: usize,
    memory_level: u8,
    backend: Backend,
    /// Messages longer than this are sent uncompressed, and the compressor starts afresh for
    /// every message, because the backend cannot honour the negotiated window natively.
    fit_limit: Option<usize>,
    hibernate_after: Option<Duration>,
    /// Created on the first compressed message, freed when the connection hibernates.
    compressor: Option<Box<dyn Compress>>,
    decompressor: Option<Box<dyn Decompress>>,
    /// What the compressor's window holds (only with context takeover): what a new compressor
    /// needs to carry on where the freed one stopped.
    sent: History,
    /// What the decompressor's window holds (only when the peer keeps its context).
    received: History,
    /// A fragmented message is half sent or half received: that direction cannot hibernate.
    encoding: bool,
    decoding: bool,
    /// The incoming message's deflate stream ended with a final block.
    stream_ended: bool,
}

impl fmt::Debug for DeflateExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeflateExtension")
            .field("local_no_context_takeover", &self.agreement.local_no_context_takeover)
            .field("remote_no_context_takeover", &self.agreement.remote_no_context_takeover)
            .field("local_window_bits", &self.agreement.local_window_bits)
            .field("remote_window_bits", &self.agreement.remote_window_bits)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl DeflateExtension {
    fn new(cfg: &DeflateConfig, agreement: Agreement) -> DeflateExtension {
        let native = backend::native_window_bits(cfg.backend, agreement.local_window_bits);
        let fit_limit = (native > agreement.local_window_bits).then(|| 1usize << agreement.local_window_bits);
        DeflateExtension {
            agreement,
            level: cfg.level.min(9),
            min_size: cfg.min_compress_size,
            memory_level: cfg.memory_level,
            backend: cfg.backend,
            fit_limit,
            hibernate_after: cfg.hibernate_after,
            compressor: None,
            decompressor: None,
            sent: History::new(1 << agreement.local_window_bits),
            received: History::new(1 << agreement.remote_window_bits),
            encoding: false,
            decoding: false,
            stream_ended: false,
        }
    }

    /// Whether this side resets its compressor after every message.
    pub fn local_no_context_takeover(&self) -> bool {
        self.agreement.local_no_context_takeover || self.fit_limit.is_some()
    }

    /// The window this side compresses with, in bits.
    pub fn local_window_bits(&self) -> u8 {
        self.agreement.local_window_bits
    }

    /// The window the peer compresses with, in bits.
    pub fn remote_window_bits(&self) -> u8 {
        self.agreement.remote_window_bits
    }

    /// Bytes held for compression while idle: the two windows. The working state of the
    /// backends, while it exists, comes on top.
    pub fn idle_bytes(&self) -> usize {
        self.sent.allocated() + self.received.allocated()
    }

    /// Whether the compression state is freed (or was never needed) in both directions.
    pub fn is_hibernating(&self) -> bool {
        self.compressor.is_none() && self.decompressor.is_none()
    }

    /// The decompressor, created (and loaded with the window it had) if it was freed.
    fn decompressor(&mut self) -> Result<&mut dyn Decompress, DecodeError> {
        if self.decompressor.is_none() {
            let mut d = backend::decompressor(self.backend, self.agreement.remote_window_bits);
            if !self.received.is_empty() {
                d.set_dictionary(self.received.contiguous())?;
            }
            self.decompressor = Some(d);
        }
        Ok(&mut **self.decompressor.as_mut().expect("just created"))
    }

    /// The compressor, created (and loaded with the window it had) if it was freed.
    fn compressor(&mut self) -> Result<&mut dyn Compress, &'static str> {
        if self.compressor.is_none() {
            let bits = backend::native_window_bits(self.backend, self.agreement.local_window_bits);
            let mut c = backend::compressor(self.backend, self.level, bits, self.memory_level);
            if !self.sent.is_empty() {
                c.set_dictionary(self.sent.contiguous())?;
            }
            self.compressor = Some(c);
        }
        Ok(&mut **self.compressor.as_mut().expect("just created"))
    }

    /// Inflates `input` and records what came out in the window copy.
    fn inflate(&mut self, input: &[u8], out: &mut BytesMut, limit: usize) -> Result<(), DecodeError> {
        let before = out.len();
        let ended = self.decompressor()?.decompress(input, out, limit)?;
        self.stream_ended = ended;
        if !self.agreement.remote_no_context_takeover {
            self.received.push(&out[before..]);
        }
        Ok(())
    }
}

/// The empty stored block that a sync flush ends with, which RFC 7692 §7.2.1 removes from each
/// message and §7.2.2 puts back before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl Extension for DeflateExtension {
    fn rsv_bits(&self) -> u8 {
        RSV1
    }

    fn decode(&mut self, input: &[u8], out: &mut BytesMut, limit: usize) -> Result<(), DecodeError> {
        self.decoding = true;
        if self.stream_ended {
            // RFC 7692 §7.2.3.4: a message flushed with a final block carries one more byte (the
            // start of an empty stored block) so that the appended tail completes it. Once the
            // stream has ended, the rest of the message has nothing left to say; ignore it, as
            // zlib does, however the bytes were split.
            return Ok(());
        }
        self.inflate(input, out, limit)
    }

    fn finish_decode(&mut self, out: &mut BytesMut, limit: usize) -> Result<(), DecodeError> {
        if !self.stream_ended {
            self.inflate(&TAIL, out, limit)?;
        }
        if self.stream_ended {
            // A final block ends the stream; the next message starts a new one.
            if let Some(d) = self.decompressor.as_mut() {
                d.reset();
            }
            self.received.clear();
            self.stream_ended = false;
        }
        self.decoding = false;
        Ok(())
    }

    fn discard_encode(&mut self) -> bool {
        // The compressor's window now holds a message the peer will never inflate: start afresh,
        // so that no later message refers to it. Without context takeover, `encode` already did.
        if !self.local_no_context_takeover() {
            if let Some(c) = self.compressor.as_mut() {
                c.reset();
            }
            self.sent.clear();
        }
        true
    }

    fn begin_encode(&mut self, len: Option<usize>) -> u8 {
        let compress = match (len, self.fit_limit) {
            (Some(n), _) if n < self.min_size => false,
            (Some(n), Some(fit)) => n <= fit,
            (None, Some(_)) => false,
            _ => true,
        };
        if compress { RSV1 } else { 0 }
    }

    fn encode(&mut self, input: &[u8], last: bool, out: &mut BytesMut) -> Result<(), &'static str> {
        let takeover = !self.local_no_context_takeover();
        let compressor = self.compressor()?;
        let start = out.len();
        compressor.compress_sync(input, out)?;
        if takeover {
            self.sent.push(input);
        }
        self.encoding = !last;
        if last {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else if out.len() == start {
                // zlib writes nothing for a sync flush with nothing new to flush (an empty last
                // fragment, an empty message right after another). The last frame still has to
                // end the message: an empty stored block with its tail removed is the single byte
                // 0x00 (RFC 7692 §7.2.3.6), which the receiver completes with the tail.
                out.extend_from_slice(&[0x00]);
            }
            if !takeover {
                if let Some(c) = self.compressor.as_mut() {
                    c.reset();
                }
            }
        }
        Ok(())
    }

    fn hibernate_after(&self) -> Option<Duration> {
        self.hibernate_after
    }

    fn hibernate(&mut self) {
        // Between messages a backend holds nothing but its window (each message ends with a
        // sync flush, or the stream was reset), and the window is in `sent`/`received`.
        if !self.encoding {
            self.compressor = None;
            self.sent.compact();
        }
        if !self.decoding {
            self.decompressor = None;
            self.received.compact();
        }
    }
}

#[cfg(test)]
mod hibernation_tests;
