//! The rustls client settings every adapter builds the same way; each adapter wraps them in its
//! runtime's TLS stream.

use crate::error::{Error, Result};
use rustls::pki_types::ServerName;
use std::sync::Arc;

pub use rustls;

/// The Mozilla roots bundled by `webpki-roots`.
pub fn webpki_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// A client configuration with the ring provider, the default protocol versions, `roots` as the
/// trust anchors, and no client certificate.
pub fn client_config(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The server name to verify the certificate against, from the URL's host.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).map_err(|e| Error::Tls(format!("server name {host:?}: {e}")))
}

/// A client's TLS settings for `wss://`: which roots to trust, client certificates, ALPN. Cheap
/// to clone; every adapter takes the same type.
#[derive(Clone)]
pub struct TlsConnector(Arc<rustls::ClientConfig>);

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Trusts the Mozilla roots bundled by `webpki-roots`.
    pub fn webpki_roots() -> TlsConnector {
        TlsConnector::from_roots(webpki_roots())
    }

    /// Trusts exactly `roots`.
    pub fn from_roots(roots: rustls::RootCertStore) -> TlsConnector {
        TlsConnector(client_config(roots))
    }

    /// Uses a rustls client configuration as it is.
    pub fn from_config(config: Arc<rustls::ClientConfig>) -> TlsConnector {
        TlsConnector(config)
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<rustls::ClientConfig> {
        &self.0
    }
}

impl From<Arc<rustls::ClientConfig>> for TlsConnector {
    fn from(config: Arc<rustls::ClientConfig>) -> TlsConnector {
        TlsConnector(config)
    }
}

/// A failed TLS handshake with `address`, with the likely cause: a server that speaks plain
/// WebSocket, or a certificate the roots do not vouch for.
pub fn handshake_error(address: &str, e: std::io::Error) -> Error {
    let hint = match crate::error::TlsFailure::of(&e) {
        Some(crate::error::TlsFailure::Untrusted) => "; the server's certificate is not trusted (give its CA's roots)",
        Some(crate::error::TlsFailure::NotTls) => "; is the server serving plain ws:// rather than wss://?",
        None => "",
    };
    Error::Tls(format!("TLS handshake with {address} failed: {e}{hint}"))
}
