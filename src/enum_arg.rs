//! Integer arguments that name a GIO enum (`Socket(family, type, protocol)`): a member of
//! another enum class is a TypeError instead of silently meaning its number (with the arguments
//! swapped, `Socket(SocketType.STREAM, SocketFamily.IPV4)` would otherwise make a UNIX datagram
//! socket). Plain ints, int subclasses that are not enums, and other libraries' enums (the
//! stdlib's `socket.AF_INET` is an `AddressFamily` member) stay accepted as their number.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyInt, PyType};

static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `value` as an i32: an int, or a member of giosocket's enum class `class_name`; `what` names
/// the argument in the error.
pub fn gio_enum(value: &Bound<'_, PyAny>, class_name: &str, what: &str) -> PyResult<i32> {
    if !value.is_exact_instance_of::<PyInt>() {
        let enum_base = ENUM.import(value.py(), "enum", "Enum")?;
        if value.is_instance(enum_base)? {
            let class = value.get_type();
            let ours = class.module()?.to_cow()?.starts_with("giosocket");
            if ours && class.qualname()? != class_name {
                return Err(PyTypeError::new_err(format!(
                    "{what} must be a giosocket.{class_name} or an int, not {}",
                    value.repr()?
                )));
            }
        }
    }
    value.extract::<i32>().map_err(|_| {
        let got = value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".to_owned());
        PyTypeError::new_err(format!(
            "{what} must be a giosocket.{class_name} or an int, not {got}"
        ))
    })
}

/// The `(family, type, protocol)` arguments of a new `Socket`; protocol None means 0 (DEFAULT).
pub fn socket_args(
    family: &Bound<'_, PyAny>,
    stype: &Bound<'_, PyAny>,
    protocol: Option<&Bound<'_, PyAny>>,
) -> PyResult<(i32, i32, i32)> {
    Ok((
        gio_enum(family, "SocketFamily", "family")?,
        gio_enum(stype, "SocketType", "type")?,
        match protocol {
            Some(p) => gio_enum(p, "SocketProtocol", "protocol")?,
            None => 0,
        },
    ))
}
