//! Bridge to the Python enums in `giosocket/_enums.py` (IntEnum/IntFlag with GIO's values).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Which Python enum class to build.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `SocketFamily`
    Family,
    /// `SocketType`
    Type,
    /// `SocketProtocol`
    Protocol,
    /// `IOCondition`
    Condition,
    /// `UnixSocketAddressType`
    UnixAddressType,
    /// `PollableReturn`
    Pollable,
}

static CLASSES: [PyOnceLock<Py<PyAny>>; 6] = [const { PyOnceLock::new() }; 6];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Family => "SocketFamily",
            Kind::Type => "SocketType",
            Kind::Protocol => "SocketProtocol",
            Kind::Condition => "IOCondition",
            Kind::UnixAddressType => "UnixSocketAddressType",
            Kind::Pollable => "PollableReturn",
        }
    }
}

/// `giosocket.<Enum>(value)`; falls back to the plain int if the value is not a member.
pub fn make(py: Python<'_>, kind: Kind, value: i32) -> PyResult<Py<PyAny>> {
    let class = CLASSES[kind as usize].import(py, "giosocket._enums", kind.name())?;
    match class.call1((value,)) {
        Ok(member) => Ok(member.unbind()),
        Err(_) => Ok(value.into_pyobject(py)?.into_any().unbind()),
    }
}
