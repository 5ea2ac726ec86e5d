//! `Cancellable`: a thread-safe, eventfd-backed cancellation flag that wakes every waiter,
//! with GIO's callbacks (`connect`/`disconnect`) and per-thread current stack
//! (`push_current`/`pop_current`/`get_current`).

use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{PyTraverseError, PyVisit};

use crate::error;
use crate::sys::eventfd;
use crate::sys::os;

/// A callback given to `connect`, with its extra arguments.
struct Handler {
    id: u64,
    callback: Py<PyAny>,
    args: Py<PyTuple>,
}

#[derive(Default)]
struct Handlers {
    last_id: u64,
    list: Vec<Handler>,
}

/// GIO's `GCancellable`. `cancel()` from any thread makes the eventfd readable, so every
/// operation polling it (the wait engine) wakes at once and raises CANCELLED.
///
/// Invariant: the eventfd is readable exactly when `cancelled` is true. `cancel()` and
/// `reset()` update both under `transition` (as GLib's mutex), so a reset racing a cancel
/// can never leave a readable eventfd on an uncancelled cancellable, which would make every
/// wait on it spin. `connect` checks the flag under the same lock, so each callback runs
/// exactly once per cancel: at once when already cancelled, else from `cancel()`.
#[pyclass(frozen, module = "giosocket")]
pub struct Cancellable {
    cancelled: AtomicBool,
    transition: Mutex<()>,
    handlers: Mutex<Handlers>,
    fd: OwnedFd,
}

thread_local! {
    /// This thread's `push_current` stack.
    static CURRENT: RefCell<Vec<Py<Cancellable>>> = const { RefCell::new(Vec::new()) };
}

