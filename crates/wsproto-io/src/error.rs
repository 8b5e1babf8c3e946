//! The one error type of the adapters, with `std::io::Error` conversions both ways.

use std::fmt;
use std::io;
use wsproto::handshake::UrlError;
use wsproto::utf8::InvalidUtf8;
use wsproto::{ConnectionError, HandshakeError, LocalError, ProtocolError};

/// What can go wrong on a WebSocket connection driven by an adapter.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The peer broke the protocol; the matching close frame was sent.
    Protocol(ProtocolError),
    /// The opening handshake failed (a refusal carries the status, headers and body).
    Handshake(HandshakeError),
    /// The peer did not answer a keepalive ping in time.
    KeepaliveTimeout,
    /// The peer did not answer our close frame in time.
    CloseTimeout,
    /// The transport ended without a closing handshake (close code 1006).
    ResetWithoutClose,
    /// The closing handshake completed and the transport is closed: the normal end. The
    /// blocking adapter's `read` returns it once; the async streams end instead.
    ConnectionClosed,
    /// The connection is closed, or closing: nothing more can be sent.
    AlreadyClosed,
    /// The call was not possible in this state (see the [`LocalError`]).
    Local(LocalError),
    /// The URL cannot be used.
    Url(UrlError),
    /// A payload asked for as text is not valid UTF-8 (from `Message::into_text` and the like).
    Utf8(InvalidUtf8),
    /// TLS set-up failed (`wss://` without TLS support compiled in, or a bad server name).
    Tls(String),
    /// The proxy did not give a tunnel (see the [`ProxyError`](crate::proxy::ProxyError)).
    Proxy(crate::proxy::ProxyError),
}

/// The likely cause of a failed TLS handshake, for the hint in its error message.
pub(crate) enum TlsFailure {
    /// The peer's certificate is not vouched for by the roots.
    Untrusted,
    /// The peer answered something that is not TLS (it speaks plain HTTP, say).
    NotTls,
}

impl TlsFailure {
    /// Read off rustls's error text: rustls's error types do not survive `io::Error` as a type
    /// every runtime's TLS crate keeps.
    pub(crate) fn of(e: &io::Error) -> Option<TlsFailure> {
        let text = e.to_string();
        if text.contains("certificate") || text.contains("UnknownIssuer") {
            Some(TlsFailure::Untrusted)
        } else if text.contains("eof") || text.contains("corrupt") || text.contains("InvalidContentType") {
            Some(TlsFailure::NotTls)
        } else {
            None
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::KeepaliveTimeout => f.write_str("keepalive ping timed out"),
            Error::CloseTimeout => f.write_str("the peer did not answer the close frame in time"),
            Error::ResetWithoutClose => f.write_str("the connection ended without a closing handshake"),
            Error::ConnectionClosed => f.write_str("the connection closed normally"),
            Error::AlreadyClosed => f.write_str("the connection is closed"),
            Error::Local(e) => e.fmt(f),
            Error::Url(e) => e.fmt(f),
            Error::Utf8(e) => write!(f, "the payload is not text: {e}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Proxy(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Local(e) => Some(e),
            Error::Url(e) => Some(e),
            Error::Utf8(e) => Some(e),
            Error::Proxy(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<InvalidUtf8> for Error {
    fn from(e: InvalidUtf8) -> Error {
        Error::Utf8(e)
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Error {
        Error::Url(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Error {
        Error::Handshake(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(e)
    }
}

impl From<LocalError> for Error {
    fn from(e: LocalError) -> Error {
        match e {
            LocalError::Closing => Error::AlreadyClosed,
            other => Error::Local(other),
        }
    }
}

impl From<ConnectionError> for Error {
    fn from(e: ConnectionError) -> Error {
        match e {
            ConnectionError::Protocol(e) => Error::Protocol(e),
            ConnectionError::Handshake(e) => Error::Handshake(e),
            ConnectionError::KeepaliveTimeout => Error::KeepaliveTimeout,
            ConnectionError::CloseTimeout => Error::CloseTimeout,
            ConnectionError::UnexpectedEof => Error::ResetWithoutClose,
            other => Error::Io(io::Error::other(other)),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io(_) => {
                return match e {
                    Error::Io(inner) => inner,
                    _ => unreachable!(),
                };
            }
            Error::Protocol(_) | Error::Handshake(_) | Error::Utf8(_) => io::ErrorKind::InvalidData,
            Error::KeepaliveTimeout | Error::CloseTimeout => io::ErrorKind::TimedOut,
            Error::ResetWithoutClose => io::ErrorKind::UnexpectedEof,
            Error::ConnectionClosed | Error::AlreadyClosed => io::ErrorKind::NotConnected,
            Error::Local(LocalError::WriteBufferFull { .. }) => io::ErrorKind::WouldBlock,
            Error::Local(_) | Error::Url(_) | Error::Tls(_) => io::ErrorKind::InvalidInput,
            Error::Proxy(crate::proxy::ProxyError::InvalidUrl(_)) => io::ErrorKind::InvalidInput,
            Error::Proxy(crate::proxy::ProxyError::Unreachable { source, .. }) => source.kind(),
            Error::Proxy(
                crate::proxy::ProxyError::AuthenticationRequired { .. } | crate::proxy::ProxyError::AuthenticationRejected { .. },
            ) => io::ErrorKind::PermissionDenied,
            Error::Proxy(crate::proxy::ProxyError::Refused { .. }) => io::ErrorKind::ConnectionRefused,
            Error::Proxy(_) => io::ErrorKind::ConnectionAborted,
        };
        io::Error::new(kind, e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_to_io_errors_with_fitting_kinds() {
        let io_err: io::Error = Error::Protocol(ProtocolError::InvalidUtf8).into();
        assert_eq!(io_err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(io::Error::from(Error::KeepaliveTimeout).kind(), io::ErrorKind::TimedOut);
        assert_eq!(io::Error::from(Error::ResetWithoutClose).kind(), io::ErrorKind::UnexpectedEof);
        let inner = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(io::Error::from(Error::Io(inner)).kind(), io::ErrorKind::ConnectionReset);
        assert!(matches!(Error::from(LocalError::Closing), Error::AlreadyClosed));
        assert!(matches!(Error::from(ConnectionError::UnexpectedEof), Error::ResetWithoutClose));
    }
}
