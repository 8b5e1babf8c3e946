//! Proxies for `connect`: HTTP `CONNECT` and SOCKS5, chosen explicitly or from the environment
//! the way curl and Python read it.
//!
//! The tunnel is opened over the runtime's TCP stream through the driver's [`Transport`], so the
//! tokio, smol and blocking adapters share this code: after the tunnel, `connect` goes on exactly
//! as over a direct connection (TLS for `wss://`, then the upgrade).
//!
//! SOCKS5 is written here rather than taken from a crate: the maintained SOCKS crates each serve
//! one I/O model (tokio, or blocking std), and the client side of RFC 1928 and RFC 1929 that
//! `connect` needs is three short exchanges.

use crate::error::{Error, Result};
use crate::transport::Transport;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::IpAddr;

/// Where `connect` opens its connection through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySetting {
    /// From the environment, as curl and Python `websockets` read it (the default):
    /// `https_proxy`/`HTTPS_PROXY` for `wss://`, `http_proxy` for `ws://`, else
    /// `all_proxy`/`ALL_PROXY`; `no_proxy`/`NO_PROXY` lists the hosts to reach directly.
    #[default]
    FromEnv,
    /// Directly, whatever the environment says.
    Direct,
    /// Through this proxy, whatever the environment says.
    Proxy(Proxy),
}

/// A proxy: `http://[user:password@]host[:port]` (HTTP `CONNECT`; port 80 by default, 443 for
/// `https://`, 1080 for SOCKS), `https://` (HTTP `CONNECT` inside TLS with the proxy), `socks5://` (the proxy is given the address that `connect` resolved) or `socks5h://`
/// (the proxy resolves the host name). Credentials in the URL are used for HTTP Basic or SOCKS5
/// username/password authentication; `Display` and `Debug` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

/// The protocol spoken to the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// HTTP `CONNECT` (RFC 9110 §9.3.6).
    Http,
    /// HTTP `CONNECT` inside TLS with the proxy (an `https://` proxy URL). The proxy's
    /// certificate is checked against its host name; a `wss://` server's TLS then runs inside.
    Https,
    /// SOCKS5 (RFC 1928), the address resolved by the client.
    Socks5,
    /// SOCKS5, the host name resolved by the proxy.
    Socks5h,
}

impl Proxy {
    /// Parses a proxy URL. A URL without a scheme is taken as `http://`, as curl does.
    ///
    /// ```
    /// use wsproto_io::proxy::{Proxy, ProxyKind};
    ///
    /// let p = Proxy::parse("socks5h://alice:s3cret@proxy.example:1080").unwrap();
    /// assert_eq!((p.kind(), p.host(), p.port()), (ProxyKind::Socks5h, "proxy.example", 1080));
    /// assert_eq!(p.to_string(), "socks5h://alice@proxy.example:1080");
    /// assert_eq!(Proxy::parse("proxy.example").unwrap().port(), 80);
    /// assert!(Proxy::parse("ftp://proxy.example").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Proxy> {
        let bad = |why: &str| Error::Proxy(ProxyError::InvalidUrl(format!("proxy {:?}: {why}", redact(url))));
        let (scheme, rest) = match url.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("http".to_owned(), url),
        };
        let kind = match scheme.as_str() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            _ => return Err(bad("the scheme must be http, https, socks5 or socks5h")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = userinfo.map(|u| {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            (percent_decode(user), percent_decode(password))
        });
        let default_port = match kind {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            ProxyKind::Socks5 | ProxyKind::Socks5h => 1080,
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("an unclosed [ in the host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("junk after the host")),
            };
            (host.to_owned(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("the port is not a number"))?),
                None => (hostport.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Proxy { kind, host, port, credentials })
    }

    /// The protocol spoken to the proxy.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name, if the URL has credentials.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(u, _)| u.as_str())
    }

    pub(crate) fn address(&self) -> String {
        if self.host.contains(':') { format!("[{}]:{}", self.host, self.port) } else { format!("{}:{}", self.host, self.port) }
    }
}

