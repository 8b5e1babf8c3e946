//! `connect`: from a URL to an open WebSocket, the same way on every runtime.
//!
//! An adapter supplies only what differs by runtime, through [`Connector`]: its TCP connect, its
//! TLS handshake and its transport type. The steps, their deadline and their error messages are
//! here, once.

use crate::error::{Error, Result};
use crate::handshake;
use crate::proxy::{self, Proxy, ProxyError, ProxyKind, ProxySetting, Target};
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

    /// Runs the TLS handshake with an `https://` proxy over the plain `stream` to it, with the
    /// proxy's `name`, by `deadline`. The tunnel then runs inside this TLS, and
    /// [`tls`](Connector::tls), given the stream this returns, runs the server's TLS inside it.
    ///
    /// The default refuses, as for [`tls`](Connector::tls).
    #[cfg(feature = "rustls")]
    fn proxy_tls(
        stream: Self::Stream,
        name: rustls::pki_types::ServerName<'static>,
        tls: &crate::tls::TlsConnector,
        deadline: Option<Instant>,
    ) -> impl Future<Output = io::Result<Self::Stream>> {
        let _ = (stream, name, tls, deadline);
        std::future::ready(Err(io::Error::new(io::ErrorKind::Unsupported, "https:// proxies need the adapter's `rustls` feature")))
    }
}

/// How `connect` reaches the server: the proxy (from the environment by default) and, with the
/// `rustls` feature, the TLS settings for `wss://`.
///
/// ```
/// use wsproto_io::ConnectOptions;
/// use wsproto_io::proxy::{Proxy, ProxySetting};
///
/// let through = ConnectOptions::new().proxy(ProxySetting::Proxy(Proxy::parse("socks5h://127.0.0.1:1080").unwrap()));
/// let direct = ConnectOptions::new().proxy(ProxySetting::Direct);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    proxy: ProxySetting,
    #[cfg(feature = "rustls")]
    tls: Option<crate::tls::TlsConnector>,
    #[cfg(feature = "rustls")]
    proxy_tls: Option<crate::tls::TlsConnector>,
}

impl ConnectOptions {
    /// The defaults: the proxy from the environment, and the webpki roots for `wss://`.
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// Which proxy to go through: from the environment (the default), none, or this one.
    #[must_use]
    pub fn proxy(mut self, proxy: ProxySetting) -> ConnectOptions {
        self.proxy = proxy;
        self
    }

    /// The TLS settings for `wss://` (the server's TLS, through the tunnel if there is one).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls(mut self, tls: crate::tls::TlsConnector) -> ConnectOptions {
        self.tls = Some(tls);
        self
    }

    /// The TLS settings for an `https://` proxy (by default the webpki roots, as curl's
    /// `--proxy-cacert` is apart from `--cacert`: a company's proxy and the servers behind it
    /// rarely share a CA).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn proxy_tls(mut self, tls: crate::tls::TlsConnector) -> ConnectOptions {
        self.proxy_tls = Some(tls);
        self
    }
}

/// Connects to the URL in `request` and performs the opening handshake: TCP (through the proxy
/// the environment names, if any), TLS for `wss://` (the webpki roots), then the upgrade.
/// `config.handshake_timeout` bounds the TCP, proxy and TLS steps together, and then the upgrade.
///
/// Errors name what was tried: the address, the proxy (never its password), and for TLS the
/// server.
pub async fn connect<C: Connector>(request: &ClientRequest, config: Config) -> Result<(WebSocketStream<C::Io, C>, http::Response<()>)> {
    connect_with_options::<C>(request, config, &ConnectOptions::default()).await
}

/// [`connect`] with the TLS settings to use for `wss://` (`None`: the webpki roots).
#[cfg(feature = "rustls")]
pub async fn connect_with_tls<C: Connector>(
    request: &ClientRequest,
    config: Config,
    tls: Option<&crate::tls::TlsConnector>,
) -> Result<(WebSocketStream<C::Io, C>, http::Response<()>)> {
    let options = ConnectOptions { tls: tls.cloned(), ..ConnectOptions::default() };
    connect_with_options::<C>(request, config, &options).await
}

