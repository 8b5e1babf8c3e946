//! A server that decides after an `await`: `read_request`, then accept or reject. The client
//! sends its token in a header of an `http::Request`, as tungstenite users do.

use std::time::Duration;
use wsproto::HandshakeError;
use wsproto_io::{Accept, Error, Reject};
use wsproto_tests::*;

/// What a session store would answer, after a lookup that takes a while.
async fn token_is_valid(token: &str) -> bool {
    tokio::time::sleep(Duration::from_millis(20)).await;
    token == "Bearer good"
}

fn request(url: &str, token: &str) -> wsproto_io::http::Request<()> {
    wsproto_io::http::Request::builder().uri(url).header("Authorization", token).body(()).unwrap()
}

#[test]
fn a_tokio_server_accepts_or_rejects_after_an_await() {
    let addr = tokio_server(|tcp| async move {
        let Ok(pending) = wsproto_tokio::read_request(tcp, wsproto::Config::default()).await else { return };
        let token = pending.request().headers().get_str("authorization").unwrap_or_default().to_owned();
        if token_is_valid(&token).await {
            if let Ok(ws) = pending.accept(Accept::new().header("X-Session", "7")).await {
                echo(ws).await;
            }
        } else {
            pending.reject(Reject::new(401).header("WWW-Authenticate", "Bearer").body("bad token\n")).await.unwrap();
        }
    });
    let url = format!("ws://127.0.0.1:{}/private", addr.port());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (ws, response) = wsproto_tokio::connect(request(&url, "Bearer good")).await.unwrap();
        assert_eq!(response.headers()["x-session"], "7");
        run_script(ws).await.check("tokio, accepted after an await");
        match wsproto_tokio::connect(request(&url, "Bearer bad")).await {
            Err(Error::Handshake(HandshakeError::Rejected { status, headers, body })) => {
                assert_eq!((status, headers.get_str("www-authenticate"), &body[..]), (401, Some("Bearer"), &b"bad token\n"[..]));
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn a_smol_server_accepts_or_rejects_after_an_await() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let listener = smol::net::TcpListener::try_from(listener).unwrap();
        smol::block_on(async {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                smol::spawn(async move {
                    let Ok(pending) = wsproto_smol::read_request(tcp, wsproto::Config::default()).await else { return };
                    let token = pending.request().headers().get_str("authorization").unwrap_or_default().to_owned();
                    smol::Timer::after(Duration::from_millis(20)).await;
                    if token == "Bearer good" {
                        if let Ok(ws) = pending.accept(Accept::new()).await {
                            echo(ws).await;
                        }
                    } else {
                        let _ = pending.reject(Reject::new(403)).await;
                    }
                })
                .detach();
            }
        })
    });
    let url = format!("ws://127.0.0.1:{}/", addr.port());
    smol::block_on(async {
        let (ws, _) = wsproto_smol::connect(request(&url, "Bearer good")).await.unwrap();
        run_script(ws).await.check("smol, accepted after an await");
        let err = wsproto_smol::connect(request(&url, "Bearer bad")).await.unwrap_err();
        assert!(matches!(err, Error::Handshake(HandshakeError::Rejected { status: 403, .. })), "{err}");
    });
}
