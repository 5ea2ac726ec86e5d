//! eventfd: readable while it holds a non-zero count (a `Cancellable`, a socket's close
//! wake-up).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A new non-blocking, close-on-exec eventfd with count 0.
pub fn new() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created by eventfd and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Add 1 to the count: the fd becomes readable.
pub fn signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd the caller keeps open. It can only
    // fail when the count would overflow, which one signal per reset never reaches.
    unsafe {
        libc::write(fd, (&one as *const u64).cast(), 8);
    }
}

/// Reset the count to 0: the fd stops being readable.
pub fn drain(fd: RawFd) {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64 from an eventfd the caller keeps open
    // (non-blocking: EAGAIN, count already 0, leaves nothing to do).
    unsafe {
        libc::read(fd, (&mut value as *mut u64).cast(), 8);
    }
}
