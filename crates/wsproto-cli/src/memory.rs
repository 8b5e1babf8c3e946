//! Giving freed memory back to the system, for `serve`.
//!
//! A connection that goes quiet frees its compression state (blocks of 45 to 400 KiB). glibc's
//! malloc keeps freed heap memory for reuse rather than returning it, so without help the
//! server's RSS stays where its busiest moment left it: about 100 KiB per idle compressed
//! connection instead of 7 (`scripts/idle_memory.sh 1000 deflate`). `malloc_trim` returns the free
//! pages; running it every few seconds costs a walk of the free lists, nothing on the hot path.
//!
//! The largest of those blocks, a deflate state (about 370 KiB at the default window and memory
//! level: window, hash chains and buffers in one allocation in zlib-rs), should not be in the
//! heap at all. glibc maps blocks of 128 KiB and more with `mmap`, but raises that threshold to
//! the size of each mapped block it frees: after the first compressed connection ends, every
//! deflate state comes from the heap, where small allocations settle in the holes freed states
//! leave, and the heap grows to the busiest moment's size and stays there. Pinning the threshold
//! at 128 KiB keeps deflate states mapped, so each one goes back to the system when it is freed;
//! messages under 128 KiB still come from the heap. The soak runs that showed the difference are
//! in docs/performance.md ("Soak").
//!
//! Allocators that return memory by themselves (jemalloc, mimalloc with purging) need none of
//! this; the library itself never calls it.

use std::time::Duration;

/// How often the free pages go back.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const TRIM_EVERY: Duration = Duration::from_secs(2);

/// Blocks of this size and more are mapped, never taken from the heap (glibc's own starting value).
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const MAP_FROM: usize = 128 * 1024;

/// Sets glibc's malloc up to give freed memory back (glibc only; elsewhere nothing): pins its
/// mmap threshold at [`MAP_FROM`] and starts a task that calls `malloc_trim` every [`TRIM_EVERY`].
/// Call it once, before the first connection.
pub(crate) fn give_freed_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets a parameter of the allocator, under its own lock. It returns
        // 0 only for an unknown parameter; the default threshold is then kept.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MAP_FROM as libc::c_int);
        }
        tokio::spawn(async {
            let mut tick = tokio::time::interval(TRIM_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let started = std::time::Instant::now();
                // SAFETY: `malloc_trim` takes the allocator's own locks and only releases free
                // pages; it is safe to call from any thread at any time.
                unsafe {
                    libc::malloc_trim(0);
                }
                tracing::trace!(took = ?started.elapsed(), "malloc_trim");
            }
        });
    }
}
