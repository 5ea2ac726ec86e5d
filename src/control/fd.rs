//! `UnixFDMessage`: file descriptors passed over UNIX sockets (SCM_RIGHTS).
//!
//! The message owns its fds. Fds given by the caller are duplicated (close-on-exec), so the
//! caller keeps and closes its own; received fds are close-on-exec (MSG_CMSG_CLOEXEC) and
//! owned by the message until `steal_fds()`. Whatever the message still owns is closed when
//! it is dropped, so an unread message never leaks descriptors.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::SocketControlMessage;
use crate::error;
use crate::sys::os;

/// The kernel's limit of descriptors in one SCM_RIGHTS message.
pub const SCM_MAX_FD: usize = 253;

/// GIO's `GUnixFDMessage` (with the fd list folded in): `UnixFDMessage(fds=())`.
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct UnixFDMessage {
    fds: Mutex<Vec<OwnedFd>>,
}

/// Duplicate `fd` with close-on-exec (GIO's `dup_close_on_exec_fd`).
fn dup_cloexec(py: Python<'_>, fd: i64) -> PyResult<OwnedFd> {
    let raw = RawFd::try_from(fd)
        .ok()
        .filter(|f| *f >= 0)
        .ok_or_else(|| PyValueError::new_err(format!("invalid file descriptor {fd}")))?;
    crate::sys::cmsg::dup_cloexec(raw)
        .map_err(|e| error::os_error(py, e, "Error duplicating file descriptor"))
}

impl UnixFDMessage {
    /// A message owning `fds` (received ones).
    pub fn create(py: Python<'_>, fds: Vec<OwnedFd>) -> PyResult<Bound<'_, UnixFDMessage>> {
        Bound::new(py, Self::init(fds))
    }

    /// A message owning `fds` with its `SocketControlMessage` base (SOL_SOCKET, SCM_RIGHTS).
    fn init(fds: Vec<OwnedFd>) -> PyClassInitializer<Self> {
        PyClassInitializer::from(SocketControlMessage::header(os::SOL_SOCKET, os::SCM_RIGHTS))
            .add_subclass(UnixFDMessage {
                fds: Mutex::new(fds),
            })
    }

    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, Vec<OwnedFd>>> {
        self.fds
            .lock()
            .map_err(|_| PyRuntimeError::new_err("UnixFDMessage state is poisoned"))
    }

    /// The payload to send: the fds as native ints. ValueError above SCM_MAX_FD.
    pub fn payload(&self) -> PyResult<Vec<u8>> {
        let fds = self.lock()?;
        if fds.len() > SCM_MAX_FD {
            return Err(PyValueError::new_err(format!(
                "UnixFDMessage carries {} fds; the kernel accepts at most {SCM_MAX_FD} per message \
                 (SCM_MAX_FD)",
                fds.len()
            )));
        }
        Ok(fds
            .iter()
            .flat_map(|f| f.as_raw_fd().to_ne_bytes())
            .collect())
    }
}

#[pymethods]
impl UnixFDMessage {
    /// `UnixFDMessage(fds=())`: each fd is duplicated (close-on-exec); the caller keeps its own.
    #[new]
    #[pyo3(signature = (fds = Vec::new()), text_signature = "(fds=())")]
    fn py_new(py: Python<'_>, fds: Vec<i64>) -> PyResult<PyClassInitializer<Self>> {
        let owned = fds
            .into_iter()
            .map(|fd| dup_cloexec(py, fd))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self::init(owned))
    }

    /// GIO's `g_unix_fd_message_new()`: an empty message (add fds with `append_fd`).
    #[staticmethod]
    #[allow(clippy::new_ret_no_self)]
    fn new(py: Python<'_>) -> PyResult<Py<Self>> {
        Py::new(py, Self::init(Vec::new()))
    }

    /// Add a duplicate of `fd` (GIO's `g_unix_fd_message_append_fd`); returns True.
    fn append_fd(&self, py: Python<'_>, fd: i64) -> PyResult<bool> {
        let dup = dup_cloexec(py, fd)?;
        self.lock()?.push(dup);
        Ok(true)
    }

    /// Take ownership of all fds: the caller must close them; the message is left empty.
    fn steal_fds(&self) -> PyResult<Vec<RawFd>> {
        let taken = std::mem::take(&mut *self.lock()?);
        Ok(taken.into_iter().map(IntoRawFd::into_raw_fd).collect())
    }

    /// The fds the message owns (still owned by it: do not close them; see `steal_fds`).
    fn get_fd_list(&self) -> PyResult<Vec<RawFd>> {
        Ok(self.lock()?.iter().map(AsRawFd::as_raw_fd).collect())
    }

    /// The fds the message owns (still owned by it: do not close them; see `steal_fds`).
    #[getter(fd_list)]
    fn prop_fd_list(&self) -> PyResult<Vec<RawFd>> {
        self.get_fd_list()
    }

    /// Size of the serialized data: 4 bytes per fd.
    fn get_size(&self) -> PyResult<usize> {
        Ok(self.lock()?.len() * std::mem::size_of::<RawFd>())
    }

    /// The fds as native ints (the SCM_RIGHTS payload).
    fn serialize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.payload()?))
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.lock()?.len())
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!(
            "<giosocket.UnixFDMessage fds={:?}>",
            self.get_fd_list()?
        ))
    }
}
