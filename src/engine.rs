//! THE blocking engine: the only place in the crate that waits.
//!
//! Every call is "try the non-blocking syscall; on EAGAIN, wait; retry" ([`Socket::io`]).
//! A [`Waiter`] is made on the call's first EAGAIN and holds the call's clock:
//! - `timeout_us` ([`Budget::Until`]) is an overall deadline;
//! - the socket's `timeout` is inactivity, measured from the call's start: a wake-up that
//!   leads to no progress is not activity (GLib's `block_on_timeout`), so spurious
//!   readiness can never extend a call;
//! - readiness that keeps failing with EAGAIN (a full AF_UNIX receiver, a pending ICMP error
//!   with IP_RECVERR) backs off: 50 µs doubling to 5 ms between rounds, so a stuck call
//!   costs almost no CPU;
//! - Python signal handlers run after every poll, not only on EINTR (PEP 475, CPython's
//!   `sock_call_ex`), so Ctrl-C interrupts any wait promptly.
//!
//! The wait polls the socket fd, the Cancellable's fd and the socket's close wake-up with
//! the GIL released. Non-blocking is a budget like any other: [`Socket::io_value`] returns
//! "would block" as `None`, and only [`Socket::io`] turns it into WOULD_BLOCK.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::cancellable::{self, Cancellable};
use crate::error;
use crate::lifecycle::FdGuard;
use crate::socket::Socket;
use crate::sys::{errno, poll};

/// How long a call may block in total: GLib's `timeout_us` (-1 forever, 0 never).
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// Do not block: EAGAIN is "would block".
    NonBlocking,
    /// Block until ready (bounded by the socket's inactivity timeout).
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

/// First back-off after readiness that led to no progress.
const BACKOFF_FIRST: Duration = Duration::from_micros(50);
/// Longest back-off between unproductive rounds.
const BACKOFF_MAX: Duration = Duration::from_millis(5);
/// Without a close wake-up fd (fd table full), waits poll in slices this long and check the
/// closed flag between them.
const SLICE_WITHOUT_WAKE_FD: Duration = Duration::from_millis(20);

/// The waiting state of one call: its deadline (fixed when it first waits) and how many
/// rounds in a row woke up without the call making progress.
pub struct Waiter<'c> {
    deadline: Option<Instant>,
    unproductive: u32,
    cancellable: Option<&'c Cancellable>,
}

impl<'c> Waiter<'c> {
    /// The clock of a call that starts waiting now: the earlier of `budget`'s deadline and
    /// `now + inactivity` (the socket timeout, None = none).
    pub fn new(
        budget: Budget,
        inactivity: Option<Duration>,
        cancellable: Option<&'c Cancellable>,
    ) -> Self {
        let now = Instant::now();
        let mut deadline = match budget {
            Budget::NonBlocking => Some(now),
            Budget::Forever => None,
            Budget::Until(t) => Some(t),
        };
        if let Some(by_timeout) = inactivity.and_then(|limit| now.checked_add(limit)) {
            deadline = Some(deadline.map_or(by_timeout, |d| d.min(by_timeout)));
        }
        Waiter {
            deadline,
            unproductive: 0,
            cancellable,
        }
    }

    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Wait until `events` (poll bits) are signalled on the guarded socket; returns its
    /// revents. Errors: CLOSED, CANCELLED, TIMED_OUT, or a signal handler's exception.
    /// Each call after the first counts as "the last wake-up led to no progress".
    pub fn wait(&mut self, py: Python<'_>, guard: &FdGuard<'_>, events: i16) -> PyResult<i16> {
        if self.unproductive > 0 {
            if self.expired() {
                return Err(error::timed_out(py));
            }
            let shift = (self.unproductive - 1).min(16);
            let pause = BACKOFF_FIRST
                .saturating_mul(1 << shift)
                .min(BACKOFF_MAX)
                .min(self.remaining().unwrap_or(BACKOFF_MAX));
            // Sleep without the socket (it would report ready at once), still woken by
            // close and cancellation.
            self.poll_round(py, guard, None, Some(pause))?;
        }
        self.unproductive = self.unproductive.saturating_add(1);
        loop {
            if let Some(revents) = self.poll_round(py, guard, Some(events), self.remaining())? {
                return Ok(revents);
            }
            if self.expired() {
                return Err(error::timed_out(py));
            }
        }
    }

