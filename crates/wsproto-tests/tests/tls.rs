//! wss:// end to end, with a certificate generated for the test: each client adapter against a
//! tokio-rustls server running the tokio adapter.

use std::sync::Arc;
use tokio_rustls::rustls;
use wsproto_tests::*;

struct Cert {
    der: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

fn cert() -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    Cert { der: ck.cert.der().clone(), key: ck.signing_key.serialize_der() }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(cert: &Cert) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    roots
}

/// A wss echo server: tokio-rustls in front of the tokio adapter.
fn tls_echo_server(cert: &Cert) -> std::net::SocketAddr {
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key.clone().into());
    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    tokio_server(move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let config = wsproto::Config::default().with_deflate();
            if let Ok(ws) = wsproto_tokio::accept_with(tls, config, |_| Ok(wsproto::handshake::Accept::new())).await {
                echo(ws).await;
            }
        }
    })
}

#[test]
fn every_client_speaks_wss_to_a_tls_server() {
    let cert = cert();
    let addr = tls_echo_server(&cert);
    let url = format!("wss://localhost:{}/", addr.port());
    let config = wsproto::Config::default().with_deflate();

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let tls = wsproto_tokio::TlsConnector::from_roots(roots(&cert));
        let (mut ws, resp) = wsproto_tokio::connect_with_tls(url.as_str(), config.clone(), Some(tls)).await.unwrap();
        assert_eq!(resp.status(), 101);
        assert!(matches!(ws.get_ref(), wsproto_tokio::MaybeTlsStream::Rustls(_)));
        let mut t = Transcript::default();
        send_script(&mut ws, &mut t).await;
        assert_eq!(t.echoes, script());
        ws.close(None).await.unwrap();
    });

    smol::block_on(async {
        let tls = wsproto_smol::TlsConnector::from_roots(roots(&cert));
        let (mut ws, _) = wsproto_smol::connect_with_tls(url.as_str(), config.clone(), Some(tls)).await.unwrap();
        let mut t = Transcript::default();
        send_script(&mut ws, &mut t).await;
        assert_eq!(t.echoes, script());
        ws.close(None).await.unwrap();
    });

    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(&cert))
        .with_no_client_auth();
    let (mut ws, _) = wsproto_blocking::connect_with_tls(url.as_str(), config, Some(Arc::new(client))).unwrap();
    let mut t = Transcript::default();
    for m in script() {
        ws.send(m).unwrap();
        t.record(ws.read().unwrap());
    }
    assert_eq!(t.echoes, script());
    ws.close(None).unwrap();
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let cert = cert();
    let addr = tls_echo_server(&cert);
    let url = format!("wss://localhost:{}/", addr.port());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // The webpki roots do not include a certificate made a moment ago.
    let err = rt.block_on(wsproto_tokio::connect(url.as_str())).unwrap_err();
    assert!(matches!(&err, wsproto_tokio::Error::Io(e) if e.to_string().contains("certificate")), "{err}");
}
