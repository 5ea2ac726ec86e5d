//! The Python enums of `giosocket/_enums.py` (IntEnum/IntFlag with GIO's values), as cached
//! member tables: `_giosocket._init` hands the classes over once and every result is a
//! table lookup, never a call into the enum machinery.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

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

const KINDS: usize = 6;

/// GIO's `GPollableReturn`.
pub const POLLABLE_FAILED: i32 = 0;
/// GIO's `GPollableReturn`.
pub const POLLABLE_OK: i32 = 1;
/// GIO's `GPollableReturn` (`-G_IO_ERROR_WOULD_BLOCK`).
pub const POLLABLE_WOULD_BLOCK: i32 = -(crate::error::Code::WouldBlock as i32);

/// `_native_constants() -> dict[str, int]`: every enum value the crate uses natively, keyed
/// `"Enum.MEMBER"`, so a test checks the Python enums against them (one source of truth).
#[pyfunction]
#[pyo3(name = "_native_constants")]
pub fn native_constants() -> std::collections::HashMap<String, i64> {
    let mut all = std::collections::HashMap::new();
    for (name, code) in crate::error::CODE_NAMES {
        all.insert(format!("IOErrorEnum.{name}"), *code as i64);
    }
    for (name, bit) in crate::sys::poll::CONDITIONS {
        all.insert(format!("IOCondition.{name}"), bit as i64);
    }
    for (name, value) in [
        ("STREAM", crate::socket::TYPE_STREAM),
        ("DATAGRAM", crate::socket::TYPE_DATAGRAM),
        ("SEQPACKET", crate::socket::TYPE_SEQPACKET),
    ] {
        all.insert(format!("SocketType.{name}"), value as i64);
    }
    for (name, value) in [
        ("FAILED", POLLABLE_FAILED),
        ("OK", POLLABLE_OK),
        ("WOULD_BLOCK", POLLABLE_WOULD_BLOCK),
    ] {
        all.insert(format!("PollableReturn.{name}"), value as i64);
    }
    all
}

impl Kind {
    /// The class name in `giosocket._enums`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Family => "SocketFamily",
            Kind::Type => "SocketType",
            Kind::Protocol => "SocketProtocol",
            Kind::Condition => "IOCondition",
            Kind::UnixAddressType => "UnixSocketAddressType",
            Kind::Pollable => "PollableReturn",
        }
    }

    const ALL: [Kind; KINDS] = [
        Kind::Family,
        Kind::Type,
        Kind::Protocol,
        Kind::Condition,
        Kind::UnixAddressType,
        Kind::Pollable,
    ];
}

/// Every `IOCondition` combination (IN | PRI | OUT | ERR | HUP | NVAL = 0x3f).
const CONDITIONS: usize = 64;

struct Tables {
    /// `(value, member)` of each IntEnum, by `Kind` (searched linearly: a handful each).
    members: Vec<Vec<(i32, Py<PyAny>)>>,
    /// `IOCondition(bits)` for every combination of the six bits.
    conditions: Vec<Py<PyAny>>,
}

static TABLES: PyOnceLock<Tables> = PyOnceLock::new();

/// Take the enum classes (called once by `_giosocket._init`): `classes` maps each class
/// name to the class.
pub fn init(py: Python<'_>, classes: &Bound<'_, PyDict>) -> PyResult<()> {
    let mut members = Vec::with_capacity(KINDS);
    let mut condition = None;
    for kind in Kind::ALL {
        let cls = classes
            .get_item(kind.name())?
            .ok_or_else(|| PyRuntimeError::new_err(format!("_init: {} missing", kind.name())))?
            .cast_into::<PyType>()?;
        let mut table = Vec::new();
        for member in cls.try_iter()? {
            let member = member?;
            table.push((member.extract::<i32>()?, member.unbind()));
        }
        members.push(table);
        if let Kind::Condition = kind {
            condition = Some(cls);
        }
    }
    let condition =
        condition.ok_or_else(|| PyRuntimeError::new_err("_init: IOCondition missing"))?;
    let conditions = (0..CONDITIONS as i32)
        .map(|bits| condition.call1((bits,)).map(Bound::unbind))
        .collect::<PyResult<Vec<_>>>()?;
    TABLES
        .set(
            py,
            Tables {
                members,
                conditions,
            },
        )
        .map_err(|_| PyRuntimeError::new_err("giosocket enums are already initialised"))
}

/// `giosocket.<Enum>(value)`; the plain int if the value is not a member.
pub fn make(py: Python<'_>, kind: Kind, value: i32) -> PyResult<Py<PyAny>> {
    if let Kind::Condition = kind {
        if let Ok(bits) = usize::try_from(value) {
            if bits < CONDITIONS {
                return Ok(condition(py, bits as i16));
            }
        }
    }
    if let Some(tables) = TABLES.get(py) {
        for (v, member) in &tables.members[kind as usize] {
            if *v == value {
                return Ok(member.clone_ref(py));
            }
        }
    }
    Ok(value.into_pyobject(py)?.into_any().unbind())
}

/// `IOCondition(revents)` for poll results (bits beyond the six conditions are dropped).
pub fn condition(py: Python<'_>, revents: i16) -> Py<PyAny> {
    let bits = (revents as usize) & (CONDITIONS - 1);
    match TABLES.get(py) {
        Some(tables) => tables.conditions[bits].clone_ref(py),
        None => match (bits as i64).into_pyobject(py) {
            Ok(v) => v.into_any().unbind(),
            Err(never) => match never {},
        },
    }
}
