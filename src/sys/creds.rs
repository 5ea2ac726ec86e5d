//! Process credentials: the calling process's ids and a connected UNIX socket's peer
//! (SO_PEERCRED; giosocket is Linux-only, see `sys/mod.rs`).

use std::io;
use std::os::fd::RawFd;

/// A process's `(pid, uid, gid)`.
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

/// The peer's credentials of the connected UNIX socket `fd` (SO_PEERCRED's `struct ucred`).
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
