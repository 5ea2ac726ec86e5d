//! The eventfd behind a `Cancellable`: readable while it holds a non-zero count.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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
pub fn signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd we own. It can only fail when the
    // count would overflow, which one signal per reset never reaches.
    unsafe {
        libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8);
    }
}

/// Reset the count to 0: the fd stops being readable.
pub fn drain(fd: &OwnedFd) {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd; EAGAIN (count
    // already 0) leaves nothing to do.
    unsafe {
        libc::read(fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8);
    }
}