impl fmt::Display for Proxy {
    /// The URL without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        match self.username() {
            Some(user) => write!(f, "{scheme}://{user}@{}", self.address()),
            None => write!(f, "{scheme}://{}", self.address()),
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

/// A URL with any password left out, for error messages.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{path}")
        }
        None => format!("{scheme}://{rest}"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a proxy did not give a tunnel. Each names the proxy (never its password).
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL (given, or from the environment) cannot be used; the message says why.
    InvalidUrl(String),
    /// The proxy could not be reached.
    Unreachable {
        /// The proxy, without its password.
        proxy: String,
        /// What connecting to it gave.
        source: io::Error,
    },
    /// The HTTP proxy wants credentials, or refused the ones given: a 407 (or the 401 that some
    /// proxies, tinyproxy among them, answer to wrong credentials).
    AuthenticationRequired {
        /// The proxy, without its password.
        proxy: String,
        /// The status it answered.
        status: u16,
    },
    /// The SOCKS5 proxy refused the username and password, or accepts no method we offer.
    AuthenticationRejected {
        /// The proxy, without its password.
        proxy: String,
    },
    /// The proxy refused to open the tunnel: its HTTP status, or its SOCKS5 reply.
    Refused {
        /// The proxy, without its password.
        proxy: String,
        /// What it answered.
        reason: String,
    },
    /// The TLS handshake with an `https://` proxy failed (its certificate is not trusted, say,
    /// or it does not speak TLS).
    Tls {
        /// The proxy, without its password.
        proxy: String,
        /// What the handshake gave.
        source: io::Error,
    },
    /// The proxy closed the connection, or answered something that is not its protocol, before
    /// the tunnel was open.
    Broken {
        /// The proxy, without its password.
        proxy: String,
        /// What happened.
        reason: String,
    },
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(why) => f.write_str(why),
            ProxyError::Unreachable { proxy, source } => write!(f, "cannot reach the proxy {proxy}: {source}"),
            ProxyError::AuthenticationRequired { proxy, status } => {
                write!(f, "the proxy {proxy} requires authentication (HTTP {status}); give (the right) credentials in the proxy URL")
            }
            ProxyError::AuthenticationRejected { proxy } => write!(f, "the SOCKS5 proxy {proxy} refused the authentication"),
            ProxyError::Refused { proxy, reason } => write!(f, "the proxy {proxy} refused the tunnel: {reason}"),
            ProxyError::Broken { proxy, reason } => write!(f, "the proxy {proxy} {reason}"),
            ProxyError::Tls { proxy, source } => {
                let hint = match crate::error::TlsFailure::of(source) {
                    Some(crate::error::TlsFailure::Untrusted) => {
                        "; the proxy's certificate is not trusted (give its CA's roots with ConnectOptions::proxy_tls)"
                    }
                    Some(crate::error::TlsFailure::NotTls) => "; does the proxy speak plain http:// rather than https://?",
                    None => "",
                };
                write!(f, "TLS handshake with the proxy {proxy} failed: {source}{hint}")
            }
        }
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProxyError::Unreachable { source, .. } | ProxyError::Tls { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The proxy for a connection to `host` (`secure`: `wss://`), by `setting`.
pub(crate) fn choose(setting: &ProxySetting, host: &str, secure: bool) -> Result<Option<Proxy>> {
    match setting {
        ProxySetting::Direct => Ok(None),
        ProxySetting::Proxy(p) => Ok(Some(p.clone())),
        ProxySetting::FromEnv => from_env(|name| std::env::var(name).ok(), host, secure),
    }
}

/// [`choose`] for the environment `var`.
pub(crate) fn from_env(var: impl Fn(&str) -> Option<String>, host: &str, secure: bool) -> Result<Option<Proxy>> {
    let get = |names: &[&str]| names.iter().find_map(|n| var(n).filter(|v| !v.trim().is_empty()));
    // Like curl, `HTTP_PROXY` in capitals is not read: CGI sets it from a request header.
    let url = if secure { get(&["https_proxy", "HTTPS_PROXY"]) } else { get(&["http_proxy"]) }.or_else(|| get(&["all_proxy", "ALL_PROXY"]));
    let Some(url) = url else { return Ok(None) };
    if let Some(list) = get(&["no_proxy", "NO_PROXY"]) {
        if bypasses(&list, host) {
            return Ok(None);
        }
    }
    Proxy::parse(url.trim()).map(Some)
}

/// Whether `no_proxy`'s `list` sends `host` directly: `*`, a host name and its subdomains (with
/// or without a leading dot), an IP address, or a CIDR range; entries separated by commas (or
/// spaces), case-insensitive, a `:port` suffix ignored.
pub fn bypasses(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    list.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.to_ascii_lowercase();
        if let Some((net, bits)) = entry.split_once('/') {
            return match (ip, net.parse::<IpAddr>(), bits.parse::<u8>()) {
                (Some(ip), Ok(net), Ok(bits)) => in_cidr(ip, net, bits),
                _ => false,
            };
        }
        // An entry may carry a port ("host:8080", "[::1]:80"); the port is not compared.
        let entry = match entry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or("").to_owned(),
            None if entry.matches(':').count() == 1 => entry.split(':').next().unwrap_or("").to_owned(),
            None => entry,
        };
        if let (Some(ip), Ok(e)) = (ip, entry.parse::<IpAddr>()) {
            return ip == e;
        }
        let name = entry.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
        !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
    })
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The tunnels

