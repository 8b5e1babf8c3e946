//! `WebSocketStream`: a `Stream` of messages and a `Sink` for them, over any transport.

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::futures::{Feed, Flush, Recv, SendMessage};
use crate::transport::{Runtime, Transport};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_sink::Sink;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use wsproto::{CloseFrame, Connection, Message, Role};

/// A WebSocket connection over a transport, once the opening handshake is done.
///
/// - As a [`Stream`] it yields incoming messages (pings and pongs too; pings are answered
///   automatically) and ends after the closing handshake. An abnormal end (a protocol error, a
///   keepalive timeout, a reset) is the last item, as an `Err`.
/// - As a [`Sink`] it sends messages. `poll_ready` waits while the output buffer is over its
///   limit, so a peer that never reads cannot grow our memory. While sending waits on a
///   transport that takes nothing, the keepalive and close timers still run, so a send to a
///   peer that is gone fails with [`KeepaliveTimeout`](crate::Error::KeepaliveTimeout) (or,
///   after a close, [`CloseTimeout`](crate::Error::CloseTimeout)) instead of waiting for TCP to
///   give up. (After [`split`](WebSocketStream::split), the reading half runs them.)
/// - [`recv`](WebSocketStream::recv), [`send`](WebSocketStream::send) and
///   [`close`](WebSocketStream::close) do the same without extension traits.
///
/// # Closing
///
/// [`close`](WebSocketStream::close) (and `Sink::close`) sends a close frame and flushes it; it
/// does not wait for the peer. The stream goes on yielding what the peer sent before it saw our
/// close, then the peer's close frame as [`Message::Close`], and then ends. To close and wait,
/// call `close` and then read until the stream ends:
///
/// ```no_run
/// # async fn run<S: wsproto_io::Transport, R: wsproto_io::Runtime>(ws: &mut wsproto_io::WebSocketStream<S, R>) -> wsproto_io::Result<()> {
/// ws.close(None).await?;
/// while let Some(message) = ws.recv().await {
///     println!("arrived before the peer's close: {:?}", message?);
/// }
/// # Ok(()) }
/// ```
///
/// The wait is bounded by the configured close timeout.
///
/// # Cancel safety
///
/// - [`recv`](WebSocketStream::recv) (and `StreamExt::next`) is cancel safe: a message is only
///   taken out of the connection when it is returned.
/// - [`feed`](WebSocketStream::feed) and [`send`](WebSocketStream::send) queue the message in one
///   step. If they are cancelled, the message was either not queued at all or queued whole; a
///   queued message goes out with the next send, flush or receive.
/// - [`flush`](WebSocketStream::flush) and [`close`](WebSocketStream::close) are cancel safe: what
///   they queued stays queued, and calling them again picks up where they stopped.
pub struct WebSocketStream<S, R: Runtime> {
    driver: Driver<S, R>,
}

impl<S: Transport, R: Runtime> fmt::Debug for WebSocketStream<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketStream").field("connection", &self.driver.conn).finish_non_exhaustive()
    }
}

impl<S: Transport, R: Runtime> WebSocketStream<S, R> {
    /// Wraps a transport and a connection whose handshake is done (or is being done by the core).
    pub fn from_parts(io: S, conn: Connection) -> Self {
        WebSocketStream { driver: Driver::new(io, conn) }
    }

