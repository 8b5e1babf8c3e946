//! The blocking side of the driver's seams: std I/O that blocks inside `poll`, a clock, and
//! `connect`'s TCP and TLS.
//!
//! The driver is written as poll functions. Here every transport call blocks until it is done,
//! so a poll returns `Pending` only when a read or a write timed out at the driver's deadline
//! (poll again: the deadline is now due) or a non-blocking stream would block (the caller gets
//! `WouldBlock`). [`block_on`] and [`poll_blocking`] tell the two apart.

use crate::Stream;
use std::cell::Cell;
use std::future::Future;
use std::io::{self, ErrorKind, IoSlice};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use wsproto_io::wsproto::{Connection, Instant};
use wsproto_io::{Connector, Runtime, Timer, Transport};

/// Reads of up to this many bytes go through a buffer on the stack, so that an idle connection
/// holds no read buffer; larger reads (the rest of a big frame) go straight into the
/// connection's input buffer.
const STACK_READ: usize = 16 << 10;

/// The most a direct read asks for at once. `std::io::Read` needs an initialised buffer, so
/// every direct read first zero-fills the room it offers: asking for the whole rest of a 1 MiB
/// frame when the socket hands over 64 KiB at a time zero-filled about 8 MiB per message (70% of
/// a 1 MiB read's instructions, `benches/examples/adapters_ir.rs`). 128 KiB keeps the zeroing
/// near the size of a typical read and still takes a 64 KiB frame in one read.
const MAX_DIRECT_READ: usize = 128 << 10;

thread_local! {
    /// Set when a non-blocking stream would block: the blocking call then returns `WouldBlock`
    /// instead of polling again.
    static WOULD_BLOCK: Cell<bool> = const { Cell::new(false) };
}

/// Polls `poll` until it is ready, with a waker that is never used: the transport blocks. A
/// non-blocking stream that would block ends the loop with `WouldBlock`.
pub(crate) fn poll_blocking<T>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> Result<T, io::Error> {
    let mut cx = Context::from_waker(Waker::noop());
    WOULD_BLOCK.set(false);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return Ok(value);
        }
        if WOULD_BLOCK.replace(false) {
            return Err(ErrorKind::WouldBlock.into());
        }
    }
}

/// Runs a future of the shared driver (the handshake, `connect`) to completion on this thread.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output, io::Error> {
    let mut future = pin!(future);
    poll_blocking(|cx| future.as_mut().poll(cx))
}

/// A blocking std stream as the driver's transport.
#[derive(Debug)]
pub struct BlockingIo<S> {
    stream: S,
    /// When the next read must return by, and the read timeout last set on the stream.
    read: Deadline,
    /// The same for writes.
    write: Deadline,
}

/// When a blocking call must return by, and the timeout last set on the stream for it.
#[derive(Debug, Default)]
struct Deadline {
    at: Option<Instant>,
    timeout: Option<Duration>,
}

impl Deadline {
    /// The timeout for the deadline, set on the stream through `set` when it changed. It
    /// shrinks as the deadline nears; it is set again only when it would overshoot by more than
    /// a sixteenth (plus a millisecond), to spare a system call on most calls.
    fn arm(&mut self, set: impl FnOnce(Option<Duration>) -> io::Result<()>) -> io::Result<Option<Duration>> {
        let wanted = self.at.map(|d| {
            // Round up, and never zero (which would mean "no timeout").
            let left = d.saturating_duration_since(Instant::now());
            Duration::from_millis(left.as_millis() as u64 + 1)
        });
        let reset = match (self.timeout, wanted) {
            (Some(current), Some(wanted)) => current > wanted + wanted / 16 + Duration::from_millis(1) || current < wanted,
            (current, wanted) => current != wanted,
        };
        if reset {
            set(wanted)?;
            self.timeout = wanted;
        }
        Ok(self.timeout)
    }
}

// Nothing here is ever pinned: blocking I/O takes `&mut S`.
impl<S> Unpin for BlockingIo<S> {}

impl<S> BlockingIo<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Self {
        BlockingIo { stream, read: Deadline::default(), write: Deadline::default() }
    }
}

