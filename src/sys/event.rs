//! eventfd: a counter fd that polls readable once signalled (close wake-ups, Cancellable).

use std::os::fd::RawFd;

use super::{last_errno, SysResult};

/// A new non-blocking, close-on-exec eventfd.
pub fn new() -> SysResult<RawFd> {
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        Err(last_errno())
    } else {
        Ok(fd)
    }
}

/// Add one to the counter (the fd becomes readable). Best effort: a full counter is
/// already readable.
pub fn signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an fd the caller keeps open.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}
