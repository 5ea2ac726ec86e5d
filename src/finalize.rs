//! `ResourceWarning` for a `Socket` garbage-collected without `close()`, as `socket.socket`
//! does (shown under `python -X dev` or `-W default`; the fd is closed either way, by
//! `SocketFd`'s own drop). Called first thing by `Socket`'s `Drop`.

use std::ffi::CString;

use pyo3::exceptions::PyResourceWarning;
use pyo3::prelude::*;

use crate::lifecycle::SocketFd;

/// Warn `unclosed <giosocket.Socket fd=N>` if `fd` was never closed.
pub(crate) fn warn_if_unclosed(fd: &SocketFd) {
    if fd.is_closed() {
        return;
    }
    let fd = fd.raw();
    // The object is being deallocated by the interpreter, so this thread is attached.
    Python::attach(|py| {
        let message =
            CString::new(format!("unclosed <giosocket.Socket fd={fd}>")).unwrap_or_default();
        let category = py.get_type::<PyResourceWarning>();
        if let Err(err) = PyErr::warn(py, &category, &message, 1) {
            // `-W error::ResourceWarning`: a destructor cannot raise; report it like
            // CPython's socket finalizer does.
            err.write_unraisable(py, None);
        }
    });
}