impl<S: Stream> BlockingIo<S> {
    /// One blocking read through `read`, turning a timeout into `Pending`.
    fn read_blocking(&mut self, mut read: impl FnMut(&mut S) -> io::Result<usize>) -> Poll<io::Result<usize>> {
        let stream = &mut self.stream;
        match self.read.arm(|t| stream.set_read_timeout(t)) {
            Ok(timeout) => until_timeout(timeout, || read(stream)),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// One blocking write call (a write, a flush, a shutdown), turning a timeout into `Pending`.
    fn write_blocking<T>(&mut self, mut write: impl FnMut(&mut S) -> io::Result<T>) -> Poll<io::Result<T>> {
        let stream = &mut self.stream;
        match self.write.arm(|t| stream.set_write_timeout(t)) {
            Ok(timeout) => until_timeout(timeout, || write(stream)),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// Runs a blocking call that has `timeout` to return by. A call that waited for (most of) its
/// timeout timed out at the deadline: `Pending`, and the driver acts on the deadline when polled
/// again. One that returned at once is a non-blocking stream that would block.
fn until_timeout<T>(timeout: Option<Duration>, mut call: impl FnMut() -> io::Result<T>) -> Poll<io::Result<T>> {
    let started = std::time::Instant::now();
    loop {
        return match call() {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let waited = started.elapsed();
                if timeout.is_none_or(|t| waited < t / 2) {
                    WOULD_BLOCK.set(true);
                }
                Poll::Pending
            }
            other => Poll::Ready(other),
        };
    }
}

impl<S: Stream> Transport for BlockingIo<S> {
    type Inner = S;
    const BLOCKING: bool = true;

    fn poll_read_into(&mut self, _: &mut Context<'_>, conn: &mut Connection) -> Poll<io::Result<usize>> {
        let want = conn.read_hint();
        if want > STACK_READ {
            return self.read_blocking(|s| conn.input_buffer().read_with(want.min(MAX_DIRECT_READ), |room| s.read(room)));
        }
        let mut stack = [0u8; STACK_READ];
        let result = self.read_blocking(|s| s.read(&mut stack[..want]));
        if let Poll::Ready(Ok(n)) = result {
            conn.receive(&stack[..n]);
        }
        result
    }

    fn poll_read(&mut self, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read_blocking(|s| s.read(buf))
    }

    fn poll_write_vectored(&mut self, _: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.write_blocking(|s| s.write_vectored(bufs))
    }

    fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_blocking(|s| s.flush())
    }

    fn poll_shutdown(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_blocking(|s| s.shutdown_write())
    }

    fn set_read_deadline(&mut self, deadline: Option<Instant>) {
        self.read.at = deadline;
    }

    fn set_write_deadline(&mut self, deadline: Option<Instant>) {
        self.write.at = deadline;
    }

    fn get_ref(&self) -> &S {
        &self.stream
    }

    fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    fn into_inner(self) -> S {
        self.stream
    }
}

/// The system clock; a timer is a deadline that the blocking read waits for.
#[derive(Debug)]
pub struct Blocking;

impl Runtime for Blocking {
    type Timer = DeadlineTimer;

    fn now() -> Instant {
        Instant::now()
    }

    fn timer(deadline: Instant) -> DeadlineTimer {
        DeadlineTimer(deadline)
    }
}

/// A deadline, checked when polled.
#[derive(Debug)]
pub struct DeadlineTimer(Instant);

impl Timer for DeadlineTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0 = deadline;
    }

    fn poll_fired(&mut self, _: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.0 { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl Connector for Blocking {
    type Stream = crate::ClientStream;
    type Io = BlockingIo<crate::ClientStream>;

    fn io(stream: crate::ClientStream) -> Self::Io {
        BlockingIo::new(stream)
    }

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok((host, port).to_socket_addrs()?.collect())
    }

    async fn tcp(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<crate::ClientStream> {
        let tcp = match deadline {
            Some(d) => TcpStream::connect_timeout(&addr, d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))?,
            None => TcpStream::connect(addr)?,
        };
        tcp.set_nodelay(true)?;
        #[cfg(feature = "rustls")]
        return Ok(crate::MaybeTlsStream::Plain(tcp));
        #[cfg(not(feature = "rustls"))]
        Ok(tcp)
    }

    #[cfg(feature = "rustls")]
    async fn tls(
        stream: crate::ClientStream,
        name: rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        deadline: Option<Instant>,
    ) -> io::Result<crate::ClientStream> {
        let inner = name.clone();
        stream
            .add_server_tls(async |tcp| tls_handshake(tcp, name, tls, deadline), async |proxy| tls_handshake(proxy, inner, tls, deadline))
            .await
    }

    #[cfg(feature = "rustls")]
    async fn proxy_tls(
        stream: crate::ClientStream,
        name: rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        deadline: Option<Instant>,
    ) -> io::Result<crate::ClientStream> {
        stream.add_proxy_tls(async |tcp| tls_handshake(tcp, name, tls, deadline)).await
    }
}

/// TLS over `sock`, with the handshake done by `deadline`.
#[cfg(feature = "rustls")]
fn tls_handshake<S: crate::Stream>(
    mut sock: S,
    name: rustls::pki_types::ServerName<'static>,
    tls: &wsproto_io::tls::TlsConnector,
    deadline: Option<Instant>,
) -> io::Result<crate::tls::ClientTls<S>> {
    let mut conn = rustls::ClientConnection::new(tls.config().clone(), name).map_err(io::Error::other)?;
    // rustls would do the handshake lazily on the first write; do it now, within the deadline,
    // so that its failure is reported as a TLS failure.
    if let Some(d) = deadline {
        sock.set_read_timeout(Some(d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))?;
    }
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    sock.set_read_timeout(None)?;
    Ok(rustls::StreamOwned::new(conn, sock))
}
