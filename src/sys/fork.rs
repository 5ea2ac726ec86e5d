//! Fork awareness without a syscall per call: a generation counter that the child side of
//! `pthread_atfork` bumps. State counted per thread (in-flight operations) that was taken in
//! the parent belongs to threads the child does not have.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, SeqCst);
}

/// Install the fork handler (once per process; called at module init).
pub fn watch() {
    REGISTER.call_once(|| {
        // SAFETY: registers a plain extern "C" function that only touches an atomic, which
        // is async-signal-safe as the child side of fork requires.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    });
}

/// How many forks this process is away from the one that loaded the module.
#[inline]
pub fn generation() -> u64 {
    GENERATION.load(SeqCst)
}
