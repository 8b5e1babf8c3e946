//! Graceful shutdown for upgraded connections, which axum's own graceful shutdown does not see:
//! once hyper hands a connection over, it is no longer hyper's to drain.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Tracks the WebSockets opened through it and, on [`shutdown`](Shutdown::shutdown), sends each
/// a close with 1001 (going away) and waits a bounded time for them to finish.
///
/// Put it in the request extensions (axum's `Extension` layer) to cover every route, or pass it
/// to [`WebSocketUpgrade::shutdown`](crate::WebSocketUpgrade::shutdown).
///
/// ```no_run
/// # async fn run(app: axum::Router, listener: tokio::net::TcpListener) {
/// use std::time::Duration;
/// use wsproto_axum::Shutdown;
///
/// let shutdown = Shutdown::new();
/// let app = app.layer(axum::Extension(shutdown.clone()));
/// axum::serve(listener, app).with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap() }).await.unwrap();
/// let still_open = shutdown.shutdown(Duration::from_secs(5)).await;
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A shutdown with no WebSockets yet.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// How many WebSocket tasks are running.
    pub fn open(&self) -> usize {
        self.tracker.len()
    }

    /// Sends 1001 to every open WebSocket (and to any opened from now on), then waits until
    /// they have all finished or `timeout` has passed; returns how many are still running.
    ///
    /// The close goes out the next time a handler reads from or sends on its [`WebSocket`](crate::WebSocket)
    /// (a handler that loops on `next()`, as most do, sees it at once); the handler then reads
    /// until the client's answering close ends the stream. Tasks still running after `timeout`
    /// are left to the runtime.
    ///
    /// Cancel safety: dropping the future stops the waiting; the closes are sent regardless.
    pub async fn shutdown(&self, timeout: Duration) -> usize {
        self.token.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(timeout, self.tracker.wait()).await;
        self.tracker.len()
    }

    pub(crate) fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        drop(self.tracker.spawn(task));
    }
}
