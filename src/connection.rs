//! `Socket.connection_factory_create_connection()`: the connection classes are Python
//! (`giosocket/connection.py`, `io.RawIOBase` subclasses); this method only hands the socket to
//! that module's factory, which `_giosocket._init` received at import.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::socket::Socket;

static CREATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Remember the connection factory (called once by `_init`).
pub fn init(py: Python<'_>, create: &Bound<'_, PyAny>) {
    let _ = CREATE.set(py, create.clone().unbind());
}

#[pymethods]
impl Socket {
    /// GIO's `g_socket_connection_factory_create_connection`: a `TcpConnection` for IPv4/IPv6
    /// stream sockets, a `UnixConnection` for UNIX stream sockets, else a `SocketConnection`.
    fn connection_factory_create_connection<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let create = CREATE.get(py).ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("giosocket was not initialised")
        })?;
        create.bind(py).call1((slf,))
    }
}