/// What the tunnel leads to: a host name, or an address resolved here (plain `socks5://`).
pub(crate) enum Target<'a> {
    Name(&'a str, u16),
    Addr(std::net::SocketAddr),
}

/// Opens a tunnel to `target` through `proxy` over `io`, already connected to the proxy.
pub(crate) async fn tunnel<T: Transport>(io: &mut T, proxy: &Proxy, target: Target<'_>) -> Result<()> {
    match proxy.kind {
        ProxyKind::Http | ProxyKind::Https => http_connect(io, proxy, target).await,
        ProxyKind::Socks5 | ProxyKind::Socks5h => socks5(io, proxy, target).await,
    }
    .map_err(|e| match e {
        // The proxy hung up or the transport failed in the middle of the exchange.
        Error::Io(e) => {
            Error::Proxy(ProxyError::Broken { proxy: proxy.to_string(), reason: format!("failed during the proxy handshake: {e}") })
        }
        other => other,
    })
}

async fn write_all<T: Transport>(io: &mut T, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        let n = poll_fn(|cx| io.poll_write_vectored(cx, &[IoSlice::new(bytes)])).await?;
        if n == 0 {
            return Err(Error::Io(io::ErrorKind::WriteZero.into()));
        }
        bytes = &bytes[n..];
    }
    poll_fn(|cx| io.poll_flush(cx)).await?;
    Ok(())
}

async fn read_exact<T: Transport>(io: &mut T, buf: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = poll_fn(|cx| io.poll_read(cx, &mut buf[filled..])).await?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "the proxy closed the connection")));
        }
        filled += n;
    }
    Ok(())
}

/// The most of an HTTP proxy's answer that is read.
const MAX_PROXY_HEAD: usize = 16 << 10;

async fn http_connect<T: Transport>(io: &mut T, proxy: &Proxy, target: Target<'_>) -> Result<()> {
    let authority = match target {
        Target::Name(host, port) if host.contains(':') => format!("[{host}]:{port}"),
        Target::Name(host, port) => format!("{host}:{port}"),
        Target::Addr(addr) => addr.to_string(),
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, password)) = &proxy.credentials {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    write_all(io, request.as_bytes()).await?;
    // Byte by byte up to the blank line: what follows belongs to the tunnel (the TLS handshake
    // or the WebSocket upgrade), and nothing may be read past it.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_PROXY_HEAD {
            return Err(broken(proxy, "answered with a head over 16 KiB"));
        }
        read_exact(io, &mut byte).await?;
        head.push(byte[0]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(broken(proxy, "answered something that is not HTTP")),
    }
    match response.code {
        Some(200..=299) => Ok(()),
        Some(status @ (401 | 407)) => Err(Error::Proxy(ProxyError::AuthenticationRequired { proxy: proxy.to_string(), status })),
        Some(code) => Err(Error::Proxy(ProxyError::Refused {
            proxy: proxy.to_string(),
            reason: format!("HTTP {code} {}", response.reason.unwrap_or("")).trim_end().to_owned(),
        })),
        None => Err(broken(proxy, "answered something that is not HTTP")),
    }
}

