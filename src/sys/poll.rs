//! `ppoll`: the only place the crate polls (the engine's waits and `condition_check`).

use std::time::Duration;

use super::{last_errno, SysResult};

/// One polled fd (`struct pollfd`).
pub type PollFd = libc::pollfd;

/// Readable.
pub const IN: i16 = libc::POLLIN;
/// Writable.
pub const OUT: i16 = libc::POLLOUT;
/// Every poll bit that is a GIO `IOCondition`, by name (IN PRI OUT ERR HUP NVAL).
pub const CONDITIONS: [(&str, i16); 6] = [
    ("IN", libc::POLLIN),
    ("PRI", libc::POLLPRI),
    ("OUT", libc::POLLOUT),
    ("ERR", libc::POLLERR),
    ("HUP", libc::POLLHUP),
    ("NVAL", libc::POLLNVAL),
];

/// A pollfd for `fd` (negative fds are ignored by the kernel) waiting for `events`.
pub fn fd(fd: i32, events: i16) -> PollFd {
    PollFd {
        fd,
        events,
        revents: 0,
    }
}

/// `ppoll(fds, timeout)` with a relative timeout (None = infinite); the number of ready fds.
/// Does not retry EINTR: the caller runs signal handlers first.
pub fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> SysResult<usize> {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a live, exclusively borrowed slice of pollfds and its length is
    // passed with it; `ts_ptr` is null or points to a live timespec; a null sigmask keeps
    // the thread's mask.
    let rc = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        Err(last_errno())
    } else {
        Ok(rc as usize)
    }
}
