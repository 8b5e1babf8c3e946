//! Every adapter pairing interoperates, with and without permessage-deflate: each client runs
//! the same script (text, empty text, unicode, binary up to 1 MiB, compressible JSON, a
//! fragmented message, a ping, a close with code 4000) against each server, which echoes.

use wsproto_tests::*;

fn servers(config: &wsproto::Config) -> Vec<(&'static str, std::net::SocketAddr)> {
    vec![
        ("tokio", tokio_echo_server(config.clone())),
        ("smol", smol_echo_server(config.clone())),
        ("blocking", blocking_echo_server(config.clone())),
    ]
}

#[test]
fn tokio_client_with_every_server() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for (mode, config) in configs() {
        for (server, addr) in servers(&config) {
            let t = rt.block_on(tokio_client(&format!("ws://{addr}/"), config.clone()));
            t.check(&format!("tokio client, {server} server, {mode}"));
        }
    }
}

#[test]
fn smol_client_with_every_server() {
    for (mode, config) in configs() {
        for (server, addr) in servers(&config) {
            let t = smol::block_on(smol_client(&format!("ws://{addr}/"), config.clone()));
            t.check(&format!("smol client, {server} server, {mode}"));
        }
    }
}

#[test]
fn blocking_client_with_every_server() {
    for (mode, config) in configs() {
        for (server, addr) in servers(&config) {
            let t = blocking_client(&format!("ws://{addr}/"), config.clone());
            t.check(&format!("blocking client, {server} server, {mode}"));
        }
    }
}

#[test]
fn deflate_is_negotiated_between_adapters() {
    let config = wsproto::Config::default().with_deflate();
    let addr = smol_echo_server(config.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (ws, response) = wsproto_tokio::connect_with(format!("ws://{addr}/"), config).await.unwrap();
        assert!(ws.is_compressed());
        assert_eq!(response.headers()["sec-websocket-extensions"], "permessage-deflate");
    });
}
