//! The socket's file descriptor and its lifetime across threads (and forks).
//!
//! Every operation enters through [`SocketFd::enter`], which counts it as in flight. `close()`
//! marks the socket closed, wakes blocked waiters through an eventfd created on the first
//! blocking wait, and the fd number itself is released only when the last in-flight
//! operation leaves, so a recycled fd number can never receive another socket's data.
//!
//! After `fork()` the child has only the forking thread: operations that parent threads had
//! in flight will never leave there. The first use of the socket in a new fork generation
//! (see [`crate::sys::fork`]) forgets them and drops the parent's close wake-up (which the
//! parent still uses), so `close()` in a child releases the fd at once.

use std::os::fd::{IntoRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::SeqCst};

use crate::sys;

/// Marks a generation change in progress (see [`SocketFd::sync_fork`]).
const SWITCHING: u64 = u64::MAX;

/// Owner of a socket fd shared by concurrent operations.
pub struct SocketFd {
    fd: AtomicI32,
    wake: AtomicI32,
    closed: AtomicBool,
    inflight: AtomicUsize,
    generation: AtomicU64,
}

/// Proof that an operation is in flight: the fd stays open while it lives.
pub struct FdGuard<'a> {
    owner: &'a SocketFd,
    generation: u64,
    /// The open socket fd.
    pub fd: RawFd,
}

impl Drop for FdGuard<'_> {
    fn drop(&mut self) {
        let _ = self.owner.leave(self.generation);
    }
}

impl FdGuard<'_> {
    /// The eventfd that `close()` signals, created on first use; `None` when no fd can be
    /// made (EMFILE): waiters then poll in short slices and watch the closed flag instead.
    pub fn wake_fd(&self) -> Option<RawFd> {
        let current = self.owner.wake.load(SeqCst);
        if current >= 0 {
            return Some(current);
        }
        let new = sys::eventfd::new().ok()?.into_raw_fd();
        match self.owner.wake.compare_exchange(-1, new, SeqCst, SeqCst) {
            Ok(_) => Some(new),
            Err(existing) => {
                // Another thread installed its own first; `new` is ours and unused.
                let _ = sys::net::close(new);
                Some(existing)
            }
        }
    }

    /// Whether `close()` has been called (checked after the wake fd exists, see module doc).
    pub fn closed(&self) -> bool {
        self.owner.closed.load(SeqCst)
    }

    /// Keep the operation in flight beyond this borrow (an event-loop wait spans several
    /// Python calls). Returns the token to hand to [`SocketFd::leave_detached`] exactly once.
    pub fn detach(self) -> u64 {
        let generation = self.generation;
        std::mem::forget(self);
        generation
    }
}

impl SocketFd {
    /// Take ownership of an open fd.
    pub fn new(fd: RawFd) -> Self {
        SocketFd {
            fd: AtomicI32::new(fd),
            wake: AtomicI32::new(-1),
            closed: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            generation: AtomicU64::new(sys::fork::generation()),
        }
    }

    /// In a process forked since the socket was last used: forget the parent's in-flight
    /// operations and its close wake-up. Returns the current generation.
    #[inline]
    fn sync_fork(&self) -> u64 {
        let now = sys::fork::generation();
        loop {
            let seen = self.generation.load(SeqCst);
            if seen == now {
                return now;
            }
            if seen == SWITCHING {
                // Another thread of this child is switching; it finishes in a few instructions.
                std::thread::yield_now();
                continue;
            }
            if self
                .generation
                .compare_exchange(seen, SWITCHING, SeqCst, SeqCst)
                .is_ok()
            {
                self.inflight.store(0, SeqCst);
                let wake = self.wake.swap(-1, SeqCst);
                if wake >= 0 {
                    // The child's copy of the parent's eventfd: closing it leaves the parent's.
                    let _ = sys::net::close(wake);
                }
                self.generation.store(now, SeqCst);
                return now;
            }
        }
    }

    /// Enter an operation; `None` once closed.
    #[inline]
    pub fn enter(&self) -> Option<FdGuard<'_>> {
        let generation = self.sync_fork();
        self.inflight.fetch_add(1, SeqCst);
        if self.closed.load(SeqCst) {
            self.leave(generation);
            return None;
        }
        Some(FdGuard {
            owner: self,
            generation,
            fd: self.fd.load(SeqCst),
        })
    }

    /// End an operation kept in flight by [`FdGuard::detach`] (pass its token); releases the
    /// fd if `close()` happened meanwhile and this was the last operation. Returns a failed
    /// `close(2)`'s errno.
    pub fn leave_detached(&self, token: u64) -> Option<i32> {
        self.leave(token)
    }

    fn leave(&self, generation: u64) -> Option<i32> {
        if generation != self.generation.load(SeqCst) {
            // Entered before a fork, in the parent: not counted in this process any more.
            return None;
        }
        if self.inflight.fetch_sub(1, SeqCst) == 1 && self.closed.load(SeqCst) {
            return self.release();
        }
        None
    }

    /// The fd, or -1 once closed.
    pub fn raw(&self) -> RawFd {
        if self.closed.load(SeqCst) {
            -1
        } else {
            self.fd.load(SeqCst)
        }
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }

    /// Close: wake waiters; release the fd now if nothing is in flight. Returns the errno of
    /// `close(2)` when it ran here and failed. Idempotent: later calls do nothing.
    pub fn close(&self) -> Option<i32> {
        let generation = self.sync_fork();
        // Count the close itself as in flight so the wake fd stays open while we signal it.
        self.inflight.fetch_add(1, SeqCst);
        if self.closed.swap(true, SeqCst) {
            self.leave(generation);
            return None;
        }
        let wake = self.wake.load(SeqCst);
        if wake >= 0 {
            sys::eventfd::signal(wake);
        }
        self.leave(generation)
    }

    fn release(&self) -> Option<i32> {
        let mut failure = None;
        let fd = self.fd.swap(-1, SeqCst);
        if fd >= 0 {
            // The swap guarantees the fd is closed exactly once.
            failure = sys::net::close(fd).err();
        }
        let wake = self.wake.swap(-1, SeqCst);
        if wake >= 0 {
            let _ = sys::net::close(wake);
        }
        failure
    }
}

impl Drop for SocketFd {
    fn drop(&mut self) {
        self.closed.store(true, SeqCst);
        self.release();
    }
}
