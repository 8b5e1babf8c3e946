//! wss:// with rustls.

use crate::Stream;
use rustls::pki_types::ServerName;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;
use wsproto_io::Error;

/// A stream that is plain or TLS, as `connect` returns it.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S: Read + Write> {
    /// Plain TCP (`ws://`).
    Plain(S),
    /// TLS (`wss://`).
    Rustls(Box<rustls::StreamOwned<rustls::ClientConnection, S>>),
}

impl<S: Read + Write> MaybeTlsStream<S> {
    /// Starts TLS to `host` over `stream`, with `config` or (`None`) the webpki roots.
    pub fn rustls(host: &str, stream: S, config: Option<Arc<rustls::ClientConfig>>) -> Result<MaybeTlsStream<S>, Error> {
        let config = config.unwrap_or_else(default_config);
        let name = ServerName::try_from(host.to_owned()).map_err(|e| Error::Tls(format!("server name {host:?}: {e}")))?;
        let conn = rustls::ClientConnection::new(config, name).map_err(|e| Error::Tls(e.to_string()))?;
        Ok(MaybeTlsStream::Rustls(Box::new(rustls::StreamOwned::new(conn, stream))))
    }
}

fn default_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

impl<S: Read + Write> Read for MaybeTlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            MaybeTlsStream::Rustls(s) => s.read(buf),
        }
    }
}

impl<S: Read + Write> Write for MaybeTlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            MaybeTlsStream::Rustls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            MaybeTlsStream::Rustls(s) => s.flush(),
        }
    }
}

impl<S: Stream> Stream for MaybeTlsStream<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.set_read_timeout(timeout),
            MaybeTlsStream::Rustls(s) => s.sock.set_read_timeout(timeout),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.shutdown_write(),
            MaybeTlsStream::Rustls(s) => {
                s.conn.send_close_notify();
                s.flush()?;
                s.sock.shutdown_write()
            }
        }
    }
}

macro_rules! stream_owned {
    ($($side:ty),*) => {$(
        impl<S: Stream> Stream for rustls::StreamOwned<$side, S> {
            fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                self.sock.set_read_timeout(timeout)
            }

            fn shutdown_write(&mut self) -> io::Result<()> {
                self.conn.send_close_notify();
                self.flush()?;
                self.sock.shutdown_write()
            }
        }
    )*};
}

// A TLS server socket (for `accept`) as well as a client one.
stream_owned!(rustls::ClientConnection, rustls::ServerConnection);
