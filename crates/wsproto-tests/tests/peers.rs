//! tungstenite and tokio-tungstenite as peers: our clients against their servers, and their
//! clients against ours.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as TMessage;
use wsproto_tests::*;

/// A tokio-tungstenite echo server (it does not do permessage-deflate).
fn tungstenite_echo_server() -> std::net::SocketAddr {
    tokio_server(|tcp| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
        // Keep polling after a close: tungstenite queues its close reply there.
        while let Some(Ok(m)) = ws.next().await {
            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                return;
            }
        }
    })
}

#[test]
fn our_clients_against_a_tungstenite_server() {
    let addr = tungstenite_echo_server();
    let url = format!("ws://{addr}/");
    // Offering deflate to a server without it must fall back to plain messages.
    for (mode, config) in configs() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(tokio_client(&url, config.clone())).check(&format!("tokio client vs tungstenite, {mode}"));
        smol::block_on(smol_client(&url, config.clone())).check(&format!("smol client vs tungstenite, {mode}"));
        blocking_client(&url, config.clone()).check(&format!("blocking client vs tungstenite, {mode}"));
    }
}

fn to_tungstenite(m: &wsproto::Message) -> TMessage {
    match m {
        wsproto::Message::Text(t) => TMessage::text(t.as_str()),
        wsproto::Message::Binary(b) => TMessage::binary(b.clone()),
        other => panic!("not in the script: {other:?}"),
    }
}

#[test]
fn a_tokio_tungstenite_client_against_our_servers() {
    for (mode, config) in configs() {
        for (server, addr) in [
            ("tokio", tokio_echo_server(config.clone())),
            ("smol", smol_echo_server(config.clone())),
            ("blocking", blocking_echo_server(config.clone())),
        ] {
            let what = format!("tokio-tungstenite client vs {server} server, {mode}");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.expect(&what);
                for m in script() {
                    let sent = to_tungstenite(&m);
                    ws.send(sent.clone()).await.unwrap();
                    assert_eq!(ws.next().await.unwrap().unwrap(), sent, "{what}");
                }
                ws.send(TMessage::Ping(b"ping!".to_vec().into())).await.unwrap();
                assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::Pong(b"ping!".to_vec().into()), "{what}");
                let close = tokio_tungstenite::tungstenite::protocol::CloseFrame { code: 4000.into(), reason: "bye".into() };
                ws.close(Some(close)).await.unwrap();
                let reply = ws.next().await.unwrap().unwrap();
                match reply {
                    TMessage::Close(Some(f)) => assert_eq!(u16::from(f.code), 4000, "{what}"),
                    other => panic!("{what}: {other:?}"),
                }
                assert!(ws.next().await.is_none(), "{what}: our server ends the connection after the close");
            });
        }
    }
}

#[test]
fn a_blocking_tungstenite_client_against_our_blocking_server() {
    let addr = blocking_echo_server(wsproto::Config::default());
    let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/")).unwrap();
    for m in script() {
        let sent = to_tungstenite(&m);
        ws.send(sent.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), sent);
    }
    ws.close(None).unwrap();
    loop {
        match ws.read() {
            Ok(TMessage::Close(_)) => {}
            Ok(other) => panic!("{other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
}
