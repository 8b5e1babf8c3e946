//! Reading frames: the framing (§5.2), fragmentation (§5.4), control frame (§5.5), UTF-8 (§8.1)
//! and size rules, applied to input as it arrives.
//!
//! Every check that a header allows happens when the header arrives, before any payload is read
//! or any memory reserved. Payload bytes are unmasked and validated as soon as they arrive, so
//! that invalid text fails at its first impossible byte even inside a frame that is still
//! arriving. A data frame that is a whole message stays where it landed in the input buffer and
//! leaves as a `Bytes` split off it: no copy after the read.

use super::{Connection, Role, State};
use crate::close::{CloseCode, CloseFrame, ClosePayloadError, parse_close_payload};
use crate::error::ProtocolError;
use crate::event::{Event, MessageKind};
use crate::extension::DecodeError;
use crate::frame::{HeaderError, MAX_CONTROL_PAYLOAD, OpCode, Status, decode_header};
use crate::mask::apply_mask;
use crate::utf8::{Utf8Bytes, Utf8Validator};
use bytes::{Buf, Bytes, BytesMut};

/// The frame and message being read.
#[derive(Debug, Default)]
pub(super) struct Inbound {
    frame: Option<InFrame>,
    message: Option<InMessage>,
}

impl Inbound {
    /// Whether no frame and no message are in progress.
    #[inline]
    pub(super) fn is_idle(&self) -> bool {
        self.frame.is_none() && self.message.is_none()
    }

    /// How many more bytes the current frame needs beyond the `buffered` input, if a frame is
    /// being read.
    pub(super) fn remaining_in_frame(&self, buffered: usize) -> Option<usize> {
        let f = self.frame.as_ref()?;
        let consumed = match f.mode {
            // These keep the payload in the input buffer until the frame is complete.
            Mode::InPlace | Mode::Control => 0,
            Mode::Copy | Mode::Decode => f.done,
        };
        Some(f.len.saturating_sub(consumed).saturating_sub(buffered))
    }

    /// Whether the frame being read is at least `len` bytes long and kept in the input buffer
    /// until it is complete (so that it leaves the buffer as one message).
    pub(super) fn in_place_frame_of(&self, len: usize) -> bool {
        self.frame.as_ref().is_some_and(|f| f.mode == Mode::InPlace && f.len >= len)
    }
}

#[derive(Clone, Copy, Debug)]
struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    len: usize,
    /// Payload bytes processed so far.
    done: usize,
    mode: Mode,
}

/// Where a frame's payload goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Stays in the input buffer, unmasked and validated as it arrives, split off when complete.
    InPlace,
    /// Appended to the message buffer as it arrives (a fragment of an uncompressed message).
    Copy,
    /// Fed to the extension's decoder as it arrives; the output goes to the message buffer.
    Decode,
    /// A control frame: read whole (it is at most 125 bytes).
    Control,
}

#[derive(Debug)]
struct InMessage {
    kind: MessageKind,
    compressed: bool,
    buf: BytesMut,
    /// Payload bytes counted against the message limit so far.
    size: usize,
    utf8: Utf8Validator,
    /// Streaming mode: no fragment of this message has been delivered yet.
    first_pending: bool,
}

/// What one step of reading produced.
enum Step {
    NeedMore,
    Continue,
    Event(Event),
}

impl Connection {
    /// Reads frames until one produces an event or the input runs out.
    pub(super) fn read_frames(&mut self) -> Result<Option<Event>, ProtocolError> {
        if !self.reads_data() {
            // The peer's close frame was its last word (RFC 6455 §5.5.1); ignore anything after.
            self.input.clear();
            return Ok(None);
        }
        loop {
            let frame = match self.inbound.frame {
                Some(f) => f,
                None => match self.start_frame()? {
                    Some(f) => f,
                    None => return Ok(None),
                },
            };
            let step = match frame.mode {
                Mode::Control => self.read_control(frame)?,
                Mode::InPlace => self.read_in_place(frame)?,
                Mode::Copy | Mode::Decode => self.read_into_message(frame)?,
            };
            match step {
                Step::NeedMore => return Ok(None),
                Step::Continue => {}
                Step::Event(ev) => return Ok(Some(ev)),
            }
        }
    }

