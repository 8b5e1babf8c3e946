//! `connect` through real proxies started here on 127.0.0.1: tinyproxy (HTTP CONNECT, with and
//! without Basic authentication; behind stunnel, an `https://` proxy) and microsocks (SOCKS5,
//! with and without username/password),
//! for the tokio, smol and blocking clients, `ws://` and `wss://`, with permessage-deflate; and
//! each proxy failure with its own error.
//!
//! The proxies come from Debian's packages (`.ci/run` installs them). Without them the tests say
//! so and pass, unless WSPROTO_REQUIRE_PROXIES is set, as `.ci/run` sets it.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;
use wsproto::{Config, Message};
use wsproto_io::ConnectOptions;
use wsproto_io::proxy::{Proxy, ProxyError, ProxySetting};
use wsproto_tests::*;

/// A proxy process, killed when dropped.
struct ProxyProcess {
    child: Child,
    port: u16,
    _dir: Option<std::path::PathBuf>,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self._dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

/// Whether `program` is installed; if not, says so, and fails if CI asked for the proxies.
fn have(program: &str) -> bool {
    let found = Command::new(program).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        assert!(std::env::var_os("WSPROTO_REQUIRE_PROXIES").is_none(), "{program} is not installed (apt-get install {program})");
        eprintln!("skipped: {program} is not installed (apt-get install {program})");
    }
    found
}

/// tinyproxy on a free port, requiring `user:password` if given.
fn tinyproxy(auth: Option<(&str, &str)>) -> ProxyProcess {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("wsproto-tinyproxy-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    // No ConnectPort line: CONNECT to any port (the test servers' ports are random).
    let mut conf = format!("Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 100\nLogLevel Critical\n");
    if let Some((user, password)) = auth {
        conf.push_str(&format!("BasicAuth {user} {password}\n"));
    }
    let path = dir.join("tinyproxy.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("tinyproxy").arg("-d").arg("-c").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(port);
    ProxyProcess { child, port, _dir: Some(dir) }
}

/// microsocks on a free port, requiring `user:password` if given.
fn microsocks(auth: Option<(&str, &str)>) -> ProxyProcess {
    let port = free_port();
    let mut cmd = Command::new("microsocks");
    cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((user, password)) = auth {
        cmd.args(["-u", user, "-P", password]);
    }
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(port);
    ProxyProcess { child, port, _dir: None }
}

/// stunnel on a free port: TLS with `cert` (for `localhost`) in front of `inner`'s port, which is
/// how an HTTPS proxy is commonly run in front of a plain one.
fn stunnel(inner: u16, cert: &rcgen::CertifiedKey<rcgen::KeyPair>) -> ProxyProcess {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("wsproto-stunnel-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let conf = format!(
        "foreground = yes\npid =\ndebug = 3\n[proxy]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{inner}\ncert = {}\nkey = {}\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let path = dir.join("stunnel.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("stunnel4").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(port);
    ProxyProcess { child, port, _dir: Some(dir) }
}

fn through(url: &str) -> ConnectOptions {
    ConnectOptions::new().proxy(ProxySetting::Proxy(Proxy::parse(url).unwrap()))
}

struct Cert {
    der: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

/// A wss echo server (tokio-rustls in front of the tokio adapter), with deflate.
fn tls_echo_server() -> (SocketAddr, Cert) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = Cert { der: ck.cert.der().clone(), key: ck.signing_key.serialize_der() };
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key.clone().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let addr = tokio_server(move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            if let Ok(ws) =
                wsproto_tokio::accept_with(tls, Config::default().with_deflate(), |_| Ok(wsproto::handshake::Accept::new())).await
            {
                echo(ws).await;
            }
        }
    });
    (addr, cert)
}

fn messages() -> [Message; 2] {
    [Message::text("through the proxy ".repeat(50)), Message::binary((0..=255u8).cycle().take(70_000).collect::<Vec<_>>())]
}

/// Echo through `options` with each adapter, deflate negotiated, to `url`.
fn echo_with_every_adapter(url: &str, options: &ConnectOptions, what: &str) {
    let config = Config::default().with_deflate();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (mut ws, _) =
            wsproto_tokio::connect_with_options(url, config.clone(), options).await.unwrap_or_else(|e| panic!("tokio, {what}: {e}"));
        assert!(ws.is_compressed(), "tokio, {what}: deflate");
        for m in messages() {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), m, "tokio, {what}");
        }
        ws.close(None).await.unwrap();
    });
    smol::block_on(async {
        let (mut ws, _) =
            wsproto_smol::connect_with_options(url, config.clone(), options).await.unwrap_or_else(|e| panic!("smol, {what}: {e}"));
        assert!(ws.is_compressed(), "smol, {what}: deflate");
        for m in messages() {
            ws.send(m.clone()).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), m, "smol, {what}");
        }
        ws.close(None).await.unwrap();
    });
    let (mut ws, _) = wsproto_blocking::connect_with_options(url, config, options).unwrap_or_else(|e| panic!("blocking, {what}: {e}"));
    assert!(ws.is_compressed(), "blocking, {what}: deflate");
    for m in messages() {
        ws.send(m.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), m, "blocking, {what}");
    }
    ws.close(None).unwrap();
}

