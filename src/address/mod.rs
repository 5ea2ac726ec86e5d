//! Socket addresses: the `SocketAddress` base class and the conversions between Python address
//! spellings and native `struct sockaddr`s; `InetAddress` / `InetSocketAddress` live in
//! [`inet`], `UnixSocketAddress` in [`unix`].
//!
//! The base class holds the canonical native form (`SockAddr`), so sending to any address
//! object is one clone, and equality/hash compare native bytes, as GIO's natives do.

use std::hash::{Hash, Hasher};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyBytes, PyString, PyTuple};
use socket2::SockAddr;

use crate::enums::{self, Kind};
use crate::sys::addr;

mod inet;
mod unix;

pub use inet::{ip_from_py, InetAddress, InetSocketAddress};
// The numeric-host parser other modules may reuse (`crate::address::parse_host`).
#[allow(unused_imports)]
pub use inet::parse_host;
pub use inet::sockaddr_from_tuple;
pub use unix::UnixSocketAddress;

/// `__richcmp__` result for classes that only define equality: `same` for `==`, its negation
/// for `!=`, NotImplemented for orderings.
fn compare_eq(py: Python<'_>, same: bool, op: CompareOp) -> PyResult<Py<PyAny>> {
    Ok(match op {
        CompareOp::Eq => same.into_pyobject(py)?.to_owned().into_any().unbind(),
        CompareOp::Ne => (!same).into_pyobject(py)?.to_owned().into_any().unbind(),
        _ => py.NotImplemented(),
    })
}

/// `__hash__` of a value that defines equality.
fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Base class of socket addresses (GIO's `GSocketAddress`); holds the native form. Addresses
/// of families giosocket does not decode are [`NativeSocketAddress`]es.
#[pyclass(subclass, frozen, module = "giosocket", skip_from_py_object)]
pub struct SocketAddress {
    /// The canonical native (`struct sockaddr`) form.
    pub native: SockAddr,
}

use crate::sys::addr::sockaddr_bytes as native_bytes;
use crate::sys::os;

/// Build a SockAddr from raw native bytes (copied into a zeroed storage).
fn sockaddr_from_bytes(data: &[u8]) -> PyResult<SockAddr> {
    let storage_size = addr::SOCKADDR_STORAGE_SIZE;
    if data.len() < 2 || data.len() > storage_size {
        return Err(PyValueError::new_err(format!(
            "a native socket address is 2..={storage_size} bytes, not {}",
            data.len()
        )));
    }
    addr::sockaddr_from_bytes(data).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl SocketAddress {
    /// The socket family (`SocketFamily`).
    #[getter(family)]
    fn prop_family(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        enums::make(py, Kind::Family, self.native.family() as i32)
    }

    /// The socket family (`SocketFamily`).
    fn get_family(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.prop_family(py)
    }

    /// Size in bytes of the native form.
    fn get_native_size(&self) -> usize {
        self.native.len() as usize
    }

    /// The native `struct sockaddr` bytes.
    fn to_native<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, native_bytes(&self.native))
    }

    /// Decode a native `struct sockaddr` (v4-mapped IPv6 comes back as IPv4, as GIO).
    #[staticmethod]
    fn new_from_native(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let buf = crate::buffer::ReadBuf::new(data)?;
        let addr = sockaddr_from_bytes(buf.as_slice())?;
        match sockaddr_to_py(py, &addr)? {
            Some(obj) => Ok(obj),
            None => Err(PyValueError::new_err("not a valid native socket address")),
        }
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<SocketAddress>() else {
            return Ok(py.NotImplemented());
        };
        let same = native_bytes(&self.native) == native_bytes(&other.get().native);
        compare_eq(py, same, op)
    }

    fn __hash__(&self) -> u64 {
        hash_of(native_bytes(&self.native))
    }

    /// Pickle/copy support: rebuilt from the native form (subclasses decode it again).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let rebuild = py.get_type::<SocketAddress>().getattr("new_from_native")?;
        Ok((
            rebuild,
            (PyBytes::new(py, native_bytes(&slf.get().native)),),
        ))
    }

    fn __repr__(&self) -> String {
        format!(
            "<SocketAddress family={} native={:02x?}>",
            self.native.family(),
            native_bytes(&self.native)
        )
    }
}

/// An address of a family giosocket does not model (packet, netlink, ...): only the native
/// bytes, as GIO's `GNativeSocketAddress`.
#[pyclass(extends = SocketAddress, frozen, module = "giosocket", skip_from_py_object)]
pub struct NativeSocketAddress;

impl NativeSocketAddress {
    fn create(py: Python<'_>, native: SockAddr) -> PyResult<Py<PyAny>> {
        let init = PyClassInitializer::from(SocketAddress { native }).add_subclass(Self);
        Ok(Bound::new(py, init)?.into_any().unbind())
    }
}

#[pymethods]
impl NativeSocketAddress {
    /// `NativeSocketAddress(native)`: keep these `struct sockaddr` bytes as they are, whatever
    /// their family (GIO's `g_native_socket_address_new`).
    #[new]
    fn py_new(native: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        let buf = crate::buffer::ReadBuf::new(native)?;
        let native = sockaddr_from_bytes(buf.as_slice())?;
        Ok(PyClassInitializer::from(SocketAddress { native }).add_subclass(Self))
    }

    /// GIO's text for an address it cannot print: the type name, `GNativeSocketAddress`.
    #[allow(clippy::inherent_to_string)]
    fn to_string(&self) -> &'static str {
        "GNativeSocketAddress"
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        let native = &slf.as_super().get().native;
        format!(
            "<NativeSocketAddress family={} native={:02x?}>",
            native.family(),
            native_bytes(native)
        )
    }
}

/// Native address -> Python object (`InetSocketAddress`, `UnixSocketAddress`, or a
/// `NativeSocketAddress` for other families). None for AF_UNSPEC / truncated data (GIO's NULL).
pub fn sockaddr_to_py(py: Python<'_>, addr: &SockAddr) -> PyResult<Option<Py<PyAny>>> {
    match addr.family() as i32 {
        os::AF_UNSPEC => Ok(None),
        os::AF_INET | os::AF_INET6 => inet::sockaddr_to_inet(py, addr),
        os::AF_UNIX => Ok(Some(UnixSocketAddress::from_native(
            py,
            native_bytes(addr),
        )?)),
        _ => Ok(Some(NativeSocketAddress::create(py, addr.clone())?)),
    }
}

/// Any `AddressLike` -> native: a `SocketAddress`, `(host, port[, flowinfo, scope_id])` with a
/// numeric host, or a `str`/`bytes`/`os.PathLike` UNIX path. No DNS lookups.
pub fn sockaddr_from_py(obj: &Bound<'_, PyAny>) -> PyResult<SockAddr> {
    if let Ok(addr) = obj.cast::<SocketAddress>() {
        return Ok(addr.get().native.clone());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return inet::sockaddr_from_tuple(tuple);
    }
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.hasattr("__fspath__")?
    {
        return unix::sockaddr_from_path(obj);
    }
    Err(PyTypeError::new_err(format!(
        "expected a SocketAddress, an (host, port) tuple or a UNIX path, not '{}'",
        obj.get_type().name()?
    )))
}
