//! `Cancellable`: a thread-safe, eventfd-backed cancellation flag that wakes every waiter.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;

use crate::error;

/// GIO's `GCancellable`. `cancel()` from any thread makes the eventfd readable, so every
/// operation polling it (the wait engine) wakes at once and raises CANCELLED.
///
/// Invariant: the eventfd is readable exactly when `cancelled` is true. `cancel()` and
/// `reset()` update both under `transition` (as GLib's mutex), so a reset racing a cancel
/// can never leave a readable eventfd on an uncancelled cancellable, which would make every
/// wait on it spin.
#[pyclass(frozen, module = "giosocket")]
pub struct Cancellable {
    cancelled: AtomicBool,
    transition: Mutex<()>,
    fd: OwnedFd,
}

impl Cancellable {
    /// Whether `cancel()` was called (and not `reset()` since).
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The fd the wait engine polls for readability.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Raise CANCELLED if cancelled (GIO's `g_cancellable_set_error_if_cancelled`).
    pub fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.cancelled() {
            Err(error::cancelled(py))
        } else {
            Ok(())
        }
    }

    fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own non-blocking eventfd.
        unsafe {
            libc::read(self.raw_fd(), (&mut value as *mut u64).cast(), 8);
        }
    }
}

/// The `Cancellable` of an optional Python argument, as the I/O layer takes it.
pub fn from_arg<'a>(c: &'a Option<Bound<'_, Cancellable>>) -> Option<&'a Cancellable> {
    c.as_ref().map(|c| c.get())
}

/// Raise CANCELLED if `cancellable` is given and cancelled.
pub fn check(py: Python<'_>, cancellable: Option<&Cancellable>) -> PyResult<()> {
    match cancellable {
        Some(c) => c.check(py),
        None => Ok(()),
    }
}

#[pymethods]
impl Cancellable {
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(error::os_error(
                py,
                error::last_errno(),
                "Unable to create cancellable",
            ));
        }
        // SAFETY: `fd` was just created by eventfd and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Cancellable {
            cancelled: AtomicBool::new(false),
            transition: Mutex::new(()),
            fd,
        })
    }

    /// Cancel: every operation waiting with this cancellable wakes and raises CANCELLED.
    fn cancel(&self) {
        // A poisoned lock only means another thread panicked mid-transition; the state it
        // guards is still a plain flag + counter, so carry on.
        let _transition = self.transition.lock().unwrap_or_else(|e| e.into_inner());
        if !self.cancelled.swap(true, Ordering::SeqCst) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
            unsafe {
                libc::write(self.raw_fd(), (&one as *const u64).cast(), 8);
            }
        }
    }

    /// Whether the cancellable has been cancelled.
    fn is_cancelled(&self) -> bool {
        self.cancelled()
    }

    /// Make the cancellable usable again after a cancel.
    fn reset(&self) {
        let _transition = self.transition.lock().unwrap_or_else(|e| e.into_inner());
        if self.cancelled.swap(false, Ordering::SeqCst) {
            self.drain();
        }
    }

    /// Raise `giosocket.Error(CANCELLED)` if cancelled; otherwise return False (GIO's gboolean).
    fn set_error_if_cancelled(&self, py: Python<'_>) -> PyResult<bool> {
        self.check(py).map(|()| false)
    }

    /// A file descriptor that becomes readable when cancelled (owned by the cancellable).
    fn get_fd(&self) -> RawFd {
        self.raw_fd()
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.Cancellable cancelled={}>",
            if self.cancelled() { "True" } else { "False" }
        )
    }
}