/// A lock whose data stays valid if a holder panicked (plain flags and lists).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Call `callback(cancellable, *args)`; an exception goes to `sys.unraisablehook` (a
    /// signal handler's error in PyGObject is printed the same way), so the other callbacks
    /// and the cancel itself still happen.
    fn run_callback(slf: &Bound<'_, Self>, callback: &Py<PyAny>, args: &Py<PyTuple>) {
        let py = slf.py();
        let mut all = vec![slf.clone().into_any()];
        all.extend(args.bind(py).iter());
        let outcome = PyTuple::new(py, all).and_then(|a| callback.bind(py).call1(a));
        if let Err(err) = outcome {
            err.write_unraisable(py, Some(callback.bind(py)));
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
    fn py_new(py: Python<'_>) -> PyResult<Self> {
        let fd = eventfd::new().map_err(|e| {
            error::os_error(
                py,
                e.raw_os_error().unwrap_or(os::EIO),
                "Unable to create cancellable",
            )
        })?;
        Ok(Cancellable {
            cancelled: AtomicBool::new(false),
            transition: Mutex::new(()),
            handlers: Mutex::new(Handlers::default()),
            fd,
        })
    }

    /// GIO's `g_cancellable_new()`: a new, uncancelled cancellable, as the constructor.
    #[staticmethod]
    #[allow(clippy::new_ret_no_self)]
    fn new(py: Python<'_>) -> PyResult<Self> {
        Self::py_new(py)
    }

    /// Cancel: every operation waiting with this cancellable wakes and raises CANCELLED, and
    /// the callbacks given to `connect` run, in this thread (once per cancel; a second
    /// `cancel()` before `reset()` does nothing).
    fn cancel(slf: &Bound<'_, Self>) {
        let this = slf.get();
        {
            let _transition = lock(&this.transition);
            if this.cancelled.swap(true, Ordering::SeqCst) {
                return;
            }
            eventfd::signal(this.fd.as_raw_fd());
        }
        let py = slf.py();
        let callbacks: Vec<(Py<PyAny>, Py<PyTuple>)> = lock(&this.handlers)
            .list
            .iter()
            .map(|h| (h.callback.clone_ref(py), h.args.clone_ref(py)))
            .collect();
        for (callback, args) in &callbacks {
            Self::run_callback(slf, callback, args);
        }
    }

    /// Whether the cancellable has been cancelled.
    fn is_cancelled(&self) -> bool {
        self.cancelled()
    }

    /// Make the cancellable usable again after a cancel (connected callbacks stay connected).
    fn reset(&self) {
        let _transition = lock(&self.transition);
        if self.cancelled.swap(false, Ordering::SeqCst) {
            eventfd::drain(self.fd.as_raw_fd());
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

    /// GIO's `g_cancellable_release_fd`: says the caller is done with `get_fd()`'s fd.
    /// The fd stays open (the cancellable closes it when it is freed), so a wait elsewhere
    /// that still polls it keeps working; `get_fd()` returns the same fd afterwards.
    fn release_fd(&self) {}

    /// `connect(callback, *args) -> handler id`: call `callback(cancellable, *args)` when
    /// cancelled (in the cancelling thread). If already cancelled, it is called at once and
    /// the id is 0 (as GIO). Each `cancel()` after a `reset()` calls it again.
    #[pyo3(signature = (callback, *args))]
    fn connect(
        slf: &Bound<'_, Self>,
        callback: Bound<'_, PyAny>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<u64> {
        if !callback.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "callback must be callable, not '{}'",
                callback.get_type().name()?
            )));
        }
        let this = slf.get();
        let transition = lock(&this.transition);
        if !this.cancelled() {
            let mut handlers = lock(&this.handlers);
            handlers.last_id += 1;
            let id = handlers.last_id;
            handlers.list.push(Handler {
                id,
                callback: callback.unbind(),
                args: args.unbind(),
            });
            return Ok(id);
        }
        drop(transition);
        Self::run_callback(slf, &callback.unbind(), &args.unbind());
        Ok(0)
    }

    /// Disconnect a callback by the id `connect` returned (0 and unknown ids are ignored).
    fn disconnect(&self, handler_id: u64) {
        let removed: Vec<Handler> = {
            let mut handlers = lock(&self.handlers);
            let (gone, kept) = std::mem::take(&mut handlers.list)
                .into_iter()
                .partition(|h| h.id == handler_id);
            handlers.list = kept;
            gone
        };
        // Dropped outside the lock: a callback's finalizer may call back into this object.
        drop(removed);
    }

    /// Make this the calling thread's current cancellable (`get_current()`), until the
    /// matching `pop_current()`.
    fn push_current(slf: &Bound<'_, Self>) {
        let me = slf.clone().unbind();
        CURRENT.with(|stack| stack.borrow_mut().push(me));
    }

    /// Undo the last `push_current()` of this thread; ValueError if this cancellable is not
    /// the thread's current one.
    fn pop_current(slf: &Bound<'_, Self>) -> PyResult<()> {
        let popped = CURRENT.with(|stack| {
            let mut stack = stack.borrow_mut();
            match stack.last() {
                Some(top) if top.is(slf) => stack.pop(),
                _ => None,
            }
        });
        match popped {
            Some(_) => Ok(()),
            None => Err(PyValueError::new_err(
                "pop_current: this cancellable is not the current one of this thread",
            )),
        }
    }

    /// The calling thread's current cancellable (the last `push_current()`), or None.
    #[staticmethod]
    fn get_current(py: Python<'_>) -> Option<Py<Cancellable>> {
        CURRENT.with(|stack| stack.borrow().last().map(|c| c.clone_ref(py)))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // try_lock: the collector never waits on a thread in connect/disconnect.
        if let Ok(handlers) = self.handlers.try_lock() {
            for h in &handlers.list {
                visit.call(&h.callback)?;
                visit.call(&h.args)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let old = std::mem::take(&mut lock(&self.handlers).list);
        drop(old);
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.Cancellable cancelled={}>",
            if self.cancelled() { "True" } else { "False" }
        )
    }
}
