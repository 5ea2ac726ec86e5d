//! THE blocking engine: the only place in the crate that waits.
//!
//! Every blocking call is "try the non-blocking syscall; on EAGAIN, [`wait`]; retry".
//! [`wait`] polls the socket fd, the cancellable's eventfd and the socket's close wake-up
//! eventfd with the GIL released. On EINTR it re-attaches, runs Python signal handlers (so
//! Ctrl-C raises `KeyboardInterrupt` promptly) and retries with the remaining time. The
//! socket's `timeout` bounds each wait (inactivity, as GLib); a call may also carry its own
//! overall deadline (`timeout_us`).

use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::cancellable::{self, Cancellable};
use crate::error;
use crate::lifecycle::FdGuard;

/// How long a call may block in total: GLib's `timeout_us` (-1 forever, 0 never).
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// Do not block: EAGAIN becomes WOULD_BLOCK.
    NonBlocking,
    /// Block until ready (bounded per wait by the socket timeout).
    Forever,
    /// Block until this instant at the latest.
    Until(Instant),
}

impl Budget {
    /// From GLib's `timeout_us` convention: negative = forever, 0 = non-blocking.
    pub fn from_timeout_us(timeout_us: i64) -> Self {
        match timeout_us {
            t if t < 0 => Budget::Forever,
            0 => Budget::NonBlocking,
            // Lossless: t > 0. A deadline past the clock's range is "forever".
            t => Instant::now()
                .checked_add(Duration::from_micros(t as u64))
                .map_or(Budget::Forever, Budget::Until),
        }
    }

    /// From the socket's blocking flag.
    pub fn from_blocking(blocking: bool) -> Self {
        if blocking {
            Budget::Forever
        } else {
            Budget::NonBlocking
        }
    }

    /// Whether EAGAIN should wait rather than fail.
    pub fn blocks(self) -> bool {
        !matches!(self, Budget::NonBlocking)
    }
}

/// Wait until `events` (poll bits) are signalled on the guarded socket.
///
/// `per_wait` is the socket's timeout (None = none). Returns the socket's revents.
/// Errors: TIMED_OUT, CANCELLED, CLOSED (socket closed from another thread), or a signal
/// handler's exception (e.g. `KeyboardInterrupt`).
pub fn wait(
    py: Python<'_>,
    guard: &FdGuard<'_>,
    events: i16,
    budget: Budget,
    per_wait: Option<Duration>,
    cancellable: Option<&Cancellable>,
) -> PyResult<i16> {
    let now = Instant::now();
    let mut deadline = match budget {
        Budget::NonBlocking => Some(now),
        Budget::Forever => None,
        Budget::Until(t) => Some(t),
    };
    if let Some(by_timeout) = per_wait.and_then(|limit| now.checked_add(limit)) {
        deadline = Some(deadline.map_or(by_timeout, |d| d.min(by_timeout)));
    }
    let wake = guard.wake_fd();
    if guard.closed() {
        return Err(error::closed(py));
    }
    let mut fds = [
        libc::pollfd {
            fd: guard.fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: cancellable.map_or(-1, |c| c.raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: wake.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        cancellable::check(py, cancellable)?;
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let (rc, errno, out) = py.detach(move || poll(fds, timeout));
        fds = out;
        if rc < 0 {
            if errno == libc::EINTR {
                py.check_signals()?;
                continue;
            }
            return Err(error::os_error(py, errno, "Error waiting on socket"));
        }
        if fds[2].revents != 0 || guard.closed() {
            return Err(error::closed(py));
        }
        if fds[1].revents != 0 {
            cancellable::check(py, cancellable)?;
            // Reset between poll and check: treat as spurious and wait again.
            fds[1].revents = 0;
            continue;
        }
        if rc == 0 || fds[0].revents == 0 {
            match deadline {
                Some(d) if Instant::now() >= d => return Err(error::timed_out(py)),
                _ => continue,
            }
        }
        return Ok(fds[0].revents);
    }
}

/// `ppoll` with a relative timeout (None = infinite); returns (rc, errno, fds).
fn poll(mut fds: [libc::pollfd; 3], timeout: Option<Duration>) -> (i32, i32, [libc::pollfd; 3]) {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a live array of 3 pollfds; `ts_ptr` is null or points to a live
    // timespec; a null sigmask keeps the thread's mask.
    let rc = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    let errno = if rc < 0 { error::last_errno() } else { 0 };
    (rc, errno, fds)
}
