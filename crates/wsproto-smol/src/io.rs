//! The futures-io side of the driver's seams: the transport, the clock, and `connect`'s TCP and
//! TLS.

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use wsproto_io::wsproto::{Connection, Instant};
use wsproto_io::{Connector, Runtime, Timer, Transport};

/// Reads of up to this many bytes go through a buffer on the stack, so that an idle connection
/// holds no read buffer. futures-io wants initialized memory, so this one is zeroed per read;
/// larger reads (the rest of a big frame) go straight into the connection's input buffer.
const STACK_READ: usize = 8 << 10;

/// The most a direct read asks for at once.
const MAX_DIRECT_READ: usize = 1 << 20;

/// A futures-io `AsyncRead + AsyncWrite` as the driver's transport.
#[derive(Debug)]
pub struct SmolIo<S>(S);

impl<S> SmolIo<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Self {
        SmolIo(stream)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for SmolIo<S> {
    type Inner = S;

    fn poll_read_into(&mut self, cx: &mut Context<'_>, conn: &mut Connection) -> Poll<io::Result<usize>> {
        let want = conn.read_hint();
        if want > STACK_READ {
            let stream = Pin::new(&mut self.0);
            let mut pending = false;
            let result = conn.input_buffer().read_with(want.min(MAX_DIRECT_READ), |room| match stream.poll_read(cx, room) {
                Poll::Ready(r) => r,
                Poll::Pending => {
                    pending = true;
                    Ok(0)
                }
            });
            return if pending { Poll::Pending } else { Poll::Ready(result) };
        }
        let mut stack = [0u8; STACK_READ];
        let n = ready!(Pin::new(&mut self.0).poll_read(cx, &mut stack[..want]))?;
        conn.receive(&stack[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
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

/// async-io's clock, timers and networking (smol's reactor).
#[derive(Debug)]
pub struct Smol;

impl Runtime for Smol {
    type Timer = SmolTimer;

    fn now() -> Instant {
        Instant::now()
    }

    fn timer(deadline: Instant) -> SmolTimer {
        SmolTimer(async_io::Timer::at(deadline.to_std()))
    }
}

/// A re-armable async-io timer.
#[derive(Debug)]
pub struct SmolTimer(async_io::Timer);

impl Timer for SmolTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.set_at(deadline.to_std());
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Connector for Smol {
    type Stream = crate::ClientStream;
    type Io = SmolIo<crate::ClientStream>;

    fn io(stream: crate::ClientStream) -> Self::Io {
        SmolIo::new(stream)
    }

    async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        async_net::resolve((host, port)).await
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
        name: futures_rustls::rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        _deadline: Option<Instant>,
    ) -> io::Result<crate::ClientStream> {
        let connector = futures_rustls::TlsConnector::from(tls.config().clone());
        let inner = name.clone();
        stream.add_server_tls(async |tcp| connector.connect(name, tcp).await, async |proxy| connector.connect(inner, proxy).await).await
    }

    #[cfg(feature = "rustls")]
    async fn proxy_tls(
        stream: crate::ClientStream,
        name: futures_rustls::rustls::pki_types::ServerName<'static>,
        tls: &wsproto_io::tls::TlsConnector,
        _deadline: Option<Instant>,
    ) -> io::Result<crate::ClientStream> {
        let connector = futures_rustls::TlsConnector::from(tls.config().clone());
        stream.add_proxy_tls(async |tcp| connector.connect(name, tcp).await).await
    }
}