/// [`connect`] with a proxy setting and TLS settings.
pub async fn connect_with_options<C: Connector>(
    request: &ClientRequest,
    config: Config,
    options: &ConnectOptions,
) -> Result<(WebSocketStream<C::Io, C>, http::Response<()>)> {
    let deadline = config.handshake_timeout.map(|t| C::now().saturating_add(t));
    let proxy = proxy::choose(&options.proxy, request.host(), request.is_secure())?;
    let stream = within_handshake_timeout::<C, _, Error>(config.handshake_timeout, async {
        let tcp = match &proxy {
            None => open_tcp::<C>(request.host(), request.port(), &address(request), deadline).await?,
            Some(p) => through_proxy::<C>(p, request, options, deadline).await?,
        };
        if !request.is_secure() {
            return Ok(tcp);
        }
        #[cfg(feature = "rustls")]
        {
            let tls = options.tls.clone().unwrap_or_else(crate::tls::TlsConnector::webpki_roots);
            let name = crate::tls::server_name(request.host())?;
            C::tls(tcp, name, &tls, deadline).await.map_err(|e| crate::tls::handshake_error(&address(request), e))
        }
        #[cfg(not(feature = "rustls"))]
        {
            Err(Error::Tls("wss:// needs the adapter's `rustls` feature".into()))
        }
    })
    .await?;
    handshake::client(C::io(stream), request, config).await
}

/// Opens TCP to the proxy and a tunnel through it to the request's host.
async fn through_proxy<C: Connector>(
    p: &Proxy,
    request: &ClientRequest,
    options: &ConnectOptions,
    deadline: Option<Instant>,
) -> Result<C::Stream> {
    let mut tcp = open_tcp::<C>(p.host(), p.port(), &p.address(), deadline).await.map_err(|e| match e {
        Error::Io(source) => Error::Proxy(ProxyError::Unreachable { proxy: p.to_string(), source }),
        other => other,
    })?;
    if p.kind() == ProxyKind::Https {
        tcp = tls_to_proxy::<C>(tcp, p, options, deadline).await?;
    }
    let target = if p.kind() == ProxyKind::Socks5 {
        // Plain socks5:// is given an address: resolved here, as curl does.
        let addrs = resolve::<C>(request.host(), request.port()).await?;
        let first = *addrs.first().ok_or_else(|| Error::Io(io::Error::new(io::ErrorKind::NotFound, "the host has no addresses")))?;
        Target::Addr(first)
    } else {
        Target::Name(request.host(), request.port())
    };
    let mut io = C::io(tcp);
    io.set_read_deadline(deadline);
    proxy::tunnel(&mut io, p, target).await?;
    Ok(io.into_inner())
}

/// TLS with an `https://` proxy, checked against the proxy's host name.
#[cfg(feature = "rustls")]
async fn tls_to_proxy<C: Connector>(tcp: C::Stream, p: &Proxy, options: &ConnectOptions, deadline: Option<Instant>) -> Result<C::Stream> {
    let tls = options.proxy_tls.clone().unwrap_or_else(crate::tls::TlsConnector::webpki_roots);
    let name = crate::tls::server_name(p.host())?;
    C::proxy_tls(tcp, name, &tls, deadline).await.map_err(|source| Error::Proxy(ProxyError::Tls { proxy: p.to_string(), source }))
}

#[cfg(not(feature = "rustls"))]
async fn tls_to_proxy<C: Connector>(_: C::Stream, p: &Proxy, _: &ConnectOptions, _: Option<Instant>) -> Result<C::Stream> {
    Err(Error::Tls(format!("the proxy {p} is https://, which needs the adapter's `rustls` feature")))
}

/// The address a request connects to, as people write it: `host:port`, `[v6]:port`.
pub fn address(request: &ClientRequest) -> String {
    if request.host().contains(':') {
        format!("[{}]:{}", request.host(), request.port())
    } else {
        format!("{}:{}", request.host(), request.port())
    }
}

/// Resolves `host`, with an error that names it.
async fn resolve<C: Connector>(host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    C::resolve(host, port)
        .await
        .map_err(|e| Error::Io(io::Error::new(e.kind(), format!("cannot resolve {host}: {e}; check the host name"))))
}

/// Opens TCP to `host`, trying each address it resolves to in turn. A failure names the host
/// (`display`: `host:port`), the addresses tried and the likely cause. `deadline` as for
/// [`Connector::tcp`].
pub async fn open_tcp<C: Connector>(host: &str, port: u16, display: &str, deadline: Option<Instant>) -> Result<C::Stream> {
    let addrs = resolve::<C>(host, port).await?;
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
        [one] if one.to_string() == display => String::new(),
        all => format!(" (tried {})", all.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(", ")),
    };
    Err(Error::Io(io::Error::new(last.kind(), format!("cannot connect to {display}{tried}: {last}{hint}"))))
}
