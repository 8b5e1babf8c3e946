//! What a connection reports: owned events, and the message type the adapters share.

use crate::close::{CloseCode, CloseFrame};
use crate::error::ConnectionError;
use crate::handshake::{Request, Response};
use crate::utf8::{InvalidUtf8, Utf8Bytes};
use alloc::boxed::Box;
use bytes::Bytes;

/// Text or binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// Something that happened on a connection, returned by
/// [`Connection::poll_event`](crate::Connection::poll_event).
///
/// Events own their data: payloads are [`Bytes`] split off the input buffer without a copy. The
/// variants that happen once per connection are boxed, which keeps the event small (48 bytes) for
/// the messages that happen millions of times.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: a valid upgrade request arrived. Answer it with
    /// [`Connection::accept`](crate::Connection::accept) or
    /// [`Connection::reject`](crate::Connection::reject).
    Request(Box<Request>),
    /// Client: the server accepted the upgrade; the connection is open.
    Connected(Box<Response>),
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// One frame of a data message, when [`Config::stream_fragments`](crate::Config::stream_fragments)
    /// is on. For text, the concatenation of a message's fragments is valid UTF-8 (checked as they
    /// arrive), but one fragment may end inside a code point.
    Fragment {
        /// Text or binary, the same for every fragment of a message.
        kind: MessageKind,
        /// This fragment's payload (decompressed, if the message was compressed).
        payload: Bytes,
        /// Whether this is the message's first fragment.
        first: bool,
        /// Whether this is the message's last fragment.
        last: bool,
    },
    /// A ping. Unless [`Config::auto_pong`](crate::Config::auto_pong) is off, the pong is already
    /// queued.
    Ping(Bytes),
    /// A pong. Pongs that answer the connection's own keepalive pings are not reported.
    Pong(Bytes),
    /// The peer sent a close frame. An empty close frame is reported with code 1005. Unless
    /// [`Config::auto_close`](crate::Config::auto_close) is off, the reply is already queued.
    CloseReceived(CloseFrame),
    /// The connection is over; no more events follow. Write out any pending output, then close the
    /// transport.
    Closed(Box<Closed>),
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The close frame this side sent, if any.
    pub sent: Option<CloseFrame>,
    /// The close frame the peer sent, if any (code 1005 if it was empty).
    pub received: Option<CloseFrame>,
    /// Whether the closing handshake completed: both close frames were exchanged.
    pub clean: bool,
    /// Why the connection ended abnormally, if it did.
    pub error: Option<ConnectionError>,
}

impl Closed {
    /// The connection close code of RFC 6455 §7.1.5: the code of the close frame received, 1005 if
    /// it had none, or 1006 if none was received.
    pub fn code(&self) -> CloseCode {
        self.received.as_ref().map_or(CloseCode::ABNORMAL, |f| f.code)
    }

    /// Whether the connection ended because the peer stopped responding: a handshake, keepalive
    /// or close timeout. A driver then has no reason to wait for the peer's end of file.
    pub fn timed_out(&self) -> bool {
        use crate::error::HandshakeError;
        matches!(
            self.error,
            Some(ConnectionError::KeepaliveTimeout | ConnectionError::CloseTimeout | ConnectionError::Handshake(HandshakeError::Timeout))
        )
    }

    /// The reason of the close frame received, or an empty string.
    pub fn reason(&self) -> &str {
        self.received.as_ref().map_or("", |f| f.reason.as_str())
    }
}

/// A WebSocket message, as the adapters send and receive it.
///
/// The shape follows tungstenite's `Message`, so that code written for it reads the same.
///
/// A received payload is a `Bytes` that shares the buffer the connection read it into: no copy
/// is made. While any message from a buffer is alive, the whole buffer stays allocated, and it can
/// be much larger than the message (it held everything one read brought in). To keep many small
/// messages for a long time, copy them out (`Bytes::copy_from_slice`) and drop the originals.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping. Received pings are answered automatically.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame; `None` is an empty one.
    Close(Option<CloseFrame>),
    /// One fragment of a data message. Received only when
    /// [`Config::stream_fragments`](crate::Config::stream_fragments) is on; sent with
    /// [`Connection::send_fragment`](crate::Connection::send_fragment) (`first` is then ignored: the
    /// connection knows where messages start).
    Fragment {
        /// Text or binary.
        kind: MessageKind,
        /// The fragment's payload.
        payload: Bytes,
        /// Whether this fragment starts a message.
        first: bool,
        /// Whether this fragment ends the message.
        last: bool,
    },
}