#[test]
fn http_connect_through_tinyproxy_with_and_without_authentication() {
    if !have("tinyproxy") {
        return;
    }
    let server = tokio_echo_server(Config::default().with_deflate());
    let ws_url = format!("ws://127.0.0.1:{}/", server.port());
    let open = tinyproxy(None);
    echo_with_every_adapter(&ws_url, &through(&format!("http://127.0.0.1:{}", open.port)), "tinyproxy");
    let guarded = tinyproxy(Some(("alice", "s3cret")));
    echo_with_every_adapter(&ws_url, &through(&format!("http://alice:s3cret@127.0.0.1:{}", guarded.port)), "tinyproxy with Basic");
    // wss:// through the tunnel: the TLS handshake is with the server, not the proxy.
    let (tls_server, cert) = tls_echo_server();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der).unwrap();
    let options = through(&format!("http://alice:s3cret@127.0.0.1:{}", guarded.port)).tls(wsproto_io::tls::TlsConnector::from_roots(roots));
    echo_with_every_adapter(&format!("wss://localhost:{}/", tls_server.port()), &options, "wss through tinyproxy");
}

#[test]
fn https_proxy_tls_to_the_proxy_then_the_tunnel_and_tls_in_tls_for_wss() {
    if !have("tinyproxy") || !have("stunnel4") {
        return;
    }
    let guarded = tinyproxy(Some(("alice", "s3cret")));
    let proxy_cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let front = stunnel(guarded.port, &proxy_cert);
    let mut proxy_roots = rustls::RootCertStore::empty();
    proxy_roots.add(proxy_cert.cert.der().clone()).unwrap();
    let proxy_url = format!("https://alice:s3cret@localhost:{}", front.port);
    let options = through(&proxy_url).proxy_tls(wsproto_io::tls::TlsConnector::from_roots(proxy_roots));

    // ws:// inside TLS with the proxy.
    let server = tokio_echo_server(Config::default().with_deflate());
    let ws_url = format!("ws://127.0.0.1:{}/", server.port());
    echo_with_every_adapter(&ws_url, &options, "ws through an https proxy");
    // wss://: the server's TLS inside the proxy's, each checked against its own roots.
    let (tls_server, cert) = tls_echo_server();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der).unwrap();
    let wss_url = format!("wss://localhost:{}/", tls_server.port());
    let options = options.tls(wsproto_io::tls::TlsConnector::from_roots(roots));
    echo_with_every_adapter(&wss_url, &options, "wss through an https proxy");

    // The streams say what they are: TLS with the proxy only, or the server's TLS inside it.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (ws, _) = wsproto_tokio::connect_with_options(ws_url.as_str(), Config::default(), &options).await.unwrap();
        assert!(matches!(ws.get_ref(), wsproto_io::MaybeTlsStream::ProxyTls(_)));
        let (ws, _) = wsproto_tokio::connect_with_options(wss_url.as_str(), Config::default(), &options).await.unwrap();
        assert!(matches!(ws.get_ref(), wsproto_io::MaybeTlsStream::RustlsInProxyTls(_)));
    });

    // A proxy whose certificate is not trusted (the webpki roots by default; the server's roots
    // do not count for the proxy), and https:// to a proxy that speaks plain HTTP.
    let e = proxy_error(&ws_url, &through(&format!("https://alice:s3cret@127.0.0.1:{}", front.port)));
    assert!(matches!(e, ProxyError::Tls { .. }) && e.to_string().contains("not trusted"), "{e}");
    // A plain HTTP proxy answers TLS's first bytes as the bad request they are to it (tinyproxy
    // waits for a line end instead, which the handshake timeout covers).
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = plain.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut tcp in plain.incoming().flatten() {
            let mut buf = [0u8; 512];
            let _ = std::io::Read::read(&mut tcp, &mut buf);
            let _ = std::io::Write::write_all(&mut tcp, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let e = proxy_error(&ws_url, &through(&format!("https://alice:s3cret@127.0.0.1:{plain_port}")));
    assert!(matches!(e, ProxyError::Tls { .. }) && e.to_string().contains("plain http://"), "{e}");
}

#[test]
fn socks5_through_microsocks_with_and_without_authentication() {
    if !have("microsocks") {
        return;
    }
    let server = tokio_echo_server(Config::default().with_deflate());
    let open = microsocks(None);
    // socks5:// resolves here and gives the proxy an address; socks5h:// gives it the name.
    echo_with_every_adapter(
        &format!("ws://127.0.0.1:{}/", server.port()),
        &through(&format!("socks5://127.0.0.1:{}", open.port)),
        "socks5",
    );
    echo_with_every_adapter(
        &format!("ws://localhost:{}/", server.port()),
        &through(&format!("socks5h://127.0.0.1:{}", open.port)),
        "socks5h",
    );
    let guarded = microsocks(Some(("bob", "pa55")));
    echo_with_every_adapter(
        &format!("ws://localhost:{}/", server.port()),
        &through(&format!("socks5h://bob:pa55@127.0.0.1:{}", guarded.port)),
        "socks5h with a password",
    );
    let (tls_server, cert) = tls_echo_server();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der).unwrap();
    let options = through(&format!("socks5h://bob:pa55@127.0.0.1:{}", guarded.port)).tls(wsproto_io::tls::TlsConnector::from_roots(roots));
    echo_with_every_adapter(&format!("wss://localhost:{}/", tls_server.port()), &options, "wss through microsocks");
}

