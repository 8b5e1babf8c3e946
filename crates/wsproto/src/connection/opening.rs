//! The opening handshake, as states of the connection.
//!
//! Everything the handshake needs (the full configuration, the key, the offers) lives in one
//! boxed [`Handshake`] that is dropped when the connection opens, so an open connection carries
//! only its limits and timers.

use super::{Connection, Role, State};
use crate::config::Config;
use crate::error::{ConnectionError, HandshakeError, LocalError};
use crate::event::Event;
use crate::extension::Extension;
use crate::handshake::{
    Accept, ClientRequest, ExtensionOffer, HeadLimits, HeadReader, HeadStatus, Headers, ParsedResponse, Reject, bad_request_response,
    new_key, parse_request, parse_response, write_accept, write_reject, write_request,
};
use crate::rng::Random;
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

#[derive(Debug)]
pub(super) struct Handshake {
    head: HeadReader,
    config: Config,
    side: Side,
}

#[derive(Debug)]
enum Side {
    Client { request: ClientRequest, key: String, rejection: Option<Rejection> },
    Server { offer: Option<Offer> },
}

/// A non-101 response whose body is still arriving.
#[derive(Debug)]
struct Rejection {
    status: u16,
    headers: Headers,
    body_len: Option<usize>,
}

/// What `accept` needs from the request.
#[derive(Debug)]
struct Offer {
    key: String,
    subprotocols: Vec<String>,
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    extensions: Vec<ExtensionOffer>,
}

impl Connection {
    /// A client connection. The opening request is queued in the output at once.
    ///
    /// `rng` supplies the handshake nonce and every mask key; under `std`,
    /// [`OsRandom`](crate::OsRandom) is the right choice. `now` starts the handshake timeout.
    pub fn client(request: &ClientRequest, config: Config, mut rng: Box<dyn Random>, now: Instant) -> Result<Connection, LocalError> {
        let key = new_key(&mut *rng);
        #[cfg(feature = "deflate")]
        let offer = config.deflate.as_ref().map(crate::deflate::client_offer);
        #[cfg(not(feature = "deflate"))]
        let offer: Option<String> = None;
        let bytes = write_request(request, &key, offer.as_deref())?;
        let mut conn = Connection::new(Role::Client, State::AwaitingResponse, &config, now);
        conn.output.push_raw(&bytes);
        conn.rng = Some(rng);
        conn.timers.handshake = conn.timers.after(config.handshake_timeout);
        conn.handshake = Some(Box::new(Handshake {
            head: HeadReader::default(),
            config,
            side: Side::Client { request: request.clone(), key, rejection: None },
        }));
        Ok(conn)
    }

    /// A server connection, waiting for the opening request. `now` starts the handshake timeout.
    pub fn server(config: Config, now: Instant) -> Connection {
        let mut conn = Connection::new(Role::Server, State::AwaitingRequest, &config, now);
        conn.timers.handshake = conn.timers.after(config.handshake_timeout);
        conn.handshake = Some(Box::new(Handshake { head: HeadReader::default(), config, side: Side::Server { offer: None } }));
        conn
    }

    /// Server: accepts the request from [`Event::Request`], queuing the 101 response.
    ///
    /// permessage-deflate is negotiated from the configuration (or from [`Accept::deflate`]).
    /// Messages can be sent at once; bytes that followed the request are read next.
    pub fn accept(&mut self, accept: Accept) -> Result<(), LocalError> {
        if self.state != State::RequestPending {
            return Err(LocalError::NoRequestPending);
        }
        let hs = self.handshake.as_ref().expect("a pending request has its handshake");
        let Side::Server { offer: Some(offer) } = &hs.side else {
            return Err(LocalError::NoRequestPending);
        };
        let (ext_header, extension) = negotiate(&accept, &hs.config, &offer.subprotocols, &offer.extensions)?;
        let bytes = write_accept(&offer.key, accept.subprotocol.as_deref(), ext_header.as_deref(), &accept.headers)?;
        self.output.push_raw(&bytes);
        self.subprotocol = accept.subprotocol;
        self.extension = extension;
        self.state = State::Open;
        self.on_open();
        Ok(())
    }

