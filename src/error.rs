//! GIO error codes, `g_io_error_from_errno`, and the one constructor of Python errors.
//!
//! Python sees every failure as `giosocket.Error` (an `OSError` subclass defined in
//! `giosocket/_errors.py`, so it can also inherit from the matching builtin such as
//! `TimeoutError`). The classes and the `IOErrorEnum` members are handed to the crate once,
//! at import ([`init`]); building an error is then one native `OSError.__new__` call and one
//! attribute store: no Python-level code runs.

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::sys::errno::*;

/// Defines [`Code`] and [`CODE_NAMES`] from one list, so the Python `IOErrorEnum` can be
/// checked against it (tests/test_constants.py).
macro_rules! gio_codes {
    ($($variant:ident = $value:literal => $name:literal,)*) => {
        /// `GIOErrorEnum` values used by the crate (GIO's numbering).
        #[allow(missing_docs)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(i32)]
        pub enum Code {
            $($variant = $value,)*
        }

        /// Each code with its `IOErrorEnum` member name.
        pub const CODE_NAMES: &[(&str, Code)] = &[$(($name, Code::$variant),)*];
    };
}

gio_codes! {
    Failed = 0 => "FAILED",
    NotFound = 1 => "NOT_FOUND",
    Exists = 2 => "EXISTS",
    IsDirectory = 3 => "IS_DIRECTORY",
    NotDirectory = 4 => "NOT_DIRECTORY",
    NotEmpty = 5 => "NOT_EMPTY",
    NotRegularFile = 6 => "NOT_REGULAR_FILE",
    FilenameTooLong = 9 => "FILENAME_TOO_LONG",
    TooManyLinks = 11 => "TOO_MANY_LINKS",
    NoSpace = 12 => "NO_SPACE",
    InvalidArgument = 13 => "INVALID_ARGUMENT",
    PermissionDenied = 14 => "PERMISSION_DENIED",
    NotSupported = 15 => "NOT_SUPPORTED",
    Closed = 18 => "CLOSED",
    Cancelled = 19 => "CANCELLED",
    Pending = 20 => "PENDING",
    ReadOnly = 21 => "READ_ONLY",
    TimedOut = 24 => "TIMED_OUT",
    Busy = 26 => "BUSY",
    WouldBlock = 27 => "WOULD_BLOCK",
    TooManyOpenFiles = 31 => "TOO_MANY_OPEN_FILES",
    AddressInUse = 33 => "ADDRESS_IN_USE",
    InvalidData = 35 => "INVALID_DATA",
    HostUnreachable = 37 => "HOST_UNREACHABLE",
    NetworkUnreachable = 38 => "NETWORK_UNREACHABLE",
    ConnectionRefused = 39 => "CONNECTION_REFUSED",
    ConnectionClosed = 44 => "CONNECTION_CLOSED",
    NotConnected = 45 => "NOT_CONNECTED",
    MessageTooLarge = 46 => "MESSAGE_TOO_LARGE",
    NoSuchDevice = 47 => "NO_SUCH_DEVICE",
    DestinationUnset = 48 => "DESTINATION_UNSET",
}

