//! wss:// with rustls.

use crate::Stream;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;
use wsproto_io::{Error, tls};

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
        let config = config.unwrap_or_else(|| tls::client_config(tls::webpki_roots()));
        let conn = rustls::ClientConnection::new(config, tls::server_name(host)?).map_err(|e| Error::Tls(e.to_string()))?;
        Ok(MaybeTlsStream::Rustls(Box::new(rustls::StreamOwned::new(conn, stream))))
    }
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
            MaybeTlsStream::Rustls(s) => s.set_read_timeout(timeout),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.shutdown_write(),
            MaybeTlsStream::Rustls(s) => s.shutdown_write(),
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
