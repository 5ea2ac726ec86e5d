//! `Socket.connection_factory_create_connection()`: the connection classes are Python
//! (`giosocket/connection.py`, `io.RawIOBase` subclasses); this method only hands the socket to
//! that module, imported on first use so the native module never imports it at load time.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::socket::Socket;

static CREATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[pymethods]
impl Socket {
    /// GIO's `g_socket_connection_factory_create_connection`: a `TcpConnection` for IPv4/IPv6
    /// stream sockets, a `UnixConnection` for UNIX stream sockets, else a `SocketConnection`.
    fn connection_factory_create_connection<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<Bound<'py, PyAny>> {
        CREATE
            .import(slf.py(), "giosocket.connection", "_create_connection")?
            .call1((slf,))
    }
}
