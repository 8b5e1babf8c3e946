//! A message encoded once, to be sent to many connections.

use crate::event::MessageKind;
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, encode_header};
use crate::utf8::Utf8Bytes;
use bytes::{Bytes, BytesMut};

/// A text or binary message encoded once as an unmasked frame, for a server that sends the same
/// message to many connections (a chat room, a price feed): [`Connection::send_prepared`]
/// queues the same frame bytes on each, shared rather than encoded and copied again.
///
/// The shared frame is what a server without compression sends. A client masks every frame with
/// a key of its own, and a connection that compresses with permessage-deflate keeps a compression
/// context of its own (RFC 7692 context takeover), so for those `send_prepared` encodes the
/// message as [`Connection::send`] would: correct on every connection, shared where it can be.
/// To share the frame with compressed connections too, send broadcasts uncompressed
/// ([`Connection::set_compression`]).
///
/// Cloning is cheap (no copy). The payload is the frame's tail: one allocation holds both.
///
/// ```
/// use wsproto::PreparedMessage;
///
/// let prepared = PreparedMessage::text("hello, room");
/// assert_eq!(&prepared.frame()[..], b"\x81\x0bhello, room");
/// ```
///
/// [`Connection::send_prepared`]: crate::Connection::send_prepared
/// [`Connection::send`]: crate::Connection::send
/// [`Connection::set_compression`]: crate::Connection::set_compression
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedMessage {
    kind: MessageKind,
    payload: Bytes,
    frame: Bytes,
}

impl PreparedMessage {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Text, text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> PreparedMessage {
        PreparedMessage::new(MessageKind::Binary, data.into())
    }

    fn new(kind: MessageKind, payload: Bytes) -> PreparedMessage {
        let opcode = if kind == MessageKind::Text { OpCode::Text } else { OpCode::Binary };
        let header = FrameHeader { fin: true, rsv: 0, opcode, mask: None, payload_len: payload.len() as u64 };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut head);
        let mut frame = BytesMut::with_capacity(n + payload.len());
        frame.extend_from_slice(&head[..n]);
        frame.extend_from_slice(&payload);
        let frame = frame.freeze();
        // The payload is the frame's tail, not a second copy: a server holding a backlog of
        // prepared lines (a chat room's) holds each line once.
        PreparedMessage { kind, payload: frame.slice(n..), frame }
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The whole unmasked, uncompressed frame: header and payload.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    use super::*;
    use crate::{Config, Connection, Event, Instant, Message, SeededRandom};
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    fn drain(conn: &mut Connection) -> Vec<u8> {
        let mut out = Vec::new();
        conn.drain_output_into(&mut out);
        out
    }

    #[test]
    fn a_server_queues_the_shared_frame_and_the_bytes_are_what_send_writes() {
        let big = PreparedMessage::binary(alloc::vec![7u8; 70_000]);
        let small = PreparedMessage::text("hi");
        let mut a = Connection::upgraded_server(Config::default(), None, Instant::ZERO);
        let mut b = Connection::upgraded_server(Config::default(), None, Instant::ZERO);
        a.send_prepared(&small).unwrap();
        a.send_prepared(&big).unwrap();
        // The large frame is the prepared allocation itself, not a copy.
        let mut slices = [&[][..]; 4];
        let n = a.pending_output_slices(&mut slices);
        assert_eq!(n, 2);
        assert_eq!(slices[1].as_ptr(), big.frame().as_ptr());
        b.send_text("hi").unwrap();
        b.send_binary(&[7u8; 70_000]).unwrap();
        assert_eq!(drain(&mut a), drain(&mut b), "the same bytes as an ordinary send");
    }

    #[test]
    fn the_payload_is_the_frames_tail_not_a_copy() {
        let prepared = PreparedMessage::text("one allocation for the line");
        assert_eq!(&prepared.payload()[..], b"one allocation for the line");
        assert_eq!(prepared.payload().as_ptr(), prepared.frame()[2..].as_ptr());
        let big = PreparedMessage::binary(alloc::vec![1u8; 70_000]);
        assert_eq!(big.payload().len(), 70_000);
        // 70,000 bytes need the 8-byte length: a 10-byte header.
        assert_eq!(big.payload().as_ptr(), big.frame()[10..].as_ptr());
    }

    #[test]
    fn a_client_masks_it_with_its_own_key() {
        let prepared = PreparedMessage::text("the same words, over and over, the same words");
        // A client's frame is masked with its own key: the peer reads the message.
        let mut client = Connection::upgraded_client(Config::default(), None, Box::new(SeededRandom::new(7)), Instant::ZERO);
        client.send_prepared(&prepared).unwrap();
        let wire = drain(&mut client);
        assert_eq!(wire[1] & 0x80, 0x80, "masked");
        let mut server = Connection::upgraded_server(Config::default(), None, Instant::ZERO);
        server.receive(&wire);
        assert_eq!(server.poll_event(), Some(Event::Text("the same words, over and over, the same words".into())));
        // Not while a fragmented message is being sent, nor once closing.
        let mut server = Connection::upgraded_server(Config::default(), None, Instant::ZERO);
        server.send_fragment(crate::MessageKind::Text, b"par", false).unwrap();
        assert_eq!(server.send_prepared(&prepared), Err(crate::LocalError::FragmentInProgress));
        server.send(Message::Close(None)).unwrap();
        assert!(server.send_prepared(&prepared).is_err());
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn a_compressing_server_compresses_each_connection_unless_told_not_to() {
        let prepared = PreparedMessage::text("the same words, over and over, the same words");
        // With permessage-deflate, each connection compresses it (RSV1 set), and set_compression
        // (false) sends the shared frame instead.
        let deflate = crate::deflate::DeflateConfig::default();
        let offers = crate::handshake::parse_extensions([&b"permessage-deflate"[..]]).unwrap();
        let (_, ext) = crate::deflate::negotiate_server(&deflate, &offers).unwrap();
        let mut compressed = Connection::upgraded_server(Config::default(), Some(Box::new(ext)), Instant::ZERO);
        compressed.send_prepared(&prepared).unwrap();
        let wire = drain(&mut compressed);
        assert_eq!(wire[0], 0xC1, "FIN, RSV1 and text");
        assert!(wire.len() < prepared.frame().len());
        compressed.set_compression(false);
        compressed.send_prepared(&prepared).unwrap();
        assert_eq!(drain(&mut compressed), prepared.frame().as_ref());
    }
}