    /// Server: accepts a request that another HTTP stack (hyper, axum) parsed, with
    /// [`Request::from_http`](crate::handshake::Request::from_http) or
    /// [`from_http2`](crate::handshake::Request::from_http2), and returns the response for that
    /// stack to send (`101` over HTTP/1.1, `200` over HTTP/2) with the open connection to run on
    /// the upgraded stream.
    ///
    /// The subprotocol and permessage-deflate are settled as in [`accept`](Connection::accept),
    /// from the same `config` that then runs the connection. The `Origin` is the caller's to
    /// check first, with [`Request::check_origin_for`](crate::handshake::Request::check_origin_for).
    ///
    /// ```
    /// use wsproto::handshake::{Accept, Request};
    /// use wsproto::{Config, Connection, Instant};
    ///
    /// let req = http::Request::get("/chat")
    ///     .header("host", "example.com")
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "Upgrade")
    ///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("sec-websocket-version", "13")
    ///     .header("sec-websocket-extensions", "permessage-deflate")
    ///     .body(())
    ///     .unwrap();
    /// let request = Request::from_http(&req).unwrap();
    /// let config = Config::default().with_deflate();
    /// let (response, conn) = Connection::accept_http(&request, Accept::new(), config, Instant::ZERO).unwrap();
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// assert_eq!(response.headers()["sec-websocket-extensions"], "permessage-deflate");
    /// assert!(conn.extension().is_some());
    /// ```
    #[cfg(feature = "http")]
    pub fn accept_http(
        request: &crate::handshake::Request,
        accept: Accept,
        config: Config,
        now: Instant,
    ) -> Result<(http::Response<()>, Connection), LocalError> {
        let (ext_header, extension) = negotiate(&accept, &config, request.subprotocols(), request.extensions())?;
        let mut response = request.upgrade_response(accept.subprotocol.as_deref(), ext_header.as_deref());
        for (name, value) in &accept.headers {
            let invalid = || LocalError::InvalidHeader(name.clone());
            let header = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let value = http::HeaderValue::from_str(value).map_err(|_| invalid())?;
            response.headers_mut().append(header, value);
        }
        let mut conn = Connection::upgraded_server(config, extension, now);
        conn.subprotocol = accept.subprotocol;
        Ok((response, conn))
    }

    /// Server: refuses the request from [`Event::Request`] with the application's own status,
    /// headers and body. The connection then closes.
    pub fn reject(&mut self, reject: Reject) -> Result<(), LocalError> {
        if self.state != State::RequestPending {
            return Err(LocalError::NoRequestPending);
        }
        let bytes = write_reject(&reject)?;
        self.output.push_raw(&bytes);
        self.finish(false, Some(ConnectionError::Handshake(HandshakeError::RejectedByApplication(reject.status))));
        Ok(())
    }

    /// Server: reads the request head.
    pub(super) fn poll_request(&mut self) -> Option<Event> {
        let hs = self.handshake.as_mut().expect("a connecting server has its handshake");
        let limits = HeadLimits::from_config(&hs.config);
        let end = match hs.head.scan(&self.input, &limits) {
            HeadStatus::Partial if self.eof => return self.handshake_failed(HandshakeError::UnexpectedEof),
            HeadStatus::Partial => return None,
            HeadStatus::TooLarge(reason) => return self.handshake_failed(HandshakeError::BadRequest { status: 431, reason }),
            HeadStatus::NotHttp => return self.handshake_failed(HandshakeError::BadRequest { status: 400, reason: "not an HTTP request" }),
            HeadStatus::Complete(end) => end,
        };
        let request = match parse_request(&self.input[..end], limits.headers) {
            Ok(r) => r,
            Err(e) => return self.handshake_failed(e),
        };
        if let Err(e) = request.check_origin(&hs.config.allowed_origins, hs.config.require_origin) {
            return self.handshake_failed(e);
        }
        // Bytes after the head are the client's first frames: they stay in the input.
        bytes::Buf::advance(&mut self.input, end);
        hs.side = Side::Server {
            offer: Some(Offer {
                key: request.key().into(),
                subprotocols: request.subprotocols().to_vec(),
                extensions: request.extensions().to_vec(),
            }),
        };
        self.state = State::RequestPending;
        Some(Event::Request(Box::new(request)))
    }

    /// Client: reads the response head, and the body of a refusal.
    pub(super) fn poll_response(&mut self) -> Option<Event> {
        if self.state == State::ReadingRejection {
            return self.poll_rejection_body(false);
        }
        let hs = self.handshake.as_mut().expect("a connecting client has its handshake");
        let limits = HeadLimits::from_config(&hs.config);
        let end = match hs.head.scan(&self.input, &limits) {
            HeadStatus::Partial if self.eof => return self.handshake_failed(HandshakeError::UnexpectedEof),
            HeadStatus::Partial => return None,
            HeadStatus::TooLarge(_) => return self.handshake_failed(HandshakeError::BadResponse("response head too large")),
            HeadStatus::NotHttp => return self.handshake_failed(HandshakeError::BadResponse("not an HTTP response")),
            HeadStatus::Complete(end) => end,
        };
        let Side::Client { request, key, rejection } = &mut hs.side else { unreachable!("client handshake") };
        let parsed = match parse_response(&self.input[..end], key, request, limits.headers) {
            Ok(p) => p,
            Err(e) => return self.handshake_failed(e),
        };
        bytes::Buf::advance(&mut self.input, end);
        match parsed {
            ParsedResponse::Other { status, headers, body_len } => {
                *rejection = Some(Rejection { status, headers, body_len });
                self.state = State::ReadingRejection;
                self.poll_rejection_body(false)
            }
            ParsedResponse::Upgrade(response) => {
                #[cfg(feature = "deflate")]
                let negotiated = crate::deflate::negotiate_client(hs.config.deflate.as_ref(), response.extensions())
                    .map(|ext| ext.map(|e| Box::new(e) as Box<dyn Extension>));
                #[cfg(not(feature = "deflate"))]
                let negotiated: Result<Option<Box<dyn Extension>>, HandshakeError> = match response.extensions().first() {
                    Some(e) => Err(HandshakeError::UnexpectedExtension(alloc::string::ToString::to_string(e))),
                    None => Ok(None),
                };
                match negotiated {
                    Ok(ext) => self.extension = ext,
                    Err(e) => return self.handshake_failed(e),
                }
                self.subprotocol = response.subprotocol().map(String::from);
                self.state = State::Open;
                self.on_open();
                Some(Event::Connected(Box::new(response)))
            }
        }
    }

    /// Client: collects a refusal's body, up to its length, end of file or the size limit.
    fn poll_rejection_body(&mut self, timed_out: bool) -> Option<Event> {
        let hs = self.handshake.as_mut().expect("a connecting client has its handshake");
        let cap = hs.config.max_handshake_size;
        let Side::Client { rejection: Some(r), .. } = &mut hs.side else { unreachable!("reading a rejection") };
        let want = r.body_len.unwrap_or(usize::MAX).min(cap);
        if self.input.len() < want && !self.eof && !timed_out {
            return None;
        }
        let body = self.input[..self.input.len().min(want)].to_vec();
        let err = HandshakeError::Rejected { status: r.status, headers: core::mem::take(&mut r.headers), body };
        self.handshake_failed(err)
    }

    pub(super) fn handshake_timed_out(&mut self) {
        self.pending_event = if self.state == State::ReadingRejection {
            self.poll_rejection_body(true)
        } else {
            self.handshake_failed(HandshakeError::Timeout)
        };
    }

    /// Ends a failed handshake. A server answers with the status the failure calls for.
    fn handshake_failed(&mut self, err: HandshakeError) -> Option<Event> {
        if self.role == Role::Server && self.state == State::AwaitingRequest {
            if let Some(response) = bad_request_response(&err) {
                self.output.push_raw(&response);
            }
        }
        self.finish(false, Some(ConnectionError::Handshake(err)));
        self.pending_event.take()
    }
}

/// The `Sec-WebSocket-Extensions` answer and the extension it agrees to.
type Negotiated = (Option<String>, Option<Box<dyn Extension>>);

/// Settles what an accepted request gets: the subprotocol (which the client must have offered)
/// and permessage-deflate, from [`Accept::deflate`] or else the configuration.
#[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
fn negotiate(accept: &Accept, config: &Config, subprotocols: &[String], offers: &[ExtensionOffer]) -> Result<Negotiated, LocalError> {
    if let Some(p) = &accept.subprotocol {
        if !subprotocols.contains(p) {
            return Err(LocalError::SubprotocolNotOffered(p.clone()));
        }
    }
    #[cfg(feature = "deflate")]
    {
        let cfg = accept.deflate.as_ref().unwrap_or(&config.deflate);
        Ok(match cfg.as_ref().and_then(|c| crate::deflate::negotiate_server(c, offers)) {
            Some((header, ext)) => (Some(header), Some(Box::new(ext) as Box<dyn Extension>)),
            None => (None, None),
        })
    }
    #[cfg(not(feature = "deflate"))]
    Ok((None, None))
}