    /// The fast path for the common case: a whole unfragmented, uncompressed text or binary
    /// message of up to 64 KiB is already in the buffer, and no message is in progress. It does
    /// what the general path would do for such a frame, without the bookkeeping for frames that
    /// arrive in pieces. Anything else (a partial frame, a control frame, a flag or size the
    /// general path must judge) returns `None` and takes the general path.
    #[inline(always)]
    pub(super) fn whole_small_message(&mut self) -> Result<Option<Event>, ProtocolError> {
        // The first byte rules out most other cases before any parsing: FIN, no RSV bits, text
        // or binary.
        let kind = match self.input.first() {
            Some(0x81) => MessageKind::Text,
            Some(0x82) => MessageKind::Binary,
            _ => return Ok(None),
        };
        if !self.reads_data() || !self.inbound.is_idle() || self.settings.stream_fragments {
            return Ok(None);
        }
        // A bad header (a top-bit length) is left for the general path to report.
        let Ok(Status::Complete((h, header_len))) = decode_header(&self.input) else { return Ok(None) };
        if h.mask.is_some() != (self.role == Role::Server) || h.payload_len > 0xFFFF {
            return Ok(None);
        }
        // At most 64 KiB, so it fits in usize.
        let len = h.payload_len as usize;
        if self.input.len() < header_len + len || len > self.settings.max_frame || len > self.settings.max_message {
            return Ok(None);
        }
        self.input.advance(header_len);
        let mut payload = self.input.split_to(len);
        if kind == MessageKind::Text && len > CACHE_BLOCK {
            // Validate each block while it is still in cache from unmasking.
            let mut utf8 = Utf8Validator::new();
            unmask_and_check(&mut payload, h.mask, 0, Some(&mut utf8))?;
            utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        } else {
            if let Some(key) = h.mask {
                apply_mask(&mut payload, key, 0);
            }
            if kind == MessageKind::Text {
                crate::utf8::validate(&payload).map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        self.mark_activity();
        Ok(Some(message_event(kind, payload.freeze())))
    }

    /// Whether frames are still read: until the peer's close frame. Data frames that arrive after
    /// our own close frame are delivered, since the peer sent them before it saw our close.
    #[inline(always)]
    fn reads_data(&self) -> bool {
        matches!(self.state, State::Open | State::CloseSent)
    }

    /// Decodes and checks the next header. Every rule that a header alone can break fails here.
    fn start_frame(&mut self) -> Result<Option<InFrame>, ProtocolError> {
        let (h, header_len) = match decode_header(&self.input) {
            Ok(Status::Complete(found)) => found,
            Ok(Status::Partial(_)) => return Ok(None),
            Err(HeaderError::LengthTopBitSet) => return Err(ProtocolError::LengthTopBitSet),
        };
        match (self.role, h.mask) {
            (Role::Server, None) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let ext_bits = self.extension.as_ref().map_or(0, |e| e.rsv_bits());
        let stray = h.rsv & !ext_bits;
        if stray != 0 {
            return Err(ProtocolError::ReservedBits(stray));
        }
        // A compressed frame may be larger than its message: deflate expands incompressible data
        // by up to an eighth. The message limit still holds for the inflated bytes, and compressed
        // input is inflated as it arrives, so the allowance costs no memory.
        let compressed = match h.opcode {
            OpCode::Text | OpCode::Binary => h.rsv != 0,
            OpCode::Continuation => self.inbound.message.as_ref().is_some_and(|m| m.compressed),
            _ => false,
        };
        let frame_limit = if compressed { compressed_frame_limit(self.settings.max_frame) } else { self.settings.max_frame };
        if h.payload_len > frame_limit as u64 {
            return Err(ProtocolError::FrameTooBig { len: h.payload_len, limit: frame_limit });
        }
        // Fits in usize: it is at most max_frame.
        let len = h.payload_len as usize;
        let mode = match h.opcode {
            OpCode::Reserved(bits) => return Err(ProtocolError::ReservedOpcode(bits)),
            op if op.is_control() => {
                if !h.fin {
                    return Err(ProtocolError::FragmentedControlFrame);
                }
                if len > MAX_CONTROL_PAYLOAD {
                    return Err(ProtocolError::ControlFrameTooLong(h.payload_len));
                }
                if h.rsv != 0 {
                    // Extensions transform data messages only.
                    return Err(ProtocolError::ReservedBits(h.rsv));
                }
                Mode::Control
            }
            OpCode::Continuation => {
                let Some(msg) = self.inbound.message.as_mut() else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                if h.rsv != 0 {
                    // RFC 7692 §6.1: the extension's bit belongs on the first frame only.
                    return Err(ProtocolError::ReservedBits(h.rsv));
                }
                if !msg.compressed {
                    msg.size += len;
                    if msg.size > self.settings.max_message {
                        return Err(ProtocolError::MessageTooBig { limit: self.settings.max_message });
                    }
                }
                if msg.compressed {
                    Mode::Decode
                } else if self.settings.stream_fragments {
                    Mode::InPlace
                } else {
                    Mode::Copy
                }
            }
            op => {
                if self.inbound.message.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                if !compressed && len > self.settings.max_message {
                    return Err(ProtocolError::MessageTooBig { limit: self.settings.max_message });
                }
                let kind = if op == OpCode::Text { MessageKind::Text } else { MessageKind::Binary };
                self.inbound.message = Some(InMessage {
                    kind,
                    compressed,
                    buf: BytesMut::new(),
                    size: if compressed { 0 } else { len },
                    utf8: Utf8Validator::new(),
                    first_pending: true,
                });
                if compressed {
                    Mode::Decode
                } else if h.fin || self.settings.stream_fragments {
                    Mode::InPlace
                } else {
                    Mode::Copy
                }
            }
        };
        self.input.advance(header_len);
        let frame = InFrame { opcode: h.opcode, fin: h.fin, mask: h.mask, len, done: 0, mode };
        self.inbound.frame = Some(frame);
        Ok(Some(frame))
    }

    fn read_control(&mut self, frame: InFrame) -> Result<Step, ProtocolError> {
        if self.input.len() < frame.len {
            return Ok(Step::NeedMore);
        }
        let mut payload = self.input.split_to(frame.len);
        if let Some(key) = frame.mask {
            apply_mask(&mut payload, key, 0);
        }
        let payload = payload.freeze();
        self.inbound.frame = None;
        self.mark_activity();
        let event = match frame.opcode {
            OpCode::Ping => {
                if self.state == State::Open && self.settings.auto_pong {
                    self.queue_pong(&payload);
                }
                Event::Ping(payload)
            }
            OpCode::Pong => {
                if let Some(seq) = self.timers.ping_in_flight {
                    if payload[..] == seq.to_be_bytes() {
                        // The answer to our own keepalive ping: internal, not an event.
                        self.timers.ping_in_flight = None;
                        self.timers.pong = None;
                        return Ok(Step::Continue);
                    }
                }
                Event::Pong(payload)
            }
            _ => self.on_close_frame(payload)?,
        };
        Ok(Step::Event(event))
    }

    /// Answers a ping. Past the write limit only the latest pong is kept (RFC 6455 §5.5.3 allows
    /// answering only the most recent ping), so a ping flood cannot grow the output buffer.
    fn queue_pong(&mut self, payload: &[u8]) {
        if self.output.len() < self.settings.write_limit {
            self.write_control(OpCode::Pong, payload);
        } else {
            self.pending_pong = Some(bytes::Bytes::copy_from_slice(payload));
        }
    }

    fn on_close_frame(&mut self, payload: bytes::Bytes) -> Result<Event, ProtocolError> {
        let frame = match parse_close_payload(payload) {
            Ok(Some(frame)) => frame,
            Ok(None) => CloseFrame::new(CloseCode::NO_STATUS, ""),
            Err(ClosePayloadError::OneByte) => return Err(ProtocolError::InvalidClosePayload),
            Err(ClosePayloadError::InvalidCode(code)) => return Err(ProtocolError::InvalidCloseCode(code)),
            Err(ClosePayloadError::InvalidReason) => return Err(ProtocolError::InvalidUtf8),
        };
        self.close_received = Some(frame.clone());
        match self.state {
            State::Open if self.settings.auto_close => {
                // Echo the code (an empty close gets an empty close back).
                self.write_close(frame.code, "");
                self.after_close_exchange();
            }
            State::Open => {
                self.state = State::CloseReceived;
                self.timers.start_close(self.settings.close_timeout);
            }
            State::CloseSent => self.after_close_exchange(),
            _ => {}
        }
        Ok(Event::CloseReceived(frame))
    }

    fn read_in_place(&mut self, mut frame: InFrame) -> Result<Step, ProtocolError> {
        let available = self.input.len().min(frame.len);
        if available > frame.done {
            let fresh = &mut self.input[frame.done..available];
            let msg = self.inbound.message.as_mut().expect("a data frame belongs to a message");
            let utf8 = (msg.kind == MessageKind::Text).then_some(&mut msg.utf8);
            unmask_and_check(fresh, frame.mask, frame.done, utf8)?;
            frame.done = available;
            self.inbound.frame = Some(frame);
        }
        if frame.done < frame.len {
            return Ok(Step::NeedMore);
        }
        let payload = self.input.split_to(frame.len).freeze();
        self.inbound.frame = None;
        self.mark_activity();
        if self.settings.stream_fragments {
            let msg = self.inbound.message.as_mut().expect("a data frame belongs to a message");
            let (kind, first) = (msg.kind, msg.first_pending);
            msg.first_pending = false;
            if frame.fin {
                self.end_message()?;
            }
            return Ok(Step::Event(Event::Fragment { kind, payload, first, last: frame.fin }));
        }
        let kind = self.end_message()?;
        Ok(Step::Event(message_event(kind, payload)))
    }

    fn read_into_message(&mut self, mut frame: InFrame) -> Result<Step, ProtocolError> {
        let max_message = self.settings.max_message;
        let msg = self.inbound.message.as_mut().expect("a data frame belongs to a message");
        let n = self.input.len().min(frame.len - frame.done);
        if n > 0 {
            let fresh = &mut self.input[..n];
            if let Some(key) = frame.mask {
                apply_mask(fresh, key, frame.done);
            }
            let before = msg.buf.len();
            if frame.mode == Mode::Decode {
                let ext = self.extension.as_mut().expect("a compressed message has an extension");
                ext.decode(fresh, &mut msg.buf, max_message - msg.size).map_err(|e| decode_error(e, max_message))?;
                msg.size += msg.buf.len() - before;
            } else {
                msg.buf.extend_from_slice(fresh);
            }
            if msg.kind == MessageKind::Text {
                msg.utf8.feed(&msg.buf[before..]).map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            self.input.advance(n);
            frame.done += n;
            self.inbound.frame = Some(frame);
        }
        if frame.done < frame.len {
            return Ok(Step::NeedMore);
        }
        self.inbound.frame = None;
        if frame.fin && frame.mode == Mode::Decode {
            let before = msg.buf.len();
            let ext = self.extension.as_mut().expect("a compressed message has an extension");
            ext.finish_decode(&mut msg.buf, max_message - msg.size).map_err(|e| decode_error(e, max_message))?;
            msg.size += msg.buf.len() - before;
            if msg.kind == MessageKind::Text {
                msg.utf8.feed(&msg.buf[before..]).map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            self.extension_used();
        }
        self.mark_activity();
        let msg = self.inbound.message.as_mut().expect("a data frame belongs to a message");
        if self.settings.stream_fragments {
            let (kind, first) = (msg.kind, msg.first_pending);
            msg.first_pending = false;
            let payload = msg.buf.split().freeze();
            if frame.fin {
                self.end_message()?;
            }
            return Ok(Step::Event(Event::Fragment { kind, payload, first, last: frame.fin }));
        }
        if !frame.fin {
            return Ok(Step::Continue);
        }
        let payload = core::mem::take(&mut msg.buf).freeze();
        let kind = self.end_message()?;
        Ok(Step::Event(message_event(kind, payload)))
    }

    /// Ends the current message, checking that its text did not stop inside a code point.
    fn end_message(&mut self) -> Result<MessageKind, ProtocolError> {
        let mut msg = self.inbound.message.take().expect("a data frame belongs to a message");
        if msg.kind == MessageKind::Text {
            msg.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(msg.kind)
    }
}

/// The frame limit for compressed frames: deflate's worst-case expansion on top of the limit.
fn compressed_frame_limit(max_frame: usize) -> usize {
    max_frame.saturating_add(max_frame / 8).saturating_add(1024)
}

/// A block of payload that stays in the L1/L2 cache between unmasking and validating it.
const CACHE_BLOCK: usize = 16 << 10;

/// Unmasks payload bytes that start at `offset` in their frame and, for text, feeds them to the
/// validator, in blocks small enough to stay in the cache between the two passes: a large payload
/// then costs one trip through memory for both instead of one each.
#[inline]
fn unmask_and_check(
    data: &mut [u8],
    key: Option<[u8; 4]>,
    offset: usize,
    mut utf8: Option<&mut Utf8Validator>,
) -> Result<(), ProtocolError> {
    let mut at = offset;
    for block in data.chunks_mut(CACHE_BLOCK) {
        if let Some(key) = key {
            apply_mask(block, key, at);
        }
        if let Some(v) = utf8.as_deref_mut() {
            v.feed(block).map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        at += block.len();
    }
    Ok(())
}

/// The event for a whole message whose text, if it is text, has been validated.
#[inline(always)]
fn message_event(kind: MessageKind, payload: Bytes) -> Event {
    match kind {
        MessageKind::Text => Event::Text(Utf8Bytes::from_validated(payload)),
        MessageKind::Binary => Event::Binary(payload),
    }
}

fn decode_error(e: DecodeError, limit: usize) -> ProtocolError {
    match e {
        DecodeError::TooBig => ProtocolError::MessageTooBig { limit },
        DecodeError::Invalid(why) => ProtocolError::InvalidExtensionData(why),
    }
}
