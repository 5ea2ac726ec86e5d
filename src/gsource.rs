//! `Socket.create_source()`: a `GLib.Source` for GLib main loops. The source itself is
//! Python (`giosocket/_gsource.py`, a PyGObject `GLib.Source` subclass) whose builder
//! `_giosocket._init` received at import; without PyGObject the call raises NOT_SUPPORTED.

use pyo3::exceptions::{PyImportError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::cancellable::Cancellable;
use crate::error::{self, Code};
use crate::socket::Socket;

static CREATE_SOURCE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Remember the source builder (called once by `_init`).
pub fn init(py: Python<'_>, create: &Bound<'_, PyAny>) {
    let _ = CREATE_SOURCE.set(py, create.clone().unbind());
}

#[pymethods]
impl Socket {
    /// GIO's `g_socket_create_source`: a `GLib.Source` (PyGObject) that calls
    /// `callback(socket, condition[, user_data])` (set with `source.set_callback`) when
    /// `condition` is possible; the callback returns False to remove the source. After the
    /// socket `timeout` (or `timeout_us` µs when given; 0 = none) of inactivity it fires with
    /// the condition set; a cancelled `cancellable` makes it fire too. NOT_SUPPORTED when
    /// PyGObject (`gi`) cannot be imported.
    #[pyo3(signature = (condition, cancellable = None, timeout_us = None))]
    fn create_source<'py>(
        slf: &Bound<'py, Self>,
        condition: i32,
        cancellable: Option<Bound<'py, Cancellable>>,
        timeout_us: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if timeout_us.is_some_and(|t| t < 0) {
            return Err(PyValueError::new_err(
                "timeout_us must be >= 0 (0: no timeout) or None (the socket's timeout)",
            ));
        }
        // A closed socket is CLOSED, as GIO's check_socket (which would return a dead source).
        drop(slf.get().enter(py)?);
        let create = CREATE_SOURCE
            .get(py)
            .ok_or_else(|| PyRuntimeError::new_err("giosocket was not initialised"))?;
        create
            .bind(py)
            .call1((slf, condition, cancellable, timeout_us))
            .map_err(|err| {
                if err.is_instance_of::<PyImportError>(py) {
                    error::error(
                        py,
                        Code::NotSupported,
                        format!(
                            "Socket.create_source needs PyGObject (the gi module) in this \
                             interpreter: {}",
                            err.value(py)
                        ),
                    )
                } else {
                    err
                }
            })
    }
}

#[pymethods]
impl Socket {
    /// A GLib source of this socket timed out (`_gsource.py`): the next I/O call raises
    /// TIMED_OUT once (GIO's `socket->priv->timed_out`).
    fn _mark_timed_out(&self) {
        self.timed_out
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
