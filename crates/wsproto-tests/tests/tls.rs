//! wss:// end to end, with a certificate generated for the test: each client adapter against a
//! tokio-rustls server running the tokio adapter.

use std::sync::Arc;
use tokio_rustls::rustls;
use wsproto::Config;
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
    let (mut ws, _) =
        wsproto_blocking::connect_with_tls(url.as_str(), config, Some(wsproto_blocking::TlsConnector::from_config(Arc::new(client))))
            .unwrap();
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
    let text = err.to_string();
    assert!(matches!(err, wsproto_tokio::Error::Tls(_)), "{text}");
    assert!(text.contains(&format!("localhost:{}", addr.port())) && text.contains("not trusted"), "{text}");
    // The blocking adapter fails the same way, from the same shared code.
    let err = wsproto_blocking::connect(url.as_str()).unwrap_err();
    assert!(matches!(err, wsproto_blocking::Error::Tls(_)) && err.to_string().contains("not trusted"), "{err}");
}

/// `wss://` to a server that speaks plain WebSocket: a TLS error that names the address and
/// suggests `ws://`, for every adapter (the first thing a user mistypes).
#[test]
fn wss_to_a_plain_server_says_so() {
    let addr = tokio_echo_server(Config::default());
    let url = format!("wss://127.0.0.1:{}/", addr.port());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let errors = [
        rt.block_on(wsproto_tokio::connect(url.as_str())).unwrap_err(),
        smol::block_on(wsproto_smol::connect(url.as_str())).unwrap_err(),
        wsproto_blocking::connect(url.as_str()).unwrap_err(),
    ];
    for err in errors {
        let text = err.to_string();
        assert!(matches!(err, wsproto_tokio::Error::Tls(_)), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{}", addr.port())) && text.contains("plain ws://"), "{text}");
    }
}

/// A port nobody listens on: the error names the address and the likely cause.
#[test]
fn a_refused_connection_names_the_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}/");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let errors = [
        rt.block_on(wsproto_tokio::connect(url.as_str())).unwrap_err(),
        smol::block_on(wsproto_smol::connect(url.as_str())).unwrap_err(),
        wsproto_blocking::connect(url.as_str()).unwrap_err(),
    ];
    for err in errors {
        let text = err.to_string();
        assert!(matches!(&err, wsproto_tokio::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused), "{text}");
        assert!(text.contains(&format!("cannot connect to 127.0.0.1:{port}")) && text.contains("is a server listening"), "{text}");
    }
}

/// A runtime whose resolver puts an address where nothing listens before the real ones, as a
/// host name with an IPv6 address the server does not listen on would.
struct RefusedFirst;

impl wsproto_io::Runtime for RefusedFirst {
    type Timer = <wsproto_tokio::Tokio as wsproto_io::Runtime>::Timer;
    fn now() -> wsproto::Instant {
        <wsproto_tokio::Tokio as wsproto_io::Runtime>::now()
    }
    fn timer(deadline: wsproto::Instant) -> Self::Timer {
        <wsproto_tokio::Tokio as wsproto_io::Runtime>::timer(deadline)
    }
}

impl wsproto_io::Connector for RefusedFirst {
    type Stream = wsproto_tokio::ClientStream;
    type Io = wsproto_tokio::TokioIo<wsproto_tokio::ClientStream>;
    fn io(stream: Self::Stream) -> Self::Io {
        wsproto_tokio::TokioIo::new(stream)
    }
    async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
        let mut addrs = wsproto_tokio::Tokio::resolve(host, port).await?;
        addrs.insert(0, std::net::SocketAddr::from(([127, 0, 0, 2], port)));
        Ok(addrs)
    }
    fn tcp(addr: std::net::SocketAddr, deadline: Option<wsproto::Instant>) -> impl Future<Output = std::io::Result<Self::Stream>> {
        wsproto_tokio::Tokio::tcp(addr, deadline)
    }
    fn tls(
        stream: Self::Stream,
        name: rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        deadline: Option<wsproto::Instant>,
    ) -> impl Future<Output = std::io::Result<Self::Stream>> {
        wsproto_tokio::Tokio::tls(stream, name, tls, deadline)
    }
}

/// A host name is tried on each address it resolves to, in turn: the first is refused, the
/// second answers. The loop is shared by every adapter (`wsproto_io::connect`).
#[test]
fn every_address_of_a_host_name_is_tried() {
    use wsproto_io::Connector;
    let addr = tokio_echo_server(Config::default());
    let url = format!("ws://localhost:{}/", addr.port());
    let request = wsproto::ClientRequest::from_url(&url).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        assert_eq!(RefusedFirst::resolve("localhost", addr.port()).await.unwrap()[0].ip().to_string(), "127.0.0.2");
        let (ws, _) = wsproto_io::connect::connect::<RefusedFirst>(&request, Config::default()).await.unwrap();
        run_script(ws).await.check("after a refused address");
    });
    // With no address that answers, the error lists every address tried.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let request = wsproto::ClientRequest::from_url(&format!("ws://localhost:{port}/")).unwrap();
    let err = rt.block_on(wsproto_io::connect::connect::<RefusedFirst>(&request, Config::default())).unwrap_err().to_string();
    assert!(err.contains(&format!("tried 127.0.0.2:{port}, 127.0.0.1:{port}")), "{err}");
}

/// IPv6 literals in brackets, where the machine has an IPv6 loopback.
#[test]
fn an_ipv6_literal_reaches_an_ipv6_server() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        return eprintln!("skipped: no IPv6 loopback on this machine");
    };
    let addr = tokio_echo_server_on(listener, Config::default());
    let url = format!("ws://[::1]:{}/", addr.port());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(tokio_client(&url, Config::default())).check("tokio over IPv6");
    smol::block_on(smol_client(&url, Config::default())).check("smol over IPv6");
    blocking_client(&url, Config::default()).check("blocking over IPv6");
}
