//! The socket's file descriptor and its lifetime across threads.
//!
//! Every operation enters through [`SocketFd::enter`], which counts it as in flight. `close()`
//! marks the socket closed, wakes blocked waiters through a lazily created eventfd, and the fd
//! number itself is released only when the last in-flight operation leaves, so a recycled fd
//! number can never receive another socket's data.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};

/// Owner of a socket fd shared by concurrent operations.
pub struct SocketFd {
    fd: AtomicI32,
    wake: AtomicI32,
    closed: AtomicBool,
    inflight: AtomicUsize,
}

/// Proof that an operation is in flight: the fd stays open while it lives.
pub struct FdGuard<'a> {
    owner: &'a SocketFd,
    /// The open socket fd.
    pub fd: RawFd,
}

impl Drop for FdGuard<'_> {
    fn drop(&mut self) {
        let _ = self.owner.leave();
    }
}

impl FdGuard<'_> {
    /// The eventfd that `close()` signals, created on first use; `None` if eventfd failed
    /// (the wait then simply cannot be woken by close, only by its timeout/cancellable).
    pub fn wake_fd(&self) -> Option<RawFd> {
        let current = self.owner.wake.load(SeqCst);
        if current >= 0 {
            return Some(current);
        }
        // SAFETY: plain syscall; result checked.
        let new = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if new < 0 {
            return None;
        }
        match self.owner.wake.compare_exchange(-1, new, SeqCst, SeqCst) {
            Ok(_) => Some(new),
            Err(existing) => {
                // SAFETY: `new` is ours and unused; another thread installed its own.
                unsafe { libc::close(new) };
                Some(existing)
            }
        }
    }

    /// Whether `close()` has been called (checked after the wake fd exists, see module doc).
    pub fn closed(&self) -> bool {
        self.owner.closed.load(SeqCst)
    }

    /// Keep the operation in flight beyond this borrow (an event-loop wait spans several
    /// Python calls). The caller must call [`SocketFd::leave_detached`] exactly once later.
    pub fn detach(self) {
        std::mem::forget(self);
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
        }
    }

    /// Enter an operation; `None` once closed.
    pub fn enter(&self) -> Option<FdGuard<'_>> {
        self.inflight.fetch_add(1, SeqCst);
        if self.closed.load(SeqCst) {
            self.leave();
            return None;
        }
        Some(FdGuard {
            owner: self,
            fd: self.fd.load(SeqCst),
        })
    }

    /// End an operation kept in flight by [`FdGuard::detach`]; releases the fd if `close()`
    /// happened meanwhile and this was the last operation. Returns a failed `close(2)`'s errno.
    pub fn leave_detached(&self) -> Option<i32> {
        self.leave()
    }

    fn leave(&self) -> Option<i32> {
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
        // Count the close itself as in flight so the wake fd stays open while we signal it.
        self.inflight.fetch_add(1, SeqCst);
        if self.closed.swap(true, SeqCst) {
            self.leave();
            return None;
        }
        let wake = self.wake.load(SeqCst);
        if wake >= 0 {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our eventfd, kept open by the
            // in-flight count taken above.
            unsafe { libc::write(wake, (&one as *const u64).cast(), 8) };
        }
        self.leave()
    }

    fn release(&self) -> Option<i32> {
        let mut failure = None;
        let fd = self.fd.swap(-1, SeqCst);
        if fd >= 0 {
            // SAFETY: we own `fd`; the swap guarantees it is closed exactly once.
            if unsafe { libc::close(fd) } < 0 {
                let errno = crate::error::last_errno();
                if errno != libc::EINTR {
                    failure = Some(errno);
                }
            }
        }
        let wake = self.wake.swap(-1, SeqCst);
        if wake >= 0 {
            // SAFETY: we own the wake eventfd; the swap guarantees a single close.
            unsafe { libc::close(wake) };
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
