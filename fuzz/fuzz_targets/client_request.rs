//! The client's URL parser and request builder fed arbitrary URLs, headers, subprotocols and
//! origins: never panics, and whatever it accepts becomes a request that parses back as exactly
//! what was asked for, so no input can smuggle a header or a second request onto the wire.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::handshake::ClientRequest;
use wsproto::{Config, Connection, Instant, SeededRandom};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    url: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    subprotocols: Vec<&'a str>,
    origin: Option<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    let Ok(mut request) = ClientRequest::from_url(input.url) else { return };
    // An accepted URL round-trips through its parts.
    let again = ClientRequest::new(request.host(), request.port(), request.target(), request.is_secure());
    assert_eq!(again.authority(), request.authority());
    for (name, value) in &input.headers {
        request = request.header(*name, *value);
    }
    for p in &input.subprotocols {
        request = request.subprotocol(*p);
    }
    if let Some(o) = input.origin {
        request = request.origin(o);
    }
    let Ok(mut conn) = Connection::client(&request, Config::default(), Box::new(SeededRandom::new(1)), Instant::ZERO) else { return };
    let mut bytes = Vec::new();
    conn.drain_output_into(&mut bytes);

    // Room for every header sent: the handshake's own (at most 7) and the caller's.
    let mut headers = vec![httparse::EMPTY_HEADER; request.headers().len() + 8];
    let mut parsed = httparse::Request::new(&mut headers);
    let end = match parsed.parse(&bytes) {
        Ok(httparse::Status::Complete(end)) => end,
        other => panic!("the request does not parse ({other:?}): {:?}", String::from_utf8_lossy(&bytes)),
    };
    assert_eq!(end, bytes.len(), "one request and nothing after it");
    assert_eq!(parsed.method, Some("GET"));
    assert_eq!(parsed.path, Some(request.target()));
    let names: Vec<&str> = parsed.headers.iter().map(|h| h.name).collect();
    // The handshake's own headers once each, then exactly the caller's headers.
    let own = if request.headers().iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) { 0 } else { 1 };
    let expected = own + 4 + usize::from(!request.subprotocols().is_empty()) + usize::from(input.origin.is_some()) + request.headers().len();
    assert_eq!(names.len(), expected, "{names:?}");
    for (name, value) in request.headers() {
        // Whitespace around a value is not part of it (RFC 9110 §5.5).
        let value = value.trim_matches([' ', '\t']).as_bytes();
        assert!(parsed.headers.iter().any(|h| h.name == name && h.value.trim_ascii() == value), "{name}: {value:?}");
    }
});
