//! Thin, checked wrappers over the libc calls the crate uses in several places.
//! Each returns `Err(errno)` on failure.

use std::os::fd::RawFd;

use socket2::SockAddr;

use crate::error::last_errno;

/// A byte- or message-count syscall's return value: `Ok(count)`, or `Err(errno)` when negative.
#[inline]
pub fn count(n: isize) -> Result<usize, i32> {
    if n < 0 {
        Err(last_errno())
    } else {
        Ok(n as usize)
    }
}

/// Make `fd` non-blocking and close-on-exec (best effort, as GIO).
pub fn set_nonblock_cloexec(fd: RawFd) {
    // SAFETY: fcntl on an fd we own; failures are ignored as in GIO.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 && flags & libc::O_NONBLOCK == 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        let fdflags = libc::fcntl(fd, libc::F_GETFD);
        if fdflags >= 0 && fdflags & libc::FD_CLOEXEC == 0 {
            libc::fcntl(fd, libc::F_SETFD, fdflags | libc::FD_CLOEXEC);
        }
    }
}

/// `getsockopt` of an int-sized option.
pub fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> Result<i32, i32> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value`/`len` are live and sized for an int option.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(last_errno());
    }
    // Some options (e.g. IP_MULTICAST_LOOP on some systems) are a single byte.
    if len == 1 {
        return Ok(value & 0xff);
    }
    Ok(value)
}

/// `setsockopt` of an int-sized option.
pub fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> Result<(), i32> {
    setsockopt_raw(fd, level, name, &value)
}

/// `setsockopt` with any plain-data option struct.
pub fn setsockopt_raw<T>(fd: RawFd, level: i32, name: i32, value: &T) -> Result<(), i32> {
    // SAFETY: `value` is a live T and we pass its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

fn name_of(fd: RawFd, peer: bool) -> Result<SockAddr, i32> {
    // SAFETY: socket2 gives us zeroed storage and its size; the call fills at most that.
    unsafe {
        SockAddr::try_init(|storage, len| {
            let rc = if peer {
                libc::getpeername(fd, storage.cast(), len)
            } else {
                libc::getsockname(fd, storage.cast(), len)
            };
            if rc < 0 {
                Err(std::io::Error::from_raw_os_error(last_errno()))
            } else {
                Ok(())
            }
        })
    }
    .map(|((), addr)| addr)
    .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
}

/// `getsockname`.
pub fn getsockname(fd: RawFd) -> Result<SockAddr, i32> {
    name_of(fd, false)
}

/// `getpeername`.
pub fn getpeername(fd: RawFd) -> Result<SockAddr, i32> {
    name_of(fd, true)
}
pub mod cmsg;