fn broken(proxy: &Proxy, reason: &str) -> Error {
    Error::Proxy(ProxyError::Broken { proxy: proxy.to_string(), reason: reason.to_owned() })
}

async fn socks5<T: Transport>(io: &mut T, proxy: &Proxy, target: Target<'_>) -> Result<()> {
    // Greeting: no authentication, or username/password if we have credentials (RFC 1928 §3).
    let greeting: &[u8] = if proxy.credentials.is_some() { &[5, 2, 0, 2] } else { &[5, 1, 0] };
    write_all(io, greeting).await?;
    let mut choice = [0u8; 2];
    read_exact(io, &mut choice).await?;
    if choice[0] != 5 {
        return Err(broken(proxy, "does not speak SOCKS5"));
    }
    match choice[1] {
        0 => {}
        2 => {
            let Some((user, password)) = &proxy.credentials else {
                return Err(Error::Proxy(ProxyError::AuthenticationRejected { proxy: proxy.to_string() }));
            };
            // RFC 1929: version 1, the user name and the password, each up to 255 bytes.
            if user.len() > 255 || password.len() > 255 {
                return Err(Error::Proxy(ProxyError::AuthenticationRejected { proxy: proxy.to_string() }));
            }
            let mut auth = vec![1, user.len() as u8];
            auth.extend_from_slice(user.as_bytes());
            auth.push(password.len() as u8);
            auth.extend_from_slice(password.as_bytes());
            write_all(io, &auth).await?;
            let mut status = [0u8; 2];
            read_exact(io, &mut status).await?;
            if status[1] != 0 {
                return Err(Error::Proxy(ProxyError::AuthenticationRejected { proxy: proxy.to_string() }));
            }
        }
        // 0xFF: none of our methods is acceptable, which for us means it wants credentials.
        _ => return Err(Error::Proxy(ProxyError::AuthenticationRejected { proxy: proxy.to_string() })),
    }
    let mut request = vec![5, 1, 0];
    match target {
        Target::Name(host, port) => {
            if host.len() > 255 {
                return Err(broken(proxy, "cannot be given a host name over 255 bytes"));
            }
            match host.parse::<IpAddr>() {
                Ok(ip) => push_ip(&mut request, ip),
                Err(_) => {
                    request.push(3);
                    request.push(host.len() as u8);
                    request.extend_from_slice(host.as_bytes());
                }
            }
            request.extend_from_slice(&port.to_be_bytes());
        }
        Target::Addr(addr) => {
            push_ip(&mut request, addr.ip());
            request.extend_from_slice(&addr.port().to_be_bytes());
        }
    }
    write_all(io, &request).await?;
    let mut reply = [0u8; 4];
    read_exact(io, &mut reply).await?;
    if reply[0] != 5 {
        return Err(broken(proxy, "does not speak SOCKS5"));
    }
    if reply[1] != 0 {
        let reason = match reply[1] {
            1 => "general failure",
            2 => "not allowed by its rules",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "an unknown reply",
        };
        return Err(Error::Proxy(ProxyError::Refused { proxy: proxy.to_string(), reason: format!("SOCKS5 reply {}: {reason}", reply[1]) }));
    }
    // The bound address, which we do not need, then the tunnel.
    let rest = match reply[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            read_exact(io, &mut len).await?;
            len[0] as usize + 2
        }
        _ => return Err(broken(proxy, "answered an unknown address type")),
    };
    let mut bound = vec![0u8; rest];
    read_exact(io, &mut bound).await
}

