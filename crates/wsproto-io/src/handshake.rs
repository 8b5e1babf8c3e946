//! The opening handshake over a transport, for either role.

use crate::driver::Driver;
use crate::error::Result;
use crate::stream::WebSocketStream;
use crate::transport::{Runtime, Transport};
use std::fmt;
use std::future::poll_fn;
use wsproto::handshake::{Accept, Reject, Request};
use wsproto::{ClientRequest, Config, Connection, OsRandom};

/// Performs the client's opening handshake on a connected transport.
///
/// Returns the stream and the server's 101 response. A refusal is
/// [`Error::Handshake`](crate::Error::Handshake)`(`[`HandshakeError::Rejected`](wsproto::HandshakeError::Rejected)`)`,
/// with the status, headers and body. The configured handshake timeout applies.
pub async fn client<S: Transport, R: Runtime>(
    io: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S, R>, http::Response<()>)> {
    let conn = Connection::client(request, config, Box::new(OsRandom::new()), R::now())?;
    let mut driver = Driver::<S, R>::new(io, conn);
    let response = poll_fn(|cx| driver.poll_response(cx)).await?;
    Ok((WebSocketStream::from_driver(driver), response.to_http()))
}

/// Performs the server's opening handshake on an accepted transport.
///
/// `callback` sees the request and answers with an [`Accept`] (choosing a subprotocol, adding
/// headers) or a [`Reject`] (its own status, headers and body). Requests that are not valid
/// upgrades are refused with the right status (400, 403, 426, 431) before the callback runs. The
/// configured handshake timeout applies. To decide asynchronously, use [`read_request`].
pub async fn server<S, R, F>(io: S, buffered: &[u8], config: Config, callback: F) -> Result<WebSocketStream<S, R>>
where
    S: Transport,
    R: Runtime,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    let pending = read_request::<S, R>(io, buffered, config).await?;
    match callback(pending.request()) {
        Ok(accept) => pending.accept(accept).await,
        Err(reject) => {
            let status = reject.status();
            pending.reject(reject).await?;
            Err(wsproto::HandshakeError::RejectedByApplication(status).into())
        }
    }
}

/// Reads the client's opening request, for a server that decides asynchronously (a token looked
/// up in a database, say) whether to accept it.
///
/// `buffered` holds bytes already read from the transport (by a server that routes plain HTTP
/// and WebSocket on one port); they are handed to the connection first. Requests that are not
/// valid upgrades are refused with the right status (400, 403, 426, 431) and returned as the
/// error. The configured handshake timeout bounds the reading, not the decision.
pub async fn read_request<S: Transport, R: Runtime>(io: S, buffered: &[u8], config: Config) -> Result<PendingUpgrade<S, R>> {
    let mut conn = Connection::server(config, R::now());
    conn.receive(buffered);
    let mut driver = Driver::<S, R>::new(io, conn);
    let request = poll_fn(|cx| driver.poll_request(cx)).await?;
    Ok(PendingUpgrade { driver, request })
}

/// A valid opening request, waiting for the server's answer: [`accept`](PendingUpgrade::accept)
/// or [`reject`](PendingUpgrade::reject) it.
///
/// Dropping it drops the connection without an answer.
pub struct PendingUpgrade<S, R: Runtime> {
    driver: Driver<S, R>,
    request: Box<Request>,
}

impl<S: Transport, R: Runtime> PendingUpgrade<S, R> {
    /// The request: path, headers, origin, offered subprotocols and extensions.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Accepts: writes the 101 response (with the subprotocol and headers of `accept`, and
    /// permessage-deflate if the configuration and the client agree) and returns the stream.
    ///
    /// Not cancel safe: dropping the future drops the connection.
    pub async fn accept(mut self, accept: Accept) -> Result<WebSocketStream<S, R>> {
        self.driver.accept(accept)?;
        poll_fn(|cx| self.driver.poll_write_output(cx)).await?;
        Ok(WebSocketStream::from_driver(self.driver))
    }

    /// Rejects with the application's status, headers and body, and ends the transport.
    ///
    /// Not cancel safe: dropping the future drops the connection.
    pub async fn reject(mut self, reject: Reject) -> Result<()> {
        self.driver.reject(reject)?;
        poll_fn(|cx| self.driver.poll_rejected(cx)).await
    }
}

impl<S: Transport, R: Runtime> fmt::Debug for PendingUpgrade<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingUpgrade").field("request", &self.request).finish_non_exhaustive()
    }
}

/// The response a tungstenite-style header callback gets and returns: the request, and the 101
/// to accept with (add headers to it) or an error response to refuse with.
pub type HttpCallbackResult = std::result::Result<http::Response<()>, http::Response<Option<String>>>;

/// Runs a callback of tungstenite's shape (`FnOnce(&Request, Response) -> Result<Response,
/// ErrorResponse>`) on `request` and turns its answer into an [`Accept`] or a [`Reject`].
///
/// The callback gets the request as an `http::Request<()>` and the 101 that would accept it. If
/// it returns `Ok`, the headers it added are sent (a `Sec-WebSocket-Protocol` it set chooses the
/// subprotocol); the handshake's own headers are always written by the connection. If it
/// returns `Err`, that status, headers and body are sent instead.
pub fn answer_with_http_callback<F>(request: &Request, callback: F) -> std::result::Result<Accept, Reject>
where
    F: FnOnce(&http::Request<()>, http::Response<()>) -> HttpCallbackResult,
{
    use http::header;
    let answer = callback(&request.to_http(), request.upgrade_response(None, None));
    match answer {
        Ok(response) => {
            let mut accept = Accept::new();
            for (name, value) in response.headers() {
                let Ok(value) = value.to_str() else { continue };
                match *name {
                    header::SEC_WEBSOCKET_PROTOCOL => accept = accept.subprotocol(value),
                    header::UPGRADE | header::CONNECTION | header::SEC_WEBSOCKET_ACCEPT | header::SEC_WEBSOCKET_EXTENSIONS => {}
                    _ => accept = accept.header(name.as_str(), value),
                }
            }
            Ok(accept)
        }
        Err(response) => {
            let mut reject = Reject::new(response.status().as_u16());
            for (name, value) in response.headers() {
                if let Ok(value) = value.to_str() {
                    reject = reject.header(name.as_str(), value);
                }
            }
            Err(reject.body(response.into_body().unwrap_or_default()))
        }
    }
}
