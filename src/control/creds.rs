//! `UnixCredentialsMessage`: process credentials over UNIX sockets (SCM_CREDENTIALS, Linux).
//!
//! The receiver must enable `SO_PASSCRED` to get them; the kernel checks what is sent (a
//! process may only claim its own pid/uid/gid unless privileged).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::SocketControlMessage;
use crate::credentials::Credentials;
use crate::sys::os;

/// GIO's `GUnixCredentialsMessage`: `UnixCredentialsMessage(credentials=None)` (None = this
/// process).
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct UnixCredentialsMessage {
    credentials: Py<Credentials>,
}

/// Size of the SCM_CREDENTIALS payload.
pub const UCRED_SIZE: usize = std::mem::size_of::<os::ucred>();

fn ucred_bytes(cred: &os::ucred) -> [u8; UCRED_SIZE] {
    let mut out = [0u8; UCRED_SIZE];
    out[0..4].copy_from_slice(&cred.pid.to_ne_bytes());
    out[4..8].copy_from_slice(&cred.uid.to_ne_bytes());
    out[8..12].copy_from_slice(&cred.gid.to_ne_bytes());
    out
}

/// Parse an SCM_CREDENTIALS payload (None if the size is not a `struct ucred`).
pub fn parse_ucred(data: &[u8]) -> Option<os::ucred> {
    if data.len() != UCRED_SIZE {
        return None;
    }
    let word = |i: usize| -> [u8; 4] { [data[i], data[i + 1], data[i + 2], data[i + 3]] };
    Some(os::ucred {
        pid: i32::from_ne_bytes(word(0)),
        uid: u32::from_ne_bytes(word(4)),
        gid: u32::from_ne_bytes(word(8)),
    })
}

fn header() -> SocketControlMessage {
    SocketControlMessage::header(os::SOL_SOCKET, os::SCM_CREDENTIALS)
}

impl UnixCredentialsMessage {
    /// A received message.
    pub fn create<'py>(py: Python<'py>, cred: &os::ucred) -> PyResult<Bound<'py, Self>> {
        let credentials = Py::new(py, Credentials::from_ucred(cred))?;
        Bound::new(
            py,
            PyClassInitializer::from(header()).add_subclass(UnixCredentialsMessage { credentials }),
        )
    }

    /// The SCM_CREDENTIALS payload.
    pub fn payload(&self, py: Python<'_>) -> [u8; UCRED_SIZE] {
        ucred_bytes(&self.credentials.bind(py).get().ucred())
    }
}

#[pymethods]
impl UnixCredentialsMessage {
    /// `UnixCredentialsMessage(credentials=None)`: None = the calling process.
    #[new]
    #[pyo3(signature = (credentials = None))]
    fn py_new(
        py: Python<'_>,
        credentials: Option<Bound<'_, Credentials>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let credentials = match credentials {
            Some(c) => c.unbind(),
            None => Py::new(py, Credentials::current())?,
        };
        Ok(PyClassInitializer::from(header()).add_subclass(UnixCredentialsMessage { credentials }))
    }

    /// GIO's `g_unix_credentials_message_new()`: a message with this process's credentials.
    #[staticmethod]
    #[allow(clippy::new_ret_no_self)]
    fn new(py: Python<'_>) -> PyResult<Py<Self>> {
        Py::new(py, Self::py_new(py, None)?)
    }

    /// GIO's `g_unix_credentials_message_new_with_credentials(credentials)`.
    #[staticmethod]
    fn new_with_credentials(
        py: Python<'_>,
        credentials: Bound<'_, Credentials>,
    ) -> PyResult<Py<Self>> {
        Py::new(py, Self::py_new(py, Some(credentials))?)
    }

    /// Whether passing credentials is supported on this platform (True on Linux).
    #[staticmethod]
    fn is_supported() -> bool {
        true
    }

    /// The credentials carried.
    fn get_credentials(&self, py: Python<'_>) -> Py<Credentials> {
        self.credentials.clone_ref(py)
    }

    /// The credentials carried.
    #[getter(credentials)]
    fn prop_credentials(&self, py: Python<'_>) -> Py<Credentials> {
        self.credentials.clone_ref(py)
    }

    /// Size of the serialized data (a `struct ucred`).
    fn get_size(&self) -> usize {
        UCRED_SIZE
    }

    /// The `struct ucred` payload.
    fn serialize<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.payload(py))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let c = self.credentials.bind(py).get().ucred();
        format!(
            "<giosocket.UnixCredentialsMessage pid={} uid={} gid={}>",
            c.pid, c.uid, c.gid
        )
    }
}
