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
