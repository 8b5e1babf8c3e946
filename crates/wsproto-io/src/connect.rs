//! `connect`: from a URL to an open WebSocket, the same way on every runtime.
//!
//! An adapter supplies only what differs by runtime, through [`Connector`]: its TCP connect, its
//! TLS handshake and its transport type. The steps, their deadline and their error messages are
//! here, once.

use crate::error::{Error, Result};
use crate::handshake;
use crate::setup::within_handshake_timeout;
use crate::stream::WebSocketStream;
use crate::transport::{Runtime, Transport};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use wsproto::{ClientRequest, Config, Instant};

/// What an adapter's runtime supplies for [`connect`].
pub trait Connector: Runtime + Sized {
    /// The stream that `connect` returns: TCP, or TLS over TCP for `wss://`.
    type Stream;
    /// The driver's transport over [`Connector::Stream`].
    type Io: Transport<Inner = Self::Stream>;

    /// Wraps a stream for the driver.
    fn io(stream: Self::Stream) -> Self::Io;

    /// Resolves `host` to the addresses to try, in order.
    fn resolve(host: &str, port: u16) -> impl Future<Output = io::Result<Vec<SocketAddr>>>;

    /// Opens TCP to `addr`, with Nagle's algorithm off (frames are written whole; it would only
    /// add latency).
    ///
    /// `deadline` is when the handshake times out. An async runtime can ignore it (`connect`
    /// races the step against a timer); a blocking one cannot be interrupted and must use it.
    fn tcp(addr: SocketAddr, deadline: Option<Instant>) -> impl Future<Output = io::Result<Self::Stream>>;

    /// Runs the TLS handshake over the plain `stream` with the server `name`, by `deadline` (as
    /// for [`tcp`](Connector::tcp)).
    ///
    /// The default refuses: an adapter built without its own `rustls` feature can still be
    /// compiled in a program where another crate turned on this crate's (features are unified).
    #[cfg(feature = "rustls")]
    fn tls(
        stream: Self::Stream,
        name: rustls::pki_types::ServerName<'static>,
        tls: &crate::tls::TlsConnector,
        deadline: Option<Instant>,
    ) -> impl Future<Output = io::Result<Self::Stream>> {
        let _ = (stream, name, tls, deadline);
        std::future::ready(Err(io::Error::new(io::ErrorKind::Unsupported, "wss:// needs the adapter's `rustls` feature")))
    }
}

/// The TLS settings `connect` may be given: a `TlsConnector` with the `rustls` feature.
#[cfg(feature = "rustls")]
type TlsChoice<'a> = Option<&'a crate::tls::TlsConnector>;
#[cfg(not(feature = "rustls"))]
type TlsChoice<'a> = Option<&'a std::convert::Infallible>;

/// Connects to the URL in `request` and performs the opening handshake: TCP, TLS for `wss://`
/// (with `tls`, or the webpki roots), then the upgrade. `config.handshake_timeout` bounds the
/// TCP and TLS steps together, and then the upgrade.
///
/// Errors name what was tried: the address, and for TLS the server.
pub async fn connect<C: Connector>(request: &ClientRequest, config: Config) -> Result<(WebSocketStream<C::Io, C>, http::Response<()>)> {
    connect_impl::<C>(request, config, None).await
}

/// [`connect`] with the TLS settings to use for `wss://` (`None`: the webpki roots).
#[cfg(feature = "rustls")]
pub async fn connect_with_tls<C: Connector>(
    request: &ClientRequest,
    config: Config,
    tls: Option<&crate::tls::TlsConnector>,
) -> Result<(WebSocketStream<C::Io, C>, http::Response<()>)> {
    connect_impl::<C>(request, config, tls).await
}

async fn connect_impl<C: Connector>(
    request: &ClientRequest,
    config: Config,
    tls: TlsChoice<'_>,
) -> Result<(WebSocketStream<C::Io, C>, http::Response<()>)> {
    let deadline = config.handshake_timeout.map(|t| C::now().saturating_add(t));
    let stream = within_handshake_timeout::<C, _, Error>(config.handshake_timeout, async {
        let tcp = open_tcp::<C>(request, deadline).await?;
        if !request.is_secure() {
            return Ok(tcp);
        }
        #[cfg(feature = "rustls")]
        {
            let default;
            let tls = match tls {
                Some(t) => t,
                None => {
                    default = crate::tls::TlsConnector::webpki_roots();
                    &default
                }
            };
            let name = crate::tls::server_name(request.host())?;
            C::tls(tcp, name, tls, deadline).await.map_err(|e| crate::tls::handshake_error(&address(request), e))
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = tls;
            Err(Error::Tls("wss:// needs the adapter's `rustls` feature".into()))
        }
    })
    .await?;
    handshake::client(C::io(stream), request, config).await
}

/// The address a request connects to, as people write it: `host:port`, `[v6]:port`.
pub(crate) fn address(request: &ClientRequest) -> String {
    if request.host().contains(':') {
        format!("[{}]:{}", request.host(), request.port())
    } else {
        format!("{}:{}", request.host(), request.port())
    }
}

/// Opens TCP to the request's host, trying each address it resolves to in turn. A failure
/// names the host, the addresses tried and the likely cause.
async fn open_tcp<C: Connector>(request: &ClientRequest, deadline: Option<Instant>) -> Result<C::Stream> {
    let addrs = C::resolve(request.host(), request.port())
        .await
        .map_err(|e| Error::Io(io::Error::new(e.kind(), format!("cannot resolve {}: {e}; check the host name", request.host()))))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no addresses");
    for &addr in &addrs {
        match C::tcp(addr, deadline).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    let hint = match last.kind() {
        io::ErrorKind::ConnectionRefused => "; is a server listening there?",
        _ => "",
    };
    let tried = match addrs.as_slice() {
        [one] if one.to_string() == address(request) => String::new(),
        all => format!(" (tried {})", all.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(", ")),
    };
    Err(Error::Io(io::Error::new(last.kind(), format!("cannot connect to {}{tried}: {last}{hint}", address(request)))))
}
