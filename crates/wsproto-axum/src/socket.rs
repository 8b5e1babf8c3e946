//! The WebSocket a handler gets: the tokio adapter's stream, plus the server's shutdown.

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use wsproto_hyper::wsproto::{CloseCode, CloseFrame};
use wsproto_hyper::{Message, WebSocketStream};

/// An accepted WebSocket: a `Stream` of messages and a `Sink` of messages, like the tokio
/// adapter's `WebSocketStream` (which [`get_mut`](WebSocket::get_mut) reaches), that also sends
/// 1001 when the server's [`Shutdown`](crate::Shutdown) asks.
///
/// The stream yields every message up to the peer's close, then the close, then ends.
pub struct WebSocket {
    inner: WebSocketStream,
    shutdown: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    /// Shutdown was asked for and the 1001 is not queued yet (the output was full).
    going_away: bool,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket").field("inner", &self.inner).field("going_away", &self.going_away).finish_non_exhaustive()
    }
}

type Result<T> = std::result::Result<T, wsproto_hyper::Error>;

impl WebSocket {
    pub(crate) fn new(inner: WebSocketStream, shutdown: Option<CancellationToken>) -> WebSocket {
        WebSocket { inner, shutdown: shutdown.map(|t| Box::pin(t.cancelled_owned())), going_away: false }
    }

    /// The next message, or `None` once the connection has closed. Cancel safe.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        self.next().await
    }

    /// Sends a message and flushes it. Cancel safety: if dropped before it completes, the
    /// message may or may not have been queued.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        SinkExt::send(self, message).await
    }

    /// Sends a close frame (1000 if `None`) and flushes it; keep reading for the peer's answer.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.inner.close(frame).await
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.subprotocol()
    }

    /// Whether permessage-deflate was agreed.
    pub fn is_compressed(&self) -> bool {
        self.inner.is_compressed()
    }

    /// The tokio adapter's stream underneath.
    pub fn get_ref(&self) -> &WebSocketStream {
        &self.inner
    }

    /// The tokio adapter's stream underneath, for its other methods.
    pub fn get_mut(&mut self) -> &mut WebSocketStream {
        &mut self.inner
    }

    /// The tokio adapter's stream, to split it into halves, say. Shutdown no longer reaches it.
    pub fn into_inner(self) -> WebSocketStream {
        self.inner
    }

    /// Queues the 1001 once the shutdown has been asked for. Ready once there is nothing (more)
    /// to do for it.
    fn poll_going_away(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some(fired) = self.shutdown.as_mut() {
            if fired.as_mut().poll(cx).is_ready() {
                self.shutdown = None;
                self.going_away = true;
            }
        }
        if self.going_away {
            ready!(Pin::new(&mut self.inner).poll_ready(cx))?;
            self.going_away = false;
            let frame = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
            match Pin::new(&mut self.inner).start_send(Message::Close(Some(frame))) {
                // Already closing: nothing to add.
                Ok(()) | Err(wsproto_hyper::Error::AlreadyClosed) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            let _ = Pin::new(&mut self.inner).poll_flush(cx)?;
        }
        Poll::Ready(Ok(()))
    }
}

impl Stream for WebSocket {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Poll::Ready(Err(e)) = this.poll_going_away(cx) {
            return Poll::Ready(Some(Err(e)));
        }
        this.inner.poll_next_unpin(cx)
    }
}

impl Sink<Message> for WebSocket {
    type Error = wsproto_hyper::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_going_away(cx))?;
        Pin::new(&mut this.inner).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<()> {
        Pin::new(&mut self.get_mut().inner).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}