fn push_ip(request: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            request.push(1);
            request.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            request.push(4);
            request.extend_from_slice(&v6.octets());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_and_never_show_the_password() {
        let p = Proxy::parse("http://bob:p%40ss@127.0.0.1:3128").unwrap();
        assert_eq!((p.kind(), p.host(), p.port(), p.username()), (ProxyKind::Http, "127.0.0.1", 3128, Some("bob")));
        assert_eq!(p.credentials, Some(("bob".into(), "p@ss".into())));
        assert_eq!(p.to_string(), "http://bob@127.0.0.1:3128");
        assert!(!format!("{p:?}").contains("p@ss"));
        assert_eq!(Proxy::parse("socks5://[::1]").unwrap().address(), "[::1]:1080");
        assert_eq!(Proxy::parse("SOCKS5H://h:9/").unwrap().kind(), ProxyKind::Socks5h);
        let tls = Proxy::parse("https://proxy.example").unwrap();
        assert_eq!((tls.kind(), tls.port(), tls.to_string()), (ProxyKind::Https, 443, "https://proxy.example:443".into()));
        for bad in ["ftp://h", "http://", "http://h:port", "http://[::1", "socks4://h"] {
            let e = Proxy::parse(bad).unwrap_err().to_string();
            assert!(e.contains("proxy"), "{bad}: {e}");
        }
        for url in ["http://u:secret@h:x", "http://u:sec@ret@h:x", "u:secret@h:x/p"] {
            let e = Proxy::parse(url).unwrap_err().to_string();
            assert!(!e.contains("secret") && !e.contains("ret@"), "{url}: {e}");
            assert!(e.contains("u@h:x"), "{url}: {e}");
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_environment_is_read_like_curl() {
        let vars = [("https_proxy", "http://secure:3128"), ("http_proxy", "http://plain:3128"), ("all_proxy", "socks5h://all:1080")];
        let pick = |host, secure| from_env(env(&vars), host, secure).unwrap().map(|p| p.to_string());
        assert_eq!(pick("example.com", true).as_deref(), Some("http://secure:3128"));
        assert_eq!(pick("example.com", false).as_deref(), Some("http://plain:3128"));
        // all_proxy when the scheme's own is not set; HTTP_PROXY in capitals is ignored.
        let vars = [("HTTP_PROXY", "http://ignored:1"), ("ALL_PROXY", "socks5://all:1080")];
        assert_eq!(from_env(env(&vars), "h", false).unwrap().unwrap().to_string(), "socks5://all:1080");
        let vars = [("HTTPS_PROXY", "http://caps:8080")];
        assert_eq!(from_env(env(&vars), "h", true).unwrap().unwrap().to_string(), "http://caps:8080");
        assert_eq!(from_env(env(&[]), "h", true).unwrap(), None);
        // no_proxy sends listed hosts directly.
        let vars = [("https_proxy", "http://p:3128"), ("NO_PROXY", "internal.example, 10.0.0.0/8")];
        assert_eq!(from_env(env(&vars), "api.internal.example", true).unwrap(), None);
        assert_eq!(from_env(env(&vars), "10.1.2.3", true).unwrap(), None);
        assert!(from_env(env(&vars), "example.com", true).unwrap().is_some());
    }

    #[test]
    fn no_proxy_rules_each_go_direct_or_through() {
        // (list, host, direct?)
        let cases = [
            ("*", "anything.example", true),
            ("example.com", "example.com", true),
            ("example.com", "ws.example.com", true),
            ("example.com", "badexample.com", false),
            (".example.com", "ws.example.com", true),
            (".example.com", "example.com", true),
            ("*.example.com", "a.example.com", true),
            ("EXAMPLE.com", "Ws.Example.COM", true),
            ("example.com:8080", "example.com", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("10.0.0.0/8", "10.200.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.0/24", "192.168.1.77", true),
            ("192.168.1.0/24", "192.168.2.1", false),
            ("::1", "[::1]", true),
            ("[::1]:80", "::1", true),
            ("fd00::/8", "fd12:3456::1", true),
            ("fd00::/8", "fe80::1", false),
            ("10.0.0.0/8", "ten.example", false),
            ("a.example b.example", "b.example", true),
            ("", "example.com", false),
        ];
        for (list, host, direct) in cases {
            assert_eq!(bypasses(list, host), direct, "no_proxy={list:?} host={host:?}");
        }
    }
}
