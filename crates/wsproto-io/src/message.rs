//! What the core's events mean to a stream of messages; shared by the async driver and the
//! blocking adapter.

use wsproto::{CloseCode, Closed, Event, Message};

/// What an event means for a stream of messages.
#[derive(Debug)]
pub enum Converted {
    /// A message for the application.
    Message(Message),
    /// The end of the connection.
    Closed(Closed),
    /// Nothing for the stream (handshake events).
    Nothing,
}

/// Converts an event for a stream of messages. A close frame without a status code becomes
/// `Message::Close(None)`, as in tungstenite.
pub fn to_message(event: Event) -> Converted {
    Converted::Message(match event {
        Event::Text(t) => Message::Text(t),
        Event::Binary(b) => Message::Binary(b),
        Event::Ping(p) => Message::Ping(p),
        Event::Pong(p) => Message::Pong(p),
        Event::Fragment { kind, payload, first, last } => Message::Fragment { kind, payload, first, last },
        Event::CloseReceived(frame) if frame.code == CloseCode::NO_STATUS => Message::Close(None),
        Event::CloseReceived(frame) => Message::Close(Some(frame)),
        Event::Closed(closed) => return Converted::Closed(*closed),
        _ => return Converted::Nothing,
    })
}
