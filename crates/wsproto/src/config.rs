//! The one configuration of a connection.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

#[cfg(feature = "deflate")]
use crate::deflate::DeflateConfig;

/// Limits, timers and options for a connection, on both sides of it.
///
/// The defaults are secure: every buffer has a bound and every wait has a timeout. Build one with
/// the builder-style setters, each of which has the name of the field it sets:
///
/// ```
/// use core::time::Duration;
/// use wsproto::Config;
///
/// let config = Config::default()
///     .max_message_size(1 << 20)
///     .ping_interval(Some(Duration::from_secs(30)))
///     .allow_origin("https://chat.example.com");
/// assert_eq!(config.max_message_size, 1 << 20);
/// assert_eq!(config.max_frame_size, 16 << 20);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The largest message accepted, in bytes, counted after decompression. Default 16 MiB.
    ///
    /// A larger message fails the connection with 1009 as soon as its declared length (or its
    /// inflated output) passes the limit, before the memory is allocated.
    pub max_message_size: usize,
    /// The largest frame accepted, in bytes, checked against the declared length. Default 16 MiB.
    ///
    /// A compressed frame may be an eighth larger (plus 1 KiB): deflate expands incompressible data
    /// by up to that much, so a message just under the message limit still fits once compressed.
    pub max_frame_size: usize,
    /// How many bytes of output may wait to be written before sends fail with
    /// [`LocalError::WriteBufferFull`](crate::LocalError::WriteBufferFull). Default 128 KiB.
    ///
    /// A message is accepted whenever the buffer is below the limit, so one message larger than
    /// the limit can still be sent; the buffer then holds at most the limit plus that message.
    /// Automatic pongs never wait behind a full buffer: past the limit, only the latest is kept.
    pub write_buffer_limit: usize,
    /// The largest opening handshake (request or response head), in bytes. Default 16 KiB.
    pub max_handshake_size: usize,
    /// The longest line in the handshake head, in bytes. Default 8 KiB.
    pub max_handshake_line: usize,
    /// The most header fields in the handshake head. Default 128.
    pub max_handshake_headers: usize,
    /// How long the opening handshake may take. Default 10 s.
    pub handshake_timeout: Option<Duration>,
    /// How long to wait for the peer's close frame after sending ours, and (client) for the
    /// server to close the transport after the closing handshake. Default 10 s.
    pub close_timeout: Option<Duration>,
    /// Send a keepalive ping this often. Default off in the core; the adapters turn it on with
    /// [`Config::with_keepalive`].
    pub ping_interval: Option<Duration>,
    /// Fail the connection (1011) if, this long after a keepalive ping, the peer has shown no
    /// sign of life. Default 20 s.
    ///
    /// A sign of life is the pong, any other bytes from the peer (a busy peer's pong waits behind
    /// the data it is sending), or, while the ping itself waits behind our own output, the
    /// transport taking some of that output (a full transport only takes more as the peer
    /// reads). Each one gives the peer the whole timeout again, so a slow link that still moves
    /// is never cut, and a dead one is cut exactly this long after its last sign of life.
    pub ping_timeout: Option<Duration>,
    /// Close the connection (1001) when nothing has been received for this long. Default off.
    pub idle_timeout: Option<Duration>,
    /// Answer pings with pongs automatically. Default on.
    pub auto_pong: bool,
    /// Answer a close frame with a close frame automatically. Default on. When off, the
    /// application answers with [`Connection::close`](crate::Connection::close).
    pub auto_close: bool,
    /// Deliver data frames one by one as [`Event::Fragment`](crate::Event::Fragment) instead of
    /// whole messages, for large transfers. Default off.
    pub stream_fragments: bool,
    /// Server: the origins that may connect (RFC 6455 §10.2). Empty means any origin. A request
    /// whose `Origin` is not on a non-empty list gets 403. Compared case-insensitively.
    pub allowed_origins: Vec<String>,
    /// Server: with a non-empty allow-list, also refuse requests without an `Origin` header.
    /// Default off, since only browsers send `Origin`, and cross-site hijacking needs a browser.
    pub require_origin: bool,
    /// permessage-deflate (RFC 7692). Default off; `Some(DeflateConfig::default())` turns it on.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateConfig>,
}

/// The keepalive interval and timeout that the adapters use by default.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(20);

impl Default for Config {
    fn default() -> Config {
        Config {
            max_message_size: 16 << 20,
            max_frame_size: 16 << 20,
            write_buffer_limit: 128 << 10,
            max_handshake_size: 16 << 10,
            max_handshake_line: 8 << 10,
            max_handshake_headers: 128,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Some(Duration::from_secs(10)),
            ping_interval: None,
            ping_timeout: Some(DEFAULT_KEEPALIVE),
            idle_timeout: None,
            auto_pong: true,
            auto_close: true,
            stream_fragments: false,
            allowed_origins: Vec::new(),
            require_origin: false,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, value: $ty) -> Config {
                self.$name = value;
                self
            }
        )*
    };
}

impl Config {
    setters! {
        /// Sets [`Config::max_message_size`].
        max_message_size: usize;
        /// Sets [`Config::max_frame_size`].
        max_frame_size: usize;
        /// Sets [`Config::write_buffer_limit`].
        write_buffer_limit: usize;
        /// Sets [`Config::max_handshake_size`].
        max_handshake_size: usize;
        /// Sets [`Config::max_handshake_line`].
        max_handshake_line: usize;
        /// Sets [`Config::max_handshake_headers`].
        max_handshake_headers: usize;
        /// Sets [`Config::handshake_timeout`].
        handshake_timeout: Option<Duration>;
        /// Sets [`Config::close_timeout`].
        close_timeout: Option<Duration>;
        /// Sets [`Config::ping_interval`].
        ping_interval: Option<Duration>;
        /// Sets [`Config::ping_timeout`].
        ping_timeout: Option<Duration>;
        /// Sets [`Config::idle_timeout`].
        idle_timeout: Option<Duration>;
        /// Sets [`Config::auto_pong`].
        auto_pong: bool;
        /// Sets [`Config::auto_close`].
        auto_close: bool;
        /// Sets [`Config::stream_fragments`].
        stream_fragments: bool;
        /// Sets [`Config::require_origin`].
        require_origin: bool;
    }

    /// Adds `origin` to [`Config::allowed_origins`].
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Config {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Turns on keepalive with the adapters' defaults: a ping every 20 s, answered within 20 s.
    #[must_use]
    pub fn with_keepalive(mut self) -> Config {
        self.ping_interval = Some(DEFAULT_KEEPALIVE);
        self.ping_timeout = Some(DEFAULT_KEEPALIVE);
        self
    }

    /// Sets [`Config::deflate`]: `Some(DeflateConfig::default())` negotiates permessage-deflate.
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Config {
        self.deflate = deflate;
        self
    }

    /// Turns on permessage-deflate with its default parameters: the single line that enables it.
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn with_deflate(self) -> Config {
        self.deflate(Some(DeflateConfig::default()))
    }
}
