//! The rustls streams and the plain-or-TLS stream as [`Stream`]s.

use crate::Stream;
use std::io::{self, Write};
use std::time::Duration;

/// TLS over `S`, on the client side.
pub(crate) type ClientTls<S> = rustls::StreamOwned<rustls::ClientConnection, S>;

/// A stream that is plain TCP or TLS over TCP (for `wss://`); through an `https://` proxy, TLS
/// with the proxy, alone or with the server's TLS inside.
pub type MaybeTlsStream<S> = wsproto_io::MaybeTlsStream<S, Box<ClientTls<S>>, Box<ClientTls<ClientTls<S>>>>;

impl<S: Stream, T: Stream, U: Stream> Stream for wsproto_io::MaybeTlsStream<S, T, U> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        inner(self).map_or(Ok(()), |s| s.set_read_timeout(timeout))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        inner(self).map_or(Ok(()), |s| s.set_write_timeout(timeout))
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match inner(self) {
            Some(s) => s.shutdown_write(),
            None => self.flush(),
        }
    }
}

/// Whichever stream is inside; `None` for a kind of stream this crate does not know yet (the
/// enum is non-exhaustive), which then gets the trait's defaults.
fn inner<S: Stream, T: Stream, U: Stream>(stream: &mut wsproto_io::MaybeTlsStream<S, T, U>) -> Option<&mut dyn Stream> {
    match stream {
        wsproto_io::MaybeTlsStream::Plain(s) => Some(s),
        wsproto_io::MaybeTlsStream::Rustls(s) | wsproto_io::MaybeTlsStream::ProxyTls(s) => Some(s),
        wsproto_io::MaybeTlsStream::RustlsInProxyTls(s) => Some(s),
        _ => None,
    }
}

impl<S: Stream + ?Sized> Stream for Box<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

macro_rules! stream_owned {
    ($($side:ty),*) => {$(
        impl<S: Stream> Stream for rustls::StreamOwned<$side, S> {
            fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                self.sock.set_read_timeout(timeout)
            }

            fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
                self.sock.set_write_timeout(timeout)
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
