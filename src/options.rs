//! `Socket` options and properties: raw `get_option`/`set_option`, the GIO getters/setters
//! (`get_x`/`set_x`) of the socket's own state and SO_KEEPALIVE, and the
//! [`socket_properties!`] macro that turns such pairs into Python properties (also used by
//! other modules adding options, e.g. multicast).

use std::sync::atomic::Ordering::Relaxed;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::address::sockaddr_to_py;
use crate::enums::{self, Kind};
use crate::error::{self, Code};
use crate::socket::Socket;
use crate::sys;
use crate::sys::os;

#[pymethods]
impl Socket {
    /// `getsockopt(level, optname)` as an int.
    fn get_option(&self, py: Python<'_>, level: i32, optname: i32) -> PyResult<i32> {
        let guard = self.enter(py)?;
        sys::getsockopt_int(guard.fd, level, optname)
            .map_err(|e| error::os_error(py, e, "Error getting socket option"))
    }

    /// `setsockopt(level, optname, value)` with an int value.
    fn set_option(&self, py: Python<'_>, level: i32, optname: i32, value: i32) -> PyResult<bool> {
        let guard = self.enter(py)?;
        sys::setsockopt_int(guard.fd, level, optname, value)
            .map_err(|e| error::os_error(py, e, "Error setting socket option"))?;
        Ok(true)
    }

    // ---- get_x()/set_x() pairs; Python properties from `socket_properties!` below ----

    /// The `SocketFamily`.
    fn get_family(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        enums::make(py, Kind::Family, self.family)
    }

    /// The `SocketType`.
    fn get_socket_type(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        enums::make(py, Kind::Type, self.stype)
    }

    /// The `SocketProtocol`.
    fn get_protocol(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        enums::make(py, Kind::Protocol, self.protocol.load(Relaxed))
    }

    /// Whether calls block (emulated; the OS fd stays non-blocking).
    fn get_blocking(&self, _py: Python<'_>) -> PyResult<bool> {
        Ok(self.blocking.load(Relaxed))
    }

    /// Set blocking mode.
    fn set_blocking(&self, _py: Python<'_>, blocking: bool) -> PyResult<()> {
        self.blocking.store(blocking, Relaxed);
        Ok(())
    }

    /// SO_KEEPALIVE.
    fn get_keepalive(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        Ok(
            sys::getsockopt_int(guard.fd, sys::SOL_SOCKET, sys::SO_KEEPALIVE)
                .map(|v| v != 0)
                .unwrap_or(false),
        )
    }

    /// Set SO_KEEPALIVE.
    fn set_keepalive(&self, py: Python<'_>, keepalive: bool) -> PyResult<()> {
        let guard = self.enter(py)?;
        sys::setsockopt_int(
            guard.fd,
            sys::SOL_SOCKET,
            sys::SO_KEEPALIVE,
            keepalive as i32,
        )
        .map_err(|e| error::os_error(py, e, "Unable to set keepalive"))
    }

    /// Backlog used by `listen()` (default 10).
    fn get_listen_backlog(&self, _py: Python<'_>) -> PyResult<i32> {
        Ok(self.listen_backlog.load(Relaxed))
    }

    /// Set the backlog used by the next `listen()`; no effect once the socket is listening,
    /// as GIO (whose `g_return_if_fail (!listening)` keeps the value).
    fn set_listen_backlog(&self, _py: Python<'_>, backlog: i32) -> PyResult<()> {
        let listening = self.fd.enter().is_some_and(|guard| {
            sys::getsockopt_int(guard.fd, os::SOL_SOCKET, os::SO_ACCEPTCONN) == Ok(1)
        });
        if !listening {
            self.listen_backlog.store(backlog, Relaxed);
        }
        Ok(())
    }

    /// Inactivity timeout of blocking calls, in seconds (0 = none).
    fn get_timeout(&self, _py: Python<'_>) -> PyResult<f64> {
        Ok(self.timeout_ns.load(Relaxed) as f64 / 1e9)
    }