    /// One poll of the socket (`events`, or not at all when None), the Cancellable and the
    /// close wake-up for at most `limit`, GIL released; then signal handlers, closed and
    /// cancelled checks. `Some(revents)` when the socket is ready.
    fn poll_round(
        &self,
        py: Python<'_>,
        guard: &FdGuard<'_>,
        events: Option<i16>,
        limit: Option<Duration>,
    ) -> PyResult<Option<i16>> {
        let wake = guard.wake_fd();
        let limit = match wake {
            Some(_) => limit,
            None => Some(limit.map_or(SLICE_WITHOUT_WAKE_FD, |l| l.min(SLICE_WITHOUT_WAKE_FD))),
        };
        if guard.closed() {
            return Err(error::closed(py));
        }
        cancellable::check(py, self.cancellable)?;
        let mut fds = [
            poll::fd(events.map_or(-1, |_| guard.fd), events.unwrap_or(0)),
            poll::fd(self.cancellable.map_or(-1, |c| c.raw_fd()), poll::IN),
            poll::fd(wake.unwrap_or(-1), poll::IN),
        ];
        let result = py.detach(|| poll::poll(&mut fds, limit));
        py.check_signals()?;
        match result {
            Ok(_) | Err(errno::EINTR) => {}
            Err(e) => return Err(error::os_error(py, e, "Error waiting on socket")),
        }
        if fds[2].revents != 0 || guard.closed() {
            return Err(error::closed(py));
        }
        if fds[1].revents != 0 {
            // Cancelled (raises), or reset between poll and check: wait again.
            cancellable::check(py, self.cancellable)?;
        }
        Ok(Some(fds[0].revents).filter(|r| *r != 0))
    }
}

impl Socket {
    /// The one I/O loop: check the Cancellable and the closed state, run `op` (a
    /// non-blocking syscall returning `Err(errno)`); on EINTR run signal handlers and retry;
    /// on EAGAIN wait for `events` within `budget`, then retry. `Ok(None)`: it would block
    /// (non-blocking budget). `detach` releases the GIL around the syscall itself.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn io_value<T, F>(
        &self,
        py: Python<'_>,
        events: i16,
        budget: Budget,
        cancellable: Option<&Cancellable>,
        context: &str,
        detach: bool,
        mut op: F,
    ) -> PyResult<Option<T>>
    where
        F: FnMut(RawFd) -> Result<T, i32> + Send,
        T: Send,
    {
        // GIO's order: the socket (CLOSED), a GLib source's timeout, then the Cancellable.
        let guard = self.enter(py)?;
        self.check_timed_out(py)?;
        cancellable::check(py, cancellable)?;
        let mut waiter: Option<Waiter<'_>> = None;
        loop {
            let fd = guard.fd;
            let result = if detach { py.detach(|| op(fd)) } else { op(fd) };
            match result {
                Ok(value) => return Ok(Some(value)),
                Err(errno::EINTR) => py.check_signals()?,
                Err(errno::EAGAIN) if budget.blocks() => {
                    waiter
                        .get_or_insert_with(|| Waiter::new(budget, self.per_wait(), cancellable))
                        .wait(py, &guard, events)?;
                }
                Err(errno::EAGAIN) => return Ok(None),
                Err(e) => return Err(error::os_error(py, e, context)),
            }
        }
    }

    /// [`Socket::io_value`] with "would block" raised as WOULD_BLOCK.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn io<T, F>(
        &self,
        py: Python<'_>,
        events: i16,
        budget: Budget,
        cancellable: Option<&Cancellable>,
        context: &str,
        detach: bool,
        op: F,
    ) -> PyResult<T>
    where
        F: FnMut(RawFd) -> Result<T, i32> + Send,
        T: Send,
    {
        let value = self.io_value(py, events, budget, cancellable, context, detach, op)?;
        or_would_block(py, value, context)
    }

    /// Wait for `events` on the guarded socket within `budget` (condition waits, connect).
    pub(crate) fn wait_for(
        &self,
        py: Python<'_>,
        guard: &FdGuard<'_>,
        events: i16,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<i16> {
        Waiter::new(budget, self.per_wait(), cancellable).wait(py, guard, events)
    }
}

/// A blocking call's result: "would block" (None) is the WOULD_BLOCK error, with the call's
/// `context` in its message.
#[inline]
pub fn or_would_block<T>(py: Python<'_>, value: Option<T>, context: &str) -> PyResult<T> {
    value.ok_or_else(|| error::os_error(py, errno::EAGAIN, context))
}

/// Poll `fd` once without blocking (`condition_check`): the revents among `events` plus
/// ERR/HUP/NVAL. EINTR runs signal handlers and polls again.
pub fn poll_now(py: Python<'_>, fd: RawFd, events: i16) -> PyResult<i16> {
    loop {
        let mut fds = [poll::fd(fd, events)];
        match poll::poll(&mut fds, Some(Duration::ZERO)) {
            Ok(_) => return Ok(fds[0].revents),
            Err(errno::EINTR) => py.check_signals()?,
            Err(e) => return Err(error::os_error(py, e, "Error polling socket")),
        }
    }
}
