//! WebSocket over an HTTP/2 connection that hyper's client opened (RFC 8441).

use hyper::client::conn::http2::SendRequest;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo as HyperIo;
use std::io;
use wsproto_io::{Error, Runtime};
use wsproto_tokio::wsproto::handshake::parse_extensions;
use wsproto_tokio::wsproto::{Config, Connection, Extension, HandshakeError, Role};

use crate::{WebSocketStream, http};

/// Opens a WebSocket as one stream of an HTTP/2 connection: an extended `CONNECT` with
/// `:protocol` `websocket`, answered with `200` (RFC 8441 §4 and §5).
///
/// `request` gives the URI (its path is the target) and any headers to send
/// (`Sec-WebSocket-Protocol`, `Origin`, cookies); the method, the version and the handshake's
/// own headers are set here, and permessage-deflate is offered from `config` and negotiated from
/// the response as over HTTP/1.1. Every WebSocket opened through clones of one `sender` shares
/// its connection, and each closes on its own.
///
/// The server must have advertised `SETTINGS_ENABLE_CONNECT_PROTOCOL`; if it did not, hyper
/// refuses to send the request and this returns an I/O error that says so. A status other than
/// 200 is [`HandshakeError::Rejected`].
///
/// Cancel safety: dropping the future before it completes resets the stream.
pub async fn connect_http2<B>(
    sender: &mut SendRequest<B>,
    request: http::Request<()>,
    config: Config,
) -> Result<(WebSocketStream, http::Response<()>), Error>
where
    B: hyper::body::Body + Default + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (conn, upgraded, head) = connect_http2_parts(sender, request, config).await?;
    let stream = wsproto_io::WebSocketStream::from_parts(wsproto_tokio::TokioIo::new(HyperIo::new(upgraded)), conn);
    Ok((stream, head))
}

/// [`connect_http2`], before the connection and the stream are put together.
pub(crate) async fn connect_http2_parts<B>(
    sender: &mut SendRequest<B>,
    request: http::Request<()>,
    config: Config,
) -> Result<(Connection, Upgraded, http::Response<()>), Error>
where
    B: hyper::body::Body + Default + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut parts, ()) = request.into_parts();
    parts.method = http::Method::CONNECT;
    parts.version = http::Version::HTTP_2;
    let headers = &mut parts.headers;
    for name in [http::header::SEC_WEBSOCKET_KEY, http::header::UPGRADE, http::header::CONNECTION, http::header::HOST] {
        headers.remove(name);
    }
    headers.insert(http::header::SEC_WEBSOCKET_VERSION, http::HeaderValue::from_static("13"));
    headers.remove(http::header::SEC_WEBSOCKET_EXTENSIONS);
    if let Some(offer) = config.deflate.as_ref().map(wsproto_tokio::wsproto::deflate::client_offer) {
        // The offer is made of ASCII tokens and numbers, always a valid header value.
        if let Ok(value) = http::HeaderValue::from_str(&offer) {
            headers.insert(http::header::SEC_WEBSOCKET_EXTENSIONS, value);
        }
    }
    parts.extensions.insert(hyper::ext::Protocol::from_static("websocket"));
    let sent_protocols: Vec<String> = parts
        .headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .collect();
    let req = http::Request::from_parts(parts, B::default());

    sender.ready().await.map_err(hyper_error)?;
    let mut response = sender.send_request(req).await.map_err(hyper_error)?;
    if response.status() != http::StatusCode::OK {
        let status = response.status().as_u16();
        let headers = wsproto_tokio::wsproto::handshake::Headers::from(response.headers());
        return Err(Error::Handshake(HandshakeError::Rejected { status, headers, body: Vec::new() }));
    }
    let offers = parse_extensions(response.headers().get_all(http::header::SEC_WEBSOCKET_EXTENSIONS).iter().map(|v| v.as_bytes()))
        .map_err(|_| HandshakeError::BadResponse("malformed Sec-WebSocket-Extensions"))?;
    let extension =
        wsproto_tokio::wsproto::deflate::negotiate_client(config.deflate.as_ref(), &offers)?.map(|e| Box::new(e) as Box<dyn Extension>);
    let head = {
        let mut head = http::Response::new(());
        *head.status_mut() = response.status();
        *head.headers_mut() = response.headers().clone();
        *head.version_mut() = response.version();
        head
    };
    let upgraded = hyper::upgrade::on(&mut response).await.map_err(hyper_error)?;
    let subprotocol = response.headers().get(http::header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(p) = &subprotocol {
        let offered = head_offers_protocol(&sent_protocols, p);
        if !offered {
            return Err(Error::Handshake(HandshakeError::BadResponse("the server chose a subprotocol that was not offered")));
        }
    }
    let conn = wsproto_io::upgraded_connection(Role::Client, config, extension, <wsproto_tokio::Tokio as Runtime>::now())
        .with_subprotocol(subprotocol);
    Ok((conn, upgraded, head))
}

fn hyper_error(e: hyper::Error) -> Error {
    Error::Io(io::Error::other(e))
}

/// Whether `chosen` is one of the subprotocols the request offered (RFC 6455 §4.1: a client
/// fails the connection otherwise).
fn head_offers_protocol(offered: &[String], chosen: &str) -> bool {
    offered.iter().any(|p| p == chosen.trim())
}