impl Message {
    /// A text message. Takes a `String`, a `&str` (copied) or a [`Utf8Bytes`].
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message. Takes a `Vec<u8>`, a [`Bytes`], a `&'static [u8]` and the like.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a ping.
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a pong.
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// Whether this is a close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// Whether this is one fragment of a data message.
    pub fn is_fragment(&self) -> bool {
        matches!(self, Message::Fragment { .. })
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// The payload's length in bytes (for a close frame, the reason's).
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload bytes (for a close frame, the reason).
    pub fn payload(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(None) => &[],
            Message::Close(Some(f)) => f.reason.as_bytes(),
            Message::Fragment { payload, .. } => payload,
        }
    }

    /// The payload as [`Bytes`] (for a close frame, the reason), without a copy.
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(None) => Bytes::new(),
            Message::Close(Some(f)) => f.reason.into_bytes(),
            Message::Fragment { payload, .. } => payload,
        }
    }

    /// The payload as text, checking that it is UTF-8 unless it is known to be (text messages and
    /// close reasons), without a copy.
    pub fn into_text(self) -> Result<Utf8Bytes, InvalidUtf8> {
        match self {
            Message::Text(t) => Ok(t),
            Message::Close(Some(f)) => Ok(f.reason),
            other => Utf8Bytes::try_from(other.into_data()),
        }
    }

    /// The payload as `&str`, checking that it is UTF-8 unless it is known to be.
    pub fn to_text(&self) -> Result<&str, InvalidUtf8> {
        match self {
            Message::Text(t) => Ok(t.as_str()),
            Message::Close(Some(f)) => Ok(f.reason.as_str()),
            other => core::str::from_utf8(other.payload()).map_err(|_| InvalidUtf8),
        }
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// The events that a stream of messages carries become messages: text, binary, pings, pongs,
/// fragments, and the peer's close frame (an empty one becomes `Message::Close(None)`). Every other
/// event ([`Event::Closed`], the handshake's) is handed back as the error.
impl TryFrom<Event> for Message {
    type Error = Event;

    #[inline]
    fn try_from(event: Event) -> Result<Message, Event> {
        Ok(match event {
            Event::Text(t) => Message::Text(t),
            Event::Binary(b) => Message::Binary(b),
            Event::Ping(p) => Message::Ping(p),
            Event::Pong(p) => Message::Pong(p),
            Event::Fragment { kind, payload, first, last } => Message::Fragment { kind, payload, first, last },
            Event::CloseReceived(frame) if frame.code == CloseCode::NO_STATUS => Message::Close(None),
            Event::CloseReceived(frame) => Message::Close(Some(frame)),
            other => return Err(other),
        })
    }
}

impl From<Utf8Bytes> for Message {
    fn from(t: Utf8Bytes) -> Message {
        Message::Text(t)
    }
}

impl From<alloc::string::String> for Message {
    fn from(s: alloc::string::String) -> Message {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::Text(s.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Message {
        Message::Binary(b)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(v: alloc::vec::Vec<u8>) -> Message {
        Message::Binary(v.into())
    }
}

impl From<&[u8]> for Message {
    fn from(b: &[u8]) -> Message {
        Message::Binary(Bytes::copy_from_slice(b))
    }
}

// The event is moved on every message; keep it small.
const _: () = assert!(core::mem::size_of::<Event>() <= 48);

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn messages_answer_what_tungstenite_users_ask() {
        let borrowed = String::from("héllo");
        let text = Message::text(borrowed.as_str());
        assert!(text.is_text() && text.is_data() && !text.is_binary() && !text.is_close());
        assert_eq!((text.len(), text.to_text()), (6, Ok("héllo")));
        assert_eq!(text.clone().into_text().unwrap(), "héllo");
        assert_eq!(text.into_data(), Bytes::from_static("héllo".as_bytes()));

        let binary = Message::binary(vec![0xff, 0x00]);
        assert!(binary.is_binary() && !binary.is_empty());
        assert_eq!((binary.to_text(), binary.clone().into_text()), (Err(InvalidUtf8), Err(InvalidUtf8)));
        assert_eq!(Message::binary(&b"ok"[..]).into_text().unwrap(), "ok");

        let close = Message::Close(Some(CloseFrame::new(CloseCode::NORMAL, "bye")));
        assert!(close.is_close());
        assert_eq!((close.len(), close.to_text()), (3, Ok("bye")));
        assert!(Message::Close(None).is_empty());
        assert!(Message::Ping(Bytes::new()).is_ping() && Message::Pong(Bytes::new()).is_pong());
    }

    #[test]
    fn events_convert_to_messages_and_the_rest_come_back() {
        assert_eq!(Message::try_from(Event::Text("hi".into())), Ok(Message::text("hi")));
        assert_eq!(Message::try_from(Event::CloseReceived(CloseFrame::new(CloseCode::NO_STATUS, ""))), Ok(Message::Close(None)));
        let frame = CloseFrame::new(CloseCode(4000), "app");
        assert_eq!(Message::try_from(Event::CloseReceived(frame.clone())), Ok(Message::Close(Some(frame))));
        let closed = Event::Closed(Box::new(Closed { sent: None, received: None, clean: false, error: None }));
        assert_eq!(Message::try_from(closed.clone()), Err(closed));
    }

    #[test]
    fn conversions_pick_the_kind_and_payloads_come_out_whole() {
        for m in [Message::from("hi"), Message::from(String::from("hi")), Message::from(Utf8Bytes::from("hi"))] {
            assert_eq!((m.as_text(), m.is_text()), (Some("hi"), true));
        }
        for m in [Message::from(vec![1u8, 2]), Message::from(&[1u8, 2][..]), Message::from(Bytes::from_static(&[1, 2]))] {
            assert_eq!((m.as_text(), m.payload()), (None, &[1u8, 2][..]));
        }
        let fragment = Message::Fragment { kind: MessageKind::Binary, payload: Bytes::from_static(b"part"), first: true, last: false };
        assert!(fragment.is_fragment() && !Message::text("x").is_fragment());
        assert_eq!(fragment.payload(), b"part");
        assert_eq!(fragment.into_data(), Bytes::from_static(b"part"));
        assert_eq!(Message::Close(None).into_data(), Bytes::new());
        let bye = Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "bye")));
        assert_eq!(bye.clone().into_data(), Bytes::from_static(b"bye"));
        assert_eq!(bye.into_text().unwrap(), "bye");
        for (event, message) in [
            (Event::Binary(Bytes::from_static(b"b")), Message::binary(&b"b"[..])),
            (Event::Ping(Bytes::from_static(b"p")), Message::Ping(Bytes::from_static(b"p"))),
            (Event::Pong(Bytes::from_static(b"q")), Message::Pong(Bytes::from_static(b"q"))),
            (
                Event::Fragment { kind: MessageKind::Text, payload: Bytes::from_static(b"f"), first: false, last: true },
                Message::Fragment { kind: MessageKind::Text, payload: Bytes::from_static(b"f"), first: false, last: true },
            ),
        ] {
            assert_eq!(Message::try_from(event), Ok(message));
        }
    }

    #[test]
    fn each_kind_answers_yes_to_its_own_question_only() {
        let kinds = [
            Message::text("t"),
            Message::binary(&b"b"[..]),
            Message::Ping(Bytes::new()),
            Message::Pong(Bytes::new()),
            Message::Close(None),
            Message::Fragment { kind: MessageKind::Text, payload: Bytes::new(), first: true, last: true },
        ];
        for (i, m) in kinds.iter().enumerate() {
            let answers = [m.is_text(), m.is_binary(), m.is_ping(), m.is_pong(), m.is_close(), m.is_fragment()];
            let expected: [bool; 6] = core::array::from_fn(|j| j == i);
            assert_eq!(answers, expected, "{m:?}");
            assert_eq!(m.is_data(), i < 2, "{m:?}");
        }
    }

    #[test]
    fn a_close_timed_out_when_the_peer_stopped_answering() {
        let ended = |error| Closed { sent: None, received: None, clean: false, error };
        assert!(ended(Some(ConnectionError::KeepaliveTimeout)).timed_out());
        assert!(ended(Some(ConnectionError::CloseTimeout)).timed_out());
        assert!(ended(Some(ConnectionError::Handshake(crate::error::HandshakeError::Timeout))).timed_out());
        assert!(!ended(Some(ConnectionError::UnexpectedEof)).timed_out());
        assert!(!ended(None).timed_out());
    }
}