    /// Receives the next message; `None` once the connection has closed cleanly.
    pub fn recv(&mut self) -> Recv<'_, S, R> {
        Recv::new(&mut self.driver)
    }

    /// The next message if the bytes already received hold one, without waiting or any I/O.
    ///
    /// An echo or relay loop uses it to answer a whole burst of messages with one write: receive
    /// one message, then take the buffered ones, feeding each reply, then flush once.
    pub fn next_buffered(&mut self) -> Option<Result<Message>> {
        self.driver.buffered_message()
    }

    /// Queues a message without flushing it, waiting only while the output buffer is full.
    pub fn feed(&mut self, message: Message) -> Feed<'_, S, R> {
        Feed::new(&mut self.driver, message)
    }

    /// Writes out everything queued.
    pub fn flush(&mut self) -> Flush<'_, S, R> {
        Flush::new(&mut self.driver)
    }

    /// Sends a message and flushes it.
    pub fn send(&mut self, message: Message) -> SendMessage<'_, S, R> {
        SendMessage::new(&mut self.driver, message)
    }

    /// Sends a message encoded once for many connections (a broadcast) and flushes it: a server
    /// that is not compressing shares the prepared frame instead of encoding and copying it again.
    /// See [`PreparedMessage`](wsproto::PreparedMessage).
    ///
    /// Cancel safety: as [`send`](Self::send): if dropped before it completes, the message may or
    /// may not have been queued.
    pub async fn send_prepared(&mut self, message: &wsproto::PreparedMessage) -> Result<()> {
        self.feed_prepared(message).await?;
        self.flush().await
    }

    /// Queues a prepared message without flushing it, waiting only while the output buffer is
    /// full. Cancel safe: if dropped before it completes, the message was not queued.
    pub async fn feed_prepared(&mut self, message: &wsproto::PreparedMessage) -> Result<()> {
        std::future::poll_fn(|cx| self.driver.poll_ready(cx)).await?;
        self.start_send_prepared(message)
    }

    /// Queues a prepared message at once, as `Sink::start_send` queues a message (call after
    /// `Sink::poll_ready`; over the write buffer's limit it fails with `WriteBufferFull`).
    pub fn start_send_prepared(&mut self, message: &wsproto::PreparedMessage) -> Result<()> {
        Ok(self.driver.conn.send_prepared(message)?)
    }

    /// Queues a close frame (1000 if `frame` is `None`) without writing it, unless one was sent
    /// already; [`close`](Self::close) also flushes.
    pub fn queue_close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.driver.start_close(frame)
    }

    /// Sends a close frame (1000 if `frame` is `None`) and flushes it, as tokio-tungstenite's
    /// `close` does. Messages the peer sent before it saw our close still arrive through
    /// [`recv`](Self::recv), which ends after the peer's answer; see [Closing](Self#closing).
    ///
    /// Calling it again, or after the peer's close was answered, only flushes.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.queue_close(frame)?;
        self.flush().await
    }

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.driver.conn.role()
    }

    /// The subprotocol agreed in the handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.driver.conn.subprotocol()
    }

    /// Whether permessage-deflate was negotiated.
    pub fn is_compressed(&self) -> bool {
        self.driver.conn.extension().is_some()
    }

    /// Whether messages queued from now on are compressed, when permessage-deflate was
    /// negotiated (on by default). To send one message uncompressed:
    /// `ws.set_compression(false); ws.send(msg).await?; ws.set_compression(true);`.
    /// See [`Connection::set_compression`].
    pub fn set_compression(&mut self, enabled: bool) {
        self.driver.conn.set_compression(enabled);
    }

    /// The sans-IO connection underneath, for inspection.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S::Inner {
        self.driver.io.get_ref()
    }

    /// The transport, mutably. Reading or writing it directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S::Inner {
        self.driver.io.get_mut()
    }

    pub(crate) fn from_driver(driver: Driver<S, R>) -> Self {
        WebSocketStream { driver }
    }

    pub(crate) fn into_driver(self) -> Driver<S, R> {
        self.driver
    }
}

impl<S: Transport, R: Runtime> Stream for WebSocketStream<S, R> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().driver.poll_message(cx)
    }
}

impl<S: Transport, R: Runtime> FusedStream for WebSocketStream<S, R> {
    fn is_terminated(&self) -> bool {
        self.driver.is_terminated()
    }
}

impl<S: Transport, R: Runtime> Sink<Message> for WebSocketStream<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        self.get_mut().driver.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_close(cx)
    }
}