fn proxy_error(url: &str, options: &ConnectOptions) -> ProxyError {
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    match rt.block_on(wsproto_tokio::connect_with_options(url, config, options)) {
        Err(wsproto_io::Error::Proxy(e)) => {
            // The message names the proxy and never its password.
            assert!(e.to_string().contains("127.0.0.1:"), "{e}");
            assert!(!e.to_string().contains("s3cret") && !e.to_string().contains("pa55"), "{e}");
            e
        }
        Err(other) => panic!("expected a proxy error, got {other}"),
        Ok(_) => panic!("expected a proxy error, got a connection"),
    }
}

#[test]
fn each_proxy_failure_has_its_own_error() {
    let server = tokio_echo_server(Config::default());
    let url = format!("ws://127.0.0.1:{}/", server.port());
    // Nothing listens there.
    let nobody = free_port();
    assert!(matches!(proxy_error(&url, &through(&format!("http://127.0.0.1:{nobody}"))), ProxyError::Unreachable { .. }));
    // A proxy that accepts and hangs up in the middle of the exchange.
    let rude = TcpListener::bind("127.0.0.1:0").unwrap();
    let rude_port = rude.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in rude.incoming().flatten() {
            let mut buf = [0u8; 16];
            let _ = std::io::Read::read(&mut &tcp, &mut buf);
            drop(tcp);
        }
    });
    assert!(matches!(proxy_error(&url, &through(&format!("http://127.0.0.1:{rude_port}"))), ProxyError::Broken { .. }));
    assert!(matches!(proxy_error(&url, &through(&format!("socks5://127.0.0.1:{rude_port}"))), ProxyError::Broken { .. }));
    if have("tinyproxy") {
        let guarded = tinyproxy(Some(("alice", "s3cret")));
        let e = proxy_error(&url, &through(&format!("http://127.0.0.1:{}", guarded.port)));
        assert!(matches!(e, ProxyError::AuthenticationRequired { .. }), "{e}");
        let e = proxy_error(&url, &through(&format!("http://alice:wrong-s3cret@127.0.0.1:{}", guarded.port)));
        assert!(matches!(e, ProxyError::AuthenticationRequired { .. }), "{e}");
    }
    if have("microsocks") {
        let guarded = microsocks(Some(("bob", "pa55")));
        let e = proxy_error(&url, &through(&format!("socks5://bob:wrong-pa55@127.0.0.1:{}", guarded.port)));
        assert!(matches!(e, ProxyError::AuthenticationRejected { .. }), "{e}");
        let e = proxy_error(&url, &through(&format!("socks5://127.0.0.1:{}", guarded.port)));
        assert!(matches!(e, ProxyError::AuthenticationRejected { .. }), "{e}");
        // A target nothing listens on: the proxy's refusal, in its own words.
        let open = microsocks(None);
        let e = proxy_error(&format!("ws://127.0.0.1:{nobody}/"), &through(&format!("socks5://127.0.0.1:{}", open.port)));
        assert!(matches!(e, ProxyError::Refused { .. }), "{e}");
    }
}
