//! wss:// with rustls.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls;
use wsproto_io::{Error, tls};

/// A client's TLS settings: which roots to trust, client certificates, ALPN.
#[derive(Clone)]
pub struct TlsConnector(tokio_rustls::TlsConnector);

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Trusts the Mozilla roots bundled by `webpki-roots`.
    pub fn webpki_roots() -> TlsConnector {
        TlsConnector::from_roots(tls::webpki_roots())
    }

    /// Trusts exactly `roots`.
    pub fn from_roots(roots: rustls::RootCertStore) -> TlsConnector {
        TlsConnector::from_config(tls::client_config(roots))
    }

    /// Uses a rustls client configuration as it is.
    pub fn from_config(config: Arc<rustls::ClientConfig>) -> TlsConnector {
        TlsConnector(tokio_rustls::TlsConnector::from(config))
    }

    pub(crate) async fn connect<S>(&self, host: &str, stream: S) -> Result<tokio_rustls::client::TlsStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        Ok(self.0.connect(tls::server_name(host)?, stream).await?)
    }
}

/// A stream that is plain or TLS, as `connect` returns it.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// Plain TCP (`ws://`).
    Plain(S),
    /// TLS (`wss://`).
    Rustls(Box<tokio_rustls::client::TlsStream<S>>),
}

macro_rules! both {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => {
                let $s = Pin::new($s);
                $e
            }
            MaybeTlsStream::Rustls($s) => {
                let $s = Pin::new($s.as_mut());
                $e
            }
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        both!(self, s => s.poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        both!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        both!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(s) => s.is_write_vectored(),
            MaybeTlsStream::Rustls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        both!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        both!(self, s => s.poll_shutdown(cx))
    }
}