    /// Set the timeout in seconds (float accepted; 0 = none; negative raises ValueError).
    fn set_timeout(&self, _py: Python<'_>, timeout: f64) -> PyResult<()> {
        if !timeout.is_finite() || timeout < 0.0 {
            return Err(PyValueError::new_err(format!(
                "timeout must be a finite number >= 0, not {timeout}"
            )));
        }
        let ns = (timeout * 1e9).round();
        let ns = if ns >= u64::MAX as f64 {
            u64::MAX
        } else {
            ns as u64
        };
        self.timeout_ns
            .store(if timeout > 0.0 { ns.max(1) } else { 0 }, Relaxed);
        Ok(())
    }

    /// The local address (`getsockname`).
    fn get_local_address(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let guard = self.enter(py)?;
        let addr = sys::getsockname(guard.fd)
            .map_err(|e| error::os_error(py, e, "could not get local address"))?;
        sockaddr_to_py(py, &addr)?.ok_or_else(|| {
            error::error(py, Code::Failed, "could not get local address: no address")
        })
    }

    /// The connected peer's address (`getpeername`).
    fn get_remote_address(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if self.connect_pending.load(Relaxed) {
            self.check_connect(py)?;
        }
        let guard = self.enter(py)?;
        let addr = self
            .remote_address(&guard)
            .map_err(|e| error::os_error(py, e, "could not get remote address"))?;
        sockaddr_to_py(py, &addr)?.ok_or_else(|| {
            error::error(py, Code::Failed, "could not get remote address: no address")
        })
    }
}

/// Python properties over `get_x(py)` / `set_x(py, value)` method pairs of `Socket`:
/// `/// doc` then `name => (getter_fn_name, get_x [, setter_fn_name, set_x: Type])`; the doc
/// comment becomes the property's docstring (repeated in `_giosocket.pyi`).
macro_rules! socket_properties {
    ($($(#[$doc:meta])* $name:ident => ($prop_get:ident, $get:ident $(, $prop_set:ident, $set:ident : $ty:ty)?);)*) => {
        #[pyo3::pymethods]
        impl $crate::socket::Socket {
            $(
                $(#[$doc])*
                #[getter($name)]
                fn $prop_get(&self, py: pyo3::Python<'_>) -> pyo3::PyResult<pyo3::Py<pyo3::PyAny>> {
                    pyo3::IntoPyObjectExt::into_py_any(self.$get(py)?, py)
                }
                $(
                    #[setter($name)]
                    fn $prop_set(&self, py: pyo3::Python<'_>, value: $ty) -> pyo3::PyResult<()> {
                        self.$set(py, value)
                    }
                )?
            )*
        }
    };
}
// Also used by other modules adding Socket properties (`crate::options::socket_properties`).
pub(crate) use socket_properties;

socket_properties! {
    /// The socket's address family (`SocketFamily`), fixed at creation.
    family => (prop_family, get_family);
    /// The socket type (`SocketType`), fixed at creation.
    r#type => (prop_type, get_socket_type);
    /// The protocol (`SocketProtocol`, or the raw protocol number).
    protocol => (prop_protocol, get_protocol);
    /// Whether calls block (emulated; the OS fd stays non-blocking).
    blocking => (prop_blocking, get_blocking, prop_set_blocking, set_blocking: bool);
    /// SO_KEEPALIVE: whether TCP keepalive probes are sent on an idle connection.
    keepalive => (prop_keepalive, get_keepalive, prop_set_keepalive, set_keepalive: bool);
    /// Backlog used by `listen()` (default 10).
    listen_backlog => (prop_listen_backlog, get_listen_backlog, prop_set_listen_backlog, set_listen_backlog: i32);
    /// Inactivity timeout of blocking calls, in seconds (0 = none; negative raises ValueError).
    timeout => (prop_timeout, get_timeout, prop_set_timeout, set_timeout: f64);
    /// The local address (`getsockname`).
    local_address => (prop_local_address, get_local_address);
    /// The connected peer's address (`getpeername`).
    remote_address => (prop_remote_address, get_remote_address);
}
