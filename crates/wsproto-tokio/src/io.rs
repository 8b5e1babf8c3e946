//! The tokio side of the driver's seams: the transport, the clock, and `connect`'s TCP and TLS.

use bytes::BufMut;
use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wsproto_io::wsproto::{Connection, Instant};
use wsproto_io::{Connector, Runtime, Timer, Transport};

/// Reads of up to this many bytes go through a buffer on the stack, so that an idle connection
/// holds no read buffer at all. Larger reads (the rest of a big frame) go straight into the
/// connection's input buffer, without a copy.
const STACK_READ: usize = 16 << 10;

/// The most a direct read asks for at once.
const MAX_DIRECT_READ: usize = 1 << 20;

/// A tokio `AsyncRead + AsyncWrite` as the driver's transport.
#[derive(Debug)]
pub struct TokioIo<S>(S);

impl<S> TokioIo<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Self {
        TokioIo(stream)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for TokioIo<S> {
    type Inner = S;

    fn poll_read_into(&mut self, cx: &mut Context<'_>, conn: &mut Connection) -> Poll<io::Result<usize>> {
        let want = conn.read_hint();
        if want > STACK_READ {
            let want = want.min(MAX_DIRECT_READ);
            let mut buf = conn.input_buffer();
            buf.reserve(want);
            // At most `want`: a read that ran past the end of a large frame would leave the next
            // frame's bytes to be moved when the frame leaves the buffer (see `read_hint`).
            return tokio_util::io::poll_read_buf(Pin::new(&mut self.0), cx, &mut (&mut buf).limit(want));
        }
        let mut stack = [const { MaybeUninit::<u8>::uninit() }; STACK_READ];
        let mut buf = ReadBuf::uninit(&mut stack[..want]);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        conn.receive(buf.filled());
        Poll::Ready(Ok(buf.filled().len()))
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if bufs.len() > 1 && self.0.is_write_vectored() {
            Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
        } else {
            // One chunk (the usual case: small frames are coalesced) is a plain write; streams
            // without vectored writes (TLS) take the first chunk, and the driver loops.
            Pin::new(&mut self.0).poll_write(cx, bufs.first().map_or(&[][..], |b| &b[..]))
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn get_ref(&self) -> &S {
        &self.0
    }

    fn get_mut(&mut self) -> &mut S {
        &mut self.0
    }

    fn into_inner(self) -> S {
        self.0
    }
}

/// tokio's clock, timers and networking. The clock is tokio's, so paused test time works.
#[derive(Debug)]
pub struct Tokio;

impl Runtime for Tokio {
    type Timer = TokioTimer;

    fn now() -> Instant {
        Instant::from(tokio::time::Instant::now().into_std())
    }

    fn timer(deadline: Instant) -> TokioTimer {
        TokioTimer(Box::pin(tokio::time::sleep_until(to_tokio(deadline))))
    }
}

fn to_tokio(t: Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(t.to_std())
}

/// A re-armable tokio sleep.
#[derive(Debug)]
pub struct TokioTimer(Pin<Box<tokio::time::Sleep>>);

impl Timer for TokioTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.as_mut().reset(to_tokio(deadline));
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Connector for Tokio {
    type Stream = crate::ClientStream;
    type Io = TokioIo<crate::ClientStream>;

    fn io(stream: crate::ClientStream) -> Self::Io {
        TokioIo::new(stream)
    }

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }

    async fn tcp(addr: SocketAddr, _deadline: Option<Instant>) -> io::Result<crate::ClientStream> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        #[cfg(feature = "rustls")]
        return Ok(crate::MaybeTlsStream::Plain(tcp));
        #[cfg(not(feature = "rustls"))]
        Ok(tcp)
    }

    #[cfg(feature = "rustls")]
    async fn tls(
        stream: crate::ClientStream,
        name: tokio_rustls::rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        _deadline: Option<Instant>,
    ) -> io::Result<crate::ClientStream> {
        let connector = tokio_rustls::TlsConnector::from(tls.config().clone());
        let inner = name.clone();
        stream.add_server_tls(async |tcp| connector.connect(name, tcp).await, async |proxy| connector.connect(inner, proxy).await).await
    }

    #[cfg(feature = "rustls")]
    async fn proxy_tls(
        stream: crate::ClientStream,
        name: tokio_rustls::rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        _deadline: Option<Instant>,
    ) -> io::Result<crate::ClientStream> {
        let connector = tokio_rustls::TlsConnector::from(tls.config().clone());
        stream.add_proxy_tls(async |tcp| connector.connect(name, tcp).await).await
    }
}
