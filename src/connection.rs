//! `Socket.connection_factory_create_connection()` and the stream read the connection classes
//! use. The connection classes are Python (`giosocket/connection.py`, `io.RawIOBase`
//! subclasses); the factory method only hands the socket to that module's factory, which
//! `_giosocket._init` received at import.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::buffer::WriteBuf;
use crate::cancellable::{self, Cancellable};
use crate::engine::Budget;
use crate::socket::Socket;

static CREATE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Remember the connection factory (called once by `_init`).
pub fn init(py: Python<'_>, create: &Bound<'_, PyAny>) {
    let _ = CREATE.set(py, create.clone().unbind());
}

#[pymethods]
impl Socket {
    /// GIO's `g_socket_connection_factory_create_connection`: the class registered for the
    /// socket's family, type and protocol (`SocketConnection.factory_register_type`):
    /// `TcpConnection` for IPv4/IPv6 stream sockets, `UnixConnection` for UNIX stream
    /// sockets, else `SocketConnection`.
    fn connection_factory_create_connection<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let create = CREATE.get(py).ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("giosocket was not initialised")
        })?;
        create.bind(py).call1((slf,))
    }

    /// A connection stream's read (GIO's `GSocketInputStream`): receive into `buffer`,
    /// blocking whatever the socket's blocking flag, each wait bounded by the socket timeout.
    #[pyo3(signature = (buffer, cancellable = None))]
    fn _stream_receive_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let out = WriteBuf::new(buffer)?;
        let received = self.recv_raw(
            py,
            out.ptr(),
            out.len(),
            false,
            Budget::Forever,
            cancellable::from_arg(&cancellable),
        )?;
        // A blocking budget never reports "would block".
        Ok(received.map_or(0, |(n, _)| n))
    }
}
