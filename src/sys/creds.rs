//! Process credentials: the calling process's ids and a connected UNIX socket's peer
//! (SO_PEERCRED on Linux; `getpeereid` + LOCAL_PEERPID on the BSDs and macOS).

use std::io;
use std::os::fd::RawFd;

/// A process's `(pid, uid, gid)`; pid -1 where the OS does not report it.
pub type Ids = (i32, u32, u32);

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The calling process's pid, effective uid and effective gid.
pub fn current() -> Ids {
    // SAFETY: getpid/geteuid/getegid cannot fail.
    unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) }
}

/// Whether this OS can read a peer's credentials ([`peer`]).
pub const PEER_SUPPORTED: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
));

/// The peer's credentials of the connected UNIX socket `fd` (SO_PEERCRED's `struct ucred`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer(fd: RawFd) -> Result<Ids, i32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred`/`len` are live and sized for SO_PEERCRED's struct ucred.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(last_errno());
    }
    Ok((cred.pid, cred.uid, cred.gid))
}

/// The peer's credentials of the connected UNIX socket `fd` (`getpeereid`, plus the pid from
/// LOCAL_PEERPID on macOS).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
))]
pub fn peer(fd: RawFd) -> Result<Ids, i32> {
    let mut uid: libc::uid_t = u32::MAX;
    let mut gid: libc::gid_t = u32::MAX;
    // SAFETY: `uid`/`gid` are live out-parameters.
    if unsafe { libc::getpeereid(fd, &mut uid, &mut gid) } < 0 {
        return Err(last_errno());
    }
    #[allow(unused_mut)]
    let mut pid: libc::pid_t = -1;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
        let mut peer: libc::pid_t = -1;
        // SAFETY: `peer`/`len` are live and sized for LOCAL_PEERPID's pid_t.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_LOCAL,
                libc::LOCAL_PEERPID,
                (&mut peer as *mut libc::pid_t).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            pid = peer;
        }
    }
    Ok((pid, uid, gid))
}

/// Elsewhere there is no peer-credentials call.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
)))]
pub fn peer(_fd: RawFd) -> Result<Ids, i32> {
    Err(libc::ENOSYS)
}
