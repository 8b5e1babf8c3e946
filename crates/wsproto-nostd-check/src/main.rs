//! Builds the core without std and drives a client and a server through a handshake and a
//! compressed message. If std is linked in anywhere, the `#[panic_handler]` below collides with
//! std's and the build fails. Exits 0 on success.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};
use wsproto::handshake::Accept;
use wsproto::{ClientRequest, Config, Connection, Event, Instant, SeededRandom};

// The C runtime provides the process entry point, `memcpy` and friends, and `abort`; nothing of
// Rust's std is used.
#[link(name = "c")]
unsafe extern "C" {
    fn abort() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: libc's abort takes no arguments and never returns.
    unsafe { abort() }
}

// The precompiled `alloc` was built for unwinding and names these two symbols. With
// `panic = "abort"` nothing ever unwinds, so they are never called.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: as in the panic handler.
    unsafe { abort() }
}

/// A bump allocator over a static arena: enough for one short session, and no libc malloc.
struct Bump;

const ARENA_SIZE: usize = 32 << 20;
static mut ARENA: [u8; ARENA_SIZE] = [0; ARENA_SIZE];
static NEXT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every allocation gets a disjoint, suitably aligned range of the arena; nothing is freed.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = core::ptr::addr_of_mut!(ARENA) as usize;
        let mut start = 0;
        let claimed = NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
            start = (base + next).next_multiple_of(layout.align()) - base;
            let end = start + layout.size();
            (end <= ARENA_SIZE).then_some(end)
        });
        match claimed {
            Ok(_) => (base + start) as *mut u8,
            Err(_) => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;

fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.drain_output_into(&mut out);
    out
}

fn run() -> bool {
    let config = Config::default().with_deflate();
    let request = ClientRequest::new("localhost", 80, "/nostd", false);
    let Ok(mut client) = Connection::client(&request, config.clone(), Box::new(SeededRandom::new(9)), Instant::ZERO) else {
        return false;
    };
    let mut server = Connection::server(config, Instant::ZERO);
    server.receive(&drain(&mut client));
    if !matches!(server.poll_event(), Some(Event::Request(_))) || server.accept(Accept::new()).is_err() {
        return false;
    }
    client.receive(&drain(&mut server));
    if !matches!(client.poll_event(), Some(Event::Connected(_))) {
        return false;
    }
    let text = "no_std, no problem; no_std, no problem; no_std, no problem";
    if client.send_text(text).is_err() {
        return false;
    }
    let wire = drain(&mut client);
    // The message went out compressed (RSV1 set).
    if wire.first() != Some(&0xC1) {
        return false;
    }
    server.receive(&wire);
    matches!(server.poll_event(), Some(Event::Text(t)) if t == text)
}

#[unsafe(no_mangle)]
extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    if run() { 0 } else { 1 }
}
