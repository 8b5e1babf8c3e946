//! Giving freed memory back to the system, for `serve`.
//!
//! A connection that goes quiet frees its compression state (blocks of 45 to 400 KiB). glibc's
//! malloc keeps freed heap memory for reuse rather than returning it, so without help the
//! server's RSS stays where its busiest moment left it: about 100 KiB per idle compressed
//! connection instead of 7 (`scripts/idle_memory.sh 1000 deflate`). `malloc_trim` returns the free
//! pages; running it every few seconds costs a walk of the free lists, nothing on the hot path.
//! Allocators that return memory by themselves (jemalloc, mimalloc with purging) need none of
//! this; the library itself never calls it.

use std::time::Duration;

/// How often the free pages go back.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const TRIM_EVERY: Duration = Duration::from_secs(2);

/// Starts a task that calls `malloc_trim` every [`TRIM_EVERY`] (glibc only; elsewhere nothing).
pub(crate) fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut tick = tokio::time::interval(TRIM_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = std::time::Instant::now();
            // SAFETY: `malloc_trim` takes the allocator's own locks and only releases free pages;
            // it is safe to call from any thread at any time.
            unsafe {
                libc::malloc_trim(0);
            }
            tracing::trace!(took = ?started.elapsed(), "malloc_trim");
        }
    });
}
