//! A client core and a server core talking through plain byte buffers: the whole protocol,
//! handshake to close, with permessage-deflate, and no I/O at all.
//!
//! Run it with `cargo run -p wsproto --example in_memory`.

use wsproto::handshake::Accept;
use wsproto::{ClientRequest, CloseCode, Config, Connection, Event, Instant, OsRandom};

/// Moves everything one side has written to the other side, and returns what that side saw.
fn transfer(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    let mut wire = Vec::new();
    from.drain_output_into(&mut wire);
    if !wire.is_empty() {
        println!("  {} bytes on the wire", wire.len());
    }
    to.receive(&wire);
    let mut events = Vec::new();
    while let Some(event) = to.poll_event() {
        events.push(event);
    }
    events
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::default().with_deflate();
    let request = ClientRequest::from_url("ws://example.com/chat")?.subprotocol("chat.v1");
    let mut client = Connection::client(&request, config.clone(), Box::new(OsRandom::new()), Instant::now())?;
    let mut server = Connection::server(config, Instant::now());

    println!("client -> server: opening handshake");
    for event in transfer(&mut client, &mut server) {
        if let Event::Request(req) = event {
            println!("  server sees GET {} offering {:?}", req.target(), req.subprotocols());
            let protocol = req.choose_subprotocol(&["chat.v1"]).map(String::from);
            let mut accept = Accept::new();
            if let Some(p) = protocol {
                accept = accept.subprotocol(p);
            }
            server.accept(accept)?;
        }
    }
    println!("server -> client: 101 Switching Protocols");
    for event in transfer(&mut server, &mut client) {
        if let Event::Connected(resp) = event {
            println!("  client connected: subprotocol {:?}, extensions {:?}", resp.subprotocol(), resp.extensions());
        }
    }

    let message = r#"{"user":"ada","text":"hello, hello, hello, world"}"#.repeat(4);
    println!("client -> server: a {}-byte JSON message", message.len());
    client.send_text(&message)?;
    for event in transfer(&mut client, &mut server) {
        if let Event::Text(text) = event {
            println!("  server received {} bytes of text; echoing", text.len());
            server.send_text(&text)?;
        }
    }
    println!("server -> client: the echo");
    for event in transfer(&mut server, &mut client) {
        if let Event::Text(text) = event {
            assert_eq!(text.as_str(), message);
            println!("  client received the echo intact");
        }
    }

    println!("client -> server: close 1000");
    client.close(CloseCode::NORMAL, "bye")?;
    for event in transfer(&mut client, &mut server) {
        println!("  server: {event:?}");
    }
    println!("server -> client: the close reply; the server now ends the transport");
    for event in transfer(&mut server, &mut client) {
        println!("  client: {event:?}");
    }
    client.receive_eof();
    while let Some(event) = client.poll_event() {
        println!("  client: {event:?}");
    }
    assert!(client.is_closed() && server.is_closed());
    Ok(())
}
