//! The opening handshake over a transport, for either role.

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::stream::{WebSocketStream, from_driver};
use crate::transport::{Runtime, Transport};
use std::future::poll_fn;
use wsproto::handshake::{Accept, Reject, Request};
use wsproto::{ClientRequest, Config, Connection, Event, OsRandom};

/// Performs the client's opening handshake on a connected transport.
///
/// Returns the stream and the server's 101 response. A refusal is
/// [`Error::Handshake`]`(`[`HandshakeError::Rejected`](wsproto::HandshakeError::Rejected)`)`, with
/// the status, headers and body. The configured handshake timeout applies.
pub async fn client<S: Transport, R: Runtime>(
    io: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S, R>, http::Response<()>)> {
    let conn = Connection::client(request, config, Box::new(OsRandom::new()), R::now())?;
    let mut driver = Driver::<S, R>::new(io, conn);
    loop {
        match poll_fn(|cx| driver.poll_event(cx)).await? {
            Event::Connected(response) => return Ok((from_driver(driver), response.to_http())),
            Event::Closed(closed) => return Err(fail(driver, *closed).await),
            _ => {}
        }
    }
}

/// Performs the server's opening handshake on an accepted transport.
///
/// `callback` sees the request and answers with an [`Accept`] (choosing a subprotocol, adding
/// headers) or a [`Reject`] (its own status, headers and body). Requests that are not valid
/// upgrades are refused with the right status (400, 403, 426, 431) before the callback runs. The
/// configured handshake timeout applies.
pub async fn server<S, R, F>(io: S, config: Config, callback: F) -> Result<WebSocketStream<S, R>>
where
    S: Transport,
    R: Runtime,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    server_buffered(io, &[], config, callback).await
}

/// Like [`server`], for a server that already read the start of the request from the transport
/// (to route plain HTTP and WebSocket on one port, say): `buffered` is handed to the connection
/// before anything more is read.
pub async fn server_buffered<S, R, F>(io: S, buffered: &[u8], config: Config, callback: F) -> Result<WebSocketStream<S, R>>
where
    S: Transport,
    R: Runtime,
    F: FnOnce(&Request) -> std::result::Result<Accept, Reject>,
{
    let mut conn = Connection::server(config, R::now());
    conn.receive(buffered);
    let mut driver = Driver::<S, R>::new(io, conn);
    let mut callback = Some(callback);
    loop {
        match poll_fn(|cx| driver.poll_event(cx)).await? {
            Event::Request(request) => match callback.take().map(|f| f(&request)) {
                Some(Ok(accept)) => {
                    driver.conn.accept(accept)?;
                    poll_fn(|cx| driver.poll_write_output(cx)).await?;
                    return Ok(from_driver(driver));
                }
                // The refusal is queued; the core reports `Closed` next.
                Some(Err(reject)) => driver.conn.reject(reject)?,
                None => {}
            },
            Event::Closed(closed) => return Err(fail(driver, *closed).await),
            _ => {}
        }
    }
}

/// Sends whatever the core queued (an HTTP error response), ends the transport, and returns the
/// handshake's error.
async fn fail<S: Transport, R: Runtime>(mut driver: Driver<S, R>, closed: wsproto::Closed) -> Error {
    driver.begin_finish(closed);
    match poll_fn(|cx| driver.poll_finish(cx)).await {
        Err(e) => e,
        Ok(()) => Error::AlreadyClosed,
    }
}