/// GLib's `g_io_error_from_errno` (via `g_file_error_from_errno`), for Linux errnos.
pub fn code_from_errno(errno: i32) -> Code {
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

/// The highest GIO error code with a class or member (`IOErrorEnum` goes to 48).
const CODES: usize = 64;

/// What `_init` hands over: the classes per code and the `IOErrorEnum` members.
struct Registry {
    /// `OSError.__new__`, which builds any subclass natively from `(errno, strerror)`.
    new: Py<PyAny>,
    /// The class for each code (`giosocket.Error` where no builtin matches).
    classes: Vec<Py<PyType>>,
    /// CONNECTION_CLOSED from EPIPE (a `BrokenPipeError`).
    broken_pipe: Py<PyType>,
    /// `IOErrorEnum(code)` for each code (the plain int where none).
    members: Vec<Py<PyAny>>,
}

static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();

/// Take the error classes from `giosocket._errors` (called once by `_giosocket._init`):
/// `base` is `giosocket.Error`, `by_code` maps codes to builtin-compatible subclasses,
/// `broken_pipe` is CONNECTION_CLOSED's EPIPE class, `members` maps codes to `IOErrorEnum`.
pub fn init(
    py: Python<'_>,
    base: &Bound<'_, PyType>,
    by_code: &Bound<'_, PyDict>,
    broken_pipe: &Bound<'_, PyType>,
    members: &Bound<'_, PyDict>,
) -> PyResult<()> {
    let mut classes = Vec::with_capacity(CODES);
    let mut enum_members = Vec::with_capacity(CODES);
    for code in 0..CODES as i32 {
        classes.push(match by_code.get_item(code)? {
            Some(cls) => cls.cast_into::<PyType>()?.unbind(),
            None => base.clone().unbind(),
        });
        enum_members.push(match members.get_item(code)? {
            Some(member) => member.unbind(),
            None => code.into_pyobject(py)?.into_any().unbind(),
        });
    }
    let registry = Registry {
        new: py.get_type::<PyOSError>().getattr("__new__")?.unbind(),
        classes,
        broken_pipe: broken_pipe.clone().unbind(),
        members: enum_members,
    };
    REGISTRY
        .set(py, registry)
        .map_err(|_| PyRuntimeError::new_err("giosocket errors are already initialised"))
}

/// `IOErrorEnum(code)` from the table (the plain int for codes outside it).
pub fn code_member(py: Python<'_>, code: i32) -> PyResult<Py<PyAny>> {
    match (REGISTRY.get(py), usize::try_from(code)) {
        (Some(registry), Ok(at)) if at < CODES => Ok(registry.members[at].clone_ref(py)),
        _ => Ok(code.into_pyobject(py)?.into_any().unbind()),
    }
}

fn build<'py>(
    py: Python<'py>,
    code: Code,
    message: impl IntoPyObject<'py>,
    errno: Option<i32>,
) -> PyResult<PyErr> {
    let registry = REGISTRY.get(py).ok_or_else(|| {
        PyRuntimeError::new_err("giosocket._giosocket used before giosocket was imported")
    })?;
    let at = code as usize;
    let cls = if code == Code::ConnectionClosed && errno == Some(EPIPE) {
        &registry.broken_pipe
    } else {
        &registry.classes[at]
    };
    let exc = registry.new.bind(py).call1((cls, errno, message))?;
    exc.setattr(intern!(py, "code"), &registry.members[at])?;
    Ok(PyErr::from_value(exc))
}

/// Build a `giosocket.Error` (right builtin-compatible subclass) for `code`.
pub fn gio_error(
    py: Python<'_>,
    code: Code,
    message: impl Into<String>,
    errno: Option<i32>,
) -> PyErr {
    build(py, code, message.into(), errno).unwrap_or_else(|e| e)
}

/// A GIO error that carries no errno.
pub fn error(py: Python<'_>, code: Code, message: impl Into<String>) -> PyErr {
    gio_error(py, code, message, None)
}

/// Most contexts kept in [`MESSAGES`]; more are formatted each time.
const CACHED_MESSAGES: usize = 256;

/// The messages of syscall errors already built, by errno and context: the same few pairs
/// recur ("Error receiving data: Resource temporarily unavailable" on every would-block), so
/// an error costs no formatting. Lock held only for the lookup, always with the GIL.
static MESSAGES: PyOnceLock<Mutex<MessagesByErrno>> = PyOnceLock::new();

/// errno -> context -> message.
type MessagesByErrno = HashMap<i32, HashMap<Box<str>, Py<PyString>>>;

fn message(py: Python<'_>, errno: i32, context: &str) -> Py<PyString> {
    let make = || {
        let text = strerror(errno);
        let message = if context.is_empty() {
            text
        } else {
            format!("{context}: {text}")
        };
        PyString::new(py, &message).unbind()
    };
    let cache = MESSAGES.get_or_init(py, || Mutex::new(HashMap::new()));
    let Ok(mut cache) = cache.lock() else {
        return make();
    };
    if let Some(found) = cache
        .get(&errno)
        .and_then(|by_context| by_context.get(context))
    {
        return found.clone_ref(py);
    }
    let made = make();
    let size: usize = cache.values().map(HashMap::len).sum();
    if size < CACHED_MESSAGES {
        cache
            .entry(errno)
            .or_default()
            .insert(context.into(), made.clone_ref(py));
    }
    made
}

/// An error for a failed syscall: `"{context}: {strerror}"`, code from the errno.
pub fn os_error(py: Python<'_>, errno: i32, context: &str) -> PyErr {
    let text = message(py, errno, context);
    build(py, code_from_errno(errno), text, Some(errno)).unwrap_or_else(|e| e)
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

/// `_io_error_from_errno(errno) -> IOErrorEnum`: GLib's `g_io_error_from_errno`, exposed
/// (privately) so tests can compare the mapping with the real GIO.
#[pyfunction]
#[pyo3(name = "_io_error_from_errno")]
pub fn py_io_error_from_errno(py: Python<'_>, errno: i32) -> PyResult<Py<PyAny>> {
    code_member(py, code_from_errno(errno) as i32)
}
