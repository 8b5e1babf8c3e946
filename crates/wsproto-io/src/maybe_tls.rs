//! A stream that is plain or TLS: what `connect` returns on every runtime.
//!
//! One enum for the three adapters, with the I/O traits of each runtime: std's always, tokio's
//! with the `tokio` feature, futures-io's with the `futures-io` feature.

use std::io::{self, IoSlice, Read, Write};
#[cfg(any(feature = "tokio", feature = "futures-io"))]
use std::pin::Pin;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
use std::task::{Context, Poll};

/// A stream that is plain (`ws://`) or TLS over it (`wss://`), as tokio-tungstenite's
/// `MaybeTlsStream`; through an `https://` proxy, also TLS to the proxy, alone (`ws://`) or with
/// the server's TLS inside it (`wss://`).
///
/// `S` is the TCP stream, `T` TLS over it, and `U` TLS over `T`.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S, T, U> {
    /// Plain TCP (`ws://`, directly or through an `http://` or SOCKS proxy's tunnel).
    Plain(S),
    /// TLS with the server over TCP (`wss://`, directly or through an `http://` or SOCKS
    /// proxy's tunnel).
    Rustls(T),
    /// TLS with an `https://` proxy, and a plain `ws://` tunnel inside it: the proxy sees the
    /// WebSocket's bytes.
    ProxyTls(T),
    /// TLS with the server (`wss://`) inside TLS with an `https://` proxy: the proxy sees only
    /// the server's TLS.
    RustlsInProxyTls(U),
}

impl<S, T, U> MaybeTlsStream<S, Box<T>, Box<U>> {
    /// Puts the server's TLS (`wss://`) on the stream: over TCP, or inside the TLS with an
    /// `https://` proxy. A stream that has it already comes back as it was.
    ///
    /// The adapters' `Connector::tls` call this with their runtime's handshake, over TCP
    /// (`over_tcp`) and over TLS with the proxy (`over_proxy_tls`), so which layer goes where
    /// is decided here, once.
    pub async fn add_server_tls(
        self,
        over_tcp: impl AsyncFnOnce(S) -> io::Result<T>,
        over_proxy_tls: impl AsyncFnOnce(T) -> io::Result<U>,
    ) -> io::Result<Self> {
        match self {
            MaybeTlsStream::Plain(tcp) => Ok(MaybeTlsStream::Rustls(Box::new(over_tcp(tcp).await?))),
            MaybeTlsStream::ProxyTls(to_proxy) => Ok(MaybeTlsStream::RustlsInProxyTls(Box::new(over_proxy_tls(*to_proxy).await?))),
            already => Ok(already),
        }
    }

    /// Puts TLS with an `https://` proxy on a plain TCP stream, with the runtime's handshake
    /// (`over_tcp`); the tunnel, and any TLS with the server, then run inside it. Any other
    /// stream comes back as it was.
    pub async fn add_proxy_tls(self, over_tcp: impl AsyncFnOnce(S) -> io::Result<T>) -> io::Result<Self> {
        match self {
            MaybeTlsStream::Plain(tcp) => Ok(MaybeTlsStream::ProxyTls(Box::new(over_tcp(tcp).await?))),
            other => Ok(other),
        }
    }
}

/// Calls `$call` on whichever stream is inside `$self` (a `Pin<&mut MaybeTlsStream>`).
#[cfg(any(feature = "tokio", feature = "futures-io"))]
macro_rules! pinned {
    ($self:ident, $s:ident => $call:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => {
                let $s = Pin::new($s);
                $call
            }
            MaybeTlsStream::Rustls($s) | MaybeTlsStream::ProxyTls($s) => {
                let $s = Pin::new($s);
                $call
            }
            MaybeTlsStream::RustlsInProxyTls($s) => {
                let $s = Pin::new($s);
                $call
            }
        }
    };
}

/// Calls `$call` on whichever stream is inside `$self`.
macro_rules! either {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            MaybeTlsStream::Plain($s) => $call,
            MaybeTlsStream::Rustls($s) | MaybeTlsStream::ProxyTls($s) => $call,
            MaybeTlsStream::RustlsInProxyTls($s) => $call,
        }
    };
}

impl<S: Read, T: Read, U: Read> Read for MaybeTlsStream<S, T, U> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        either!(self, s => s.read(buf))
    }
}

impl<S: Write, T: Write, U: Write> Write for MaybeTlsStream<S, T, U> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        either!(self, s => s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        either!(self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        either!(self, s => s.flush())
    }
}

#[cfg(feature = "tokio")]
impl<S, T, U> tokio::io::AsyncRead for MaybeTlsStream<S, T, U>
where
    S: tokio::io::AsyncRead + Unpin,
    T: tokio::io::AsyncRead + Unpin,
    U: tokio::io::AsyncRead + Unpin,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_read(cx, buf))
    }
}

#[cfg(feature = "tokio")]
impl<S, T, U> tokio::io::AsyncWrite for MaybeTlsStream<S, T, U>
where
    S: tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncWrite + Unpin,
    U: tokio::io::AsyncWrite + Unpin,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        either!(self, s => s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_shutdown(cx))
    }
}

#[cfg(feature = "futures-io")]
impl<S, T, U> futures_io::AsyncRead for MaybeTlsStream<S, T, U>
where
    S: futures_io::AsyncRead + Unpin,
    T: futures_io::AsyncRead + Unpin,
    U: futures_io::AsyncRead + Unpin,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_read(cx, buf))
    }
}

#[cfg(feature = "futures-io")]
impl<S, T, U> futures_io::AsyncWrite for MaybeTlsStream<S, T, U>
where
    S: futures_io::AsyncWrite + Unpin,
    T: futures_io::AsyncWrite + Unpin,
    U: futures_io::AsyncWrite + Unpin,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        pinned!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pinned!(self, s => s.poll_close(cx))
    }
}
