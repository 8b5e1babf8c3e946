//! The in-memory transport every library reads from and writes to in the benchmarks: reads
//! replay a pre-built input, writes are counted and dropped. It implements std's, tokio's and
//! futures-io's traits, so each library runs through its own public API on the same bytes.

#![allow(dead_code, unreachable_pub)]

use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The most one read of the in-memory transport returns, for every library.
pub const READ: usize = 64 << 10;

/// An in-memory transport. Reads replay `input` cyclically (never EOF, never pending), at most
/// [`READ`] bytes at a time and never across the end of `input`; writes are counted and dropped.
pub struct Mem {
    input: Vec<u8>,
    pos: usize,
    /// Bytes written so far.
    pub written: usize,
}

impl Mem {
    pub fn new(input: Vec<u8>) -> Mem {
        Mem { input, pos: 0, written: 0 }
    }

    fn take(&mut self, max: usize) -> &[u8] {
        let n = max.min(READ).min(self.input.len() - self.pos);
        let start = self.pos;
        self.pos = (self.pos + n) % self.input.len();
        &self.input[start..start + n]
    }
}

impl io::Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let s = self.take(buf.len());
        let n = s.len();
        buf[..n].copy_from_slice(s);
        Ok(n)
    }
}

impl io::Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += black_box(buf).len();
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = black_box(bufs).iter().map(|b| b.len()).sum();
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Mem {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let s = this.take(buf.remaining());
        buf.put_slice(s);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Mem {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().written += black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(self: Pin<&mut Self>, _: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let n = black_box(bufs).iter().map(|b| b.len()).sum();
        self.get_mut().written += n;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (`Mem` is always ready) to completion, without a runtime.
pub fn block_now<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an in-memory future was pending"),
    }
}

impl futures_io::AsyncRead for Mem {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(io::Read::read(self.get_mut(), buf))
    }
}

impl futures_io::AsyncWrite for Mem {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().written += black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(self: Pin<&mut Self>, _: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let n = black_box(bufs).iter().map(|b| b.len()).sum();
        self.get_mut().written += n;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
