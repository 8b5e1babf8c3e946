//! The futures that `send`, `feed`, `flush` and `recv` return: small structs instead of `async fn`
//! state machines. A message is queued many millions of times a second, and an `async fn` moves
//! the message through its generated state on every call; these futures hold a reference and the
//! message, and do the work in one `poll`.

use crate::driver::Driver;
use crate::error::Result;
use crate::transport::{Runtime, Transport};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use wsproto::Message;

/// The future of [`WebSocketStream::feed`](crate::WebSocketStream::feed): queues a message,
/// waiting only while the output buffer is full.
#[must_use = "futures do nothing unless polled"]
pub struct Feed<'a, S, R: Runtime> {
    driver: &'a mut Driver<S, R>,
    message: Option<Message>,
}

impl<'a, S: Transport, R: Runtime> Feed<'a, S, R> {
    pub(crate) fn new(driver: &'a mut Driver<S, R>, message: Message) -> Self {
        Feed { driver, message: Some(message) }
    }
}

impl<S: Transport, R: Runtime> Future for Feed<'_, S, R> {
    type Output = Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        poll_queue(this.driver, &mut this.message, cx)
    }
}

/// Queues `message` once the output has room; after that, ready at once.
#[inline]
fn poll_queue<S: Transport, R: Runtime>(
    driver: &mut Driver<S, R>,
    message: &mut Option<Message>,
    cx: &mut Context<'_>,
) -> Poll<Result<()>> {
    if message.is_some() {
        ready!(driver.poll_ready(cx))?;
        let message = message.take().expect("checked above");
        driver.start_send(message)?;
    }
    Poll::Ready(Ok(()))
}

/// The future of [`WebSocketStream::send`](crate::WebSocketStream::send): queues a message,
/// then writes out everything queued.
#[must_use = "futures do nothing unless polled"]
pub struct SendMessage<'a, S, R: Runtime> {
    driver: &'a mut Driver<S, R>,
    message: Option<Message>,
}

impl<'a, S: Transport, R: Runtime> SendMessage<'a, S, R> {
    pub(crate) fn new(driver: &'a mut Driver<S, R>, message: Message) -> Self {
        SendMessage { driver, message: Some(message) }
    }
}

impl<S: Transport, R: Runtime> Future for SendMessage<'_, S, R> {
    type Output = Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        ready!(poll_queue(this.driver, &mut this.message, cx))?;
        this.driver.poll_flush(cx)
    }
}

/// The future of [`WebSocketStream::flush`](crate::WebSocketStream::flush).
#[must_use = "futures do nothing unless polled"]
pub struct Flush<'a, S, R: Runtime> {
    driver: &'a mut Driver<S, R>,
}

impl<'a, S: Transport, R: Runtime> Flush<'a, S, R> {
    pub(crate) fn new(driver: &'a mut Driver<S, R>) -> Self {
        Flush { driver }
    }
}

impl<S: Transport, R: Runtime> Future for Flush<'_, S, R> {
    type Output = Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_flush(cx)
    }
}

/// The future of [`WebSocketStream::recv`](crate::WebSocketStream::recv).
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, S, R: Runtime> {
    driver: &'a mut Driver<S, R>,
}

impl<'a, S: Transport, R: Runtime> Recv<'a, S, R> {
    pub(crate) fn new(driver: &'a mut Driver<S, R>) -> Self {
        Recv { driver }
    }
}

impl<S: Transport, R: Runtime> Future for Recv<'_, S, R> {
    type Output = Option<Result<Message>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        self.get_mut().driver.poll_message(cx)
    }
}

macro_rules! debug {
    ($($name:ident),*) => {$(
        impl<S, R: Runtime> fmt::Debug for $name<'_, S, R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}
debug!(Feed, SendMessage, Flush, Recv);
