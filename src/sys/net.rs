//! Socket syscalls: creation, bind/listen/accept/connect/shutdown, the plain data calls and
//! the ioctls. socket2's `SockRef` where it covers the call; libc for the hot data paths and
//! what socket2 lacks. Every function returns `Err(errno)`.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

use socket2::{SockAddr, SockRef};

use super::{count, last_errno, SysResult};

/// `SOCK_STREAM`.
pub const SOCK_STREAM: i32 = libc::SOCK_STREAM;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: i32 = libc::SOCK_DGRAM;
/// `SOCK_SEQPACKET`.
pub const SOCK_SEQPACKET: i32 = libc::SOCK_SEQPACKET;

fn errno_of(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Run `f` on a borrowed socket2 view of `fd`.
fn with_ref<T>(fd: RawFd, f: impl FnOnce(SockRef<'_>) -> io::Result<T>) -> SysResult<T> {
    // SAFETY: callers pass an fd they keep open for the whole call (an in-flight guard).
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    f(SockRef::from(&borrowed)).map_err(errno_of)
}

/// `socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol)`.
pub fn socket(family: i32, native_type: i32, protocol: i32) -> SysResult<RawFd> {
    // SAFETY: plain syscall; the result is checked.
    let fd = unsafe {
        libc::socket(
            family,
            native_type | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            protocol,
        )
    };
    if fd < 0 {
        Err(last_errno())
    } else {
        Ok(fd)
    }
}

/// `close(fd)`; EINTR counts as closed (Linux always releases the fd).
pub fn close(fd: RawFd) -> SysResult<()> {
    // SAFETY: the caller owns `fd` and closes it exactly once.
    if unsafe { libc::close(fd) } < 0 {
        let errno = last_errno();
        if errno != libc::EINTR {
            return Err(errno);
        }
    }
    Ok(())
}

/// `bind`.
pub fn bind(fd: RawFd, addr: &SockAddr) -> SysResult<()> {
    with_ref(fd, |s| s.bind(addr))
}

/// `listen`.
pub fn listen(fd: RawFd, backlog: i32) -> SysResult<()> {
    with_ref(fd, |s| s.listen(backlog))
}

/// `accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)`: the new fd.
pub fn accept(fd: RawFd) -> SysResult<RawFd> {
    // SAFETY: null address pointers are allowed; the new fd is checked.
    let new = unsafe {
        libc::accept4(
            fd,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
        )
    };
    if new < 0 {
        Err(last_errno())
    } else {
        Ok(new)
    }
}

/// `connect` (EINPROGRESS / EINTR / EAGAIN come back as errnos for the caller to handle).
pub fn connect(fd: RawFd, addr: &SockAddr) -> SysResult<()> {
    // SAFETY: `addr` is a valid sockaddr of `len()` bytes.
    if unsafe { libc::connect(fd, addr.as_ptr().cast(), addr.len()) } < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `shutdown(fd, how)`: reading and/or writing (both false does nothing).
pub fn shutdown(fd: RawFd, read: bool, write: bool) -> SysResult<()> {
    let how = match (read, write) {
        (false, false) => return Ok(()),
        (true, true) => std::net::Shutdown::Both,
        (true, false) => std::net::Shutdown::Read,
        (false, true) => std::net::Shutdown::Write,
    };
    with_ref(fd, |s| s.shutdown(how))
}

/// `sendto(fd, data, MSG_NOSIGNAL, to)` (`send` when `to` is None).
#[inline]
pub fn send_to(fd: RawFd, data: *const u8, len: usize, to: Option<&SockAddr>) -> SysResult<usize> {
    let (name, namelen) = to.map_or((std::ptr::null(), 0), |a| {
        (a.as_ptr().cast::<libc::sockaddr>(), a.len())
    });
    // SAFETY: the caller guarantees `data`/`len` describe readable memory held for the call;
    // `name` is null or a live sockaddr of `namelen` bytes.
    count(unsafe { libc::sendto(fd, data.cast(), len, libc::MSG_NOSIGNAL, name, namelen) })
}

/// `recv(fd, buf, len, flags)`.
#[inline]
pub fn recv(fd: RawFd, buf: *mut u8, len: usize, flags: i32) -> SysResult<usize> {
    // SAFETY: the caller guarantees `buf`/`len` describe writable memory held for the call.
    count(unsafe { libc::recv(fd, buf.cast(), len, flags) })
}

/// `recvfrom(fd, buf, len, 0)` with the sender (None when the OS reports no address).
pub fn recv_from(fd: RawFd, buf: *mut u8, len: usize) -> SysResult<(usize, Option<SockAddr>)> {
    // SAFETY: the caller guarantees `buf`/`len` describe writable memory held for the call;
    // socket2 provides zeroed address storage and its size.
    let result = unsafe {
        SockAddr::try_init(|storage, addrlen| {
            let n = libc::recvfrom(fd, buf.cast(), len, 0, storage.cast(), addrlen);
            if n < 0 {
                Err(io::Error::from_raw_os_error(last_errno()))
            } else {
                Ok(n as usize)
            }
        })
    };
    match result {
        Ok((n, addr)) if addr.len() == 0 => Ok((n, None)),
        Ok((n, addr)) => Ok((n, Some(addr))),
        Err(e) => Err(errno_of(e)),
    }
}

/// The size of the next queued datagram, 0 when none (`MSG_PEEK | MSG_TRUNC`).
pub fn next_datagram_size(fd: RawFd) -> SysResult<usize> {
    match recv(
        fd,
        std::ptr::null_mut(),
        0,
        libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT,
    ) {
        Err(libc::EAGAIN) => Ok(0),
        other => other,
    }
}

/// Bytes readable on a stream (`FIONREAD`).
pub fn readable_bytes(fd: RawFd) -> SysResult<usize> {
    let mut avail: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `avail`.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut avail) } < 0 {
        return Err(last_errno());
    }
    Ok(avail.max(0) as usize)
}
