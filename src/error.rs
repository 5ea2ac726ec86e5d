//! GIO error codes, `g_io_error_from_errno`, and the one constructor of Python errors.
//!
//! Python sees every failure as `giosocket.Error` (defined in `giosocket/_errors.py` so it can
//! also inherit from the matching builtin such as `TimeoutError`); Rust code builds them here.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `GIOErrorEnum` values used by the crate (GIO's numbering).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Code {
    Failed = 0,
    NotFound = 1,
    Exists = 2,
    IsDirectory = 3,
    NotDirectory = 4,
    NotEmpty = 5,
    NotRegularFile = 6,
    FilenameTooLong = 9,
    TooManyLinks = 11,
    NoSpace = 12,
    InvalidArgument = 13,
    PermissionDenied = 14,
    NotSupported = 15,
    Closed = 18,
    Cancelled = 19,
    Pending = 20,
    ReadOnly = 21,
    TimedOut = 24,
    Busy = 26,
    WouldBlock = 27,
    TooManyOpenFiles = 31,
    AddressInUse = 33,
    InvalidData = 35,
    HostUnreachable = 37,
    NetworkUnreachable = 38,
    ConnectionRefused = 39,
    ConnectionClosed = 44,
    NotConnected = 45,
    MessageTooLarge = 46,
    NoSuchDevice = 47,
    DestinationUnset = 48,
}

/// GLib's `g_io_error_from_errno` (via `g_file_error_from_errno`), for Linux errnos.
pub fn code_from_errno(errno: i32) -> Code {
    use libc::*;
    match errno {
        EEXIST => Code::Exists,
        EISDIR => Code::IsDirectory,
        EACCES | EPERM => Code::PermissionDenied,
        ENAMETOOLONG => Code::FilenameTooLong,
        ENOENT => Code::NotFound,
        ENOTDIR => Code::NotDirectory,
        ENXIO => Code::NotRegularFile,
        ENODEV => Code::NoSuchDevice,
        EROFS => Code::ReadOnly,
        ETXTBSY | EBUSY => Code::Busy,
        ELOOP | EMLINK => Code::TooManyLinks,
        ENOSPC | ENOMEM => Code::NoSpace,
        EMFILE | ENFILE => Code::TooManyOpenFiles,
        EINVAL | ENOTSOCK => Code::InvalidArgument,
        EPIPE | ECONNRESET => Code::ConnectionClosed,
        EAGAIN => Code::WouldBlock,
        ENOSYS | ENOTSUP | EPROTONOSUPPORT | ESOCKTNOSUPPORT | EPFNOSUPPORT | EAFNOSUPPORT => {
            Code::NotSupported
        }
        ENOMSG | ENODATA | EBADMSG => Code::InvalidData,
        ECANCELED => Code::Cancelled,
        ENOTEMPTY => Code::NotEmpty,
        ETIMEDOUT => Code::TimedOut,
        EADDRINUSE => Code::AddressInUse,
        EHOSTUNREACH => Code::HostUnreachable,
        ENETUNREACH | ENETDOWN => Code::NetworkUnreachable,
        ECONNREFUSED | EADDRNOTAVAIL => Code::ConnectionRefused,
        ENOTCONN => Code::NotConnected,
        EDESTADDRREQ => Code::DestinationUnset,
        EMSGSIZE => Code::MessageTooLarge,
        _ => Code::Failed,
    }
}

/// The OS's message for `errno` (`strerror`).
pub fn strerror(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_owned()
}

static MAKE_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Build a `giosocket.Error` (right builtin-compatible subclass) for `code`.
pub fn gio_error(
    py: Python<'_>,
    code: Code,
    message: impl Into<String>,
    errno: Option<i32>,
) -> PyErr {
    let message = message.into();
    let made = MAKE_ERROR
        .import(py, "giosocket._errors", "_make")
        .and_then(|make| make.call1((code as i32, message.clone(), errno)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(_) => PyOSError::new_err((errno.unwrap_or(0), message)),
    }
}

/// A GIO error that carries no errno.
pub fn error(py: Python<'_>, code: Code, message: impl Into<String>) -> PyErr {
    gio_error(py, code, message, None)
}

/// An error for a failed syscall: `"{context}: {strerror}"`, code from the errno.
pub fn os_error(py: Python<'_>, errno: i32, context: &str) -> PyErr {
    if errno == libc::EAGAIN {
        // Inside an asyncio step (`Socket._call_nonblocking`) WOULD_BLOCK is the expected
        // outcome: a cheap marker, never seen by Python code, replaces the full error.
        if let Some(marker) = crate::aio::quiet_would_block(py) {
            return marker;
        }
    }
    let text = strerror(errno);
    let message = if context.is_empty() {
        text
    } else {
        format!("{context}: {text}")
    };
    gio_error(py, code_from_errno(errno), message, Some(errno))
}

/// `Socket is already closed` (GIO's CLOSED).
pub fn closed(py: Python<'_>) -> PyErr {
    error(py, Code::Closed, "Socket is already closed")
}

/// `Operation was cancelled` (GIO's CANCELLED).
pub fn cancelled(py: Python<'_>) -> PyErr {
    error(py, Code::Cancelled, "Operation was cancelled")
}

/// `Socket I/O timed out` (GIO's TIMED_OUT).
pub fn timed_out(py: Python<'_>) -> PyErr {
    error(py, Code::TimedOut, "Socket I/O timed out")
}

/// The last OS error number.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `_io_error_from_errno(errno) -> IOErrorEnum`: GLib's `g_io_error_from_errno`, exposed
/// (privately) so tests can compare the mapping with the real GIO.
#[pyfunction]
#[pyo3(name = "_io_error_from_errno")]
pub fn py_io_error_from_errno(py: Python<'_>, errno: i32) -> PyResult<Py<PyAny>> {
    let code = py.import("giosocket._enums")?.getattr("IOErrorEnum")?;
    Ok(code.call1((code_from_errno(errno) as i32,))?.unbind())
}
