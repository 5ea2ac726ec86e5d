//! THE OS layer: every libc call, every `unsafe` FFI site and every platform `cfg` of the
//! crate lives under `src/sys/` (buffers and vectors hold raw pointers into Python memory in
//! their own modules). Functions return `Err(errno)` ([`SysResult`]) and know nothing of
//! Python; the glue modules turn errnos into `giosocket.Error`s.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "giosocket supports Linux only: it relies on eventfd, ppoll, accept4, recvmmsg/sendmmsg, \
     SO_PEERCRED/SCM_CREDENTIALS and UDP GSO/GRO"
);

pub mod addr;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cmsg;
pub mod creds;
pub mod errno;
pub mod eventfd;
pub mod fork;
pub mod mmsg;
pub mod multicast;
pub mod net;
pub mod os;
pub mod poll;

use std::os::fd::RawFd;

use socket2::SockAddr;

/// A syscall's result: the value, or the errno it failed with.
pub type SysResult<T> = Result<T, i32>;

/// The calling thread's last OS error number.
#[inline]
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The names the glue uses most, also at `sys::` directly.
pub use os::{
    AF_INET, AF_INET6, AF_UNIX, IPPROTO_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPV6_V6ONLY,
    SOL_SOCKET, SO_DOMAIN, SO_ERROR, SO_KEEPALIVE, SO_REUSEADDR, SO_REUSEPORT, SO_TYPE,
    TCP_NODELAY,
};

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
