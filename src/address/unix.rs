//! UNIX-domain addresses: `UnixSocketAddress` (GIO's `GUnixSocketAddress`) with GIO's native
//! sizes for path, abstract and padded-abstract names.
//!
//! GIO names (`new`, `to_string`) are kept for the Python methods, hence the clippy allowance.
#![allow(clippy::new_ret_no_self)]

use std::os::unix::ffi::OsStrExt;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use socket2::SockAddr;

use super::{sockaddr_from_bytes, SocketAddress};
use crate::enums::{self, Kind};
use crate::sys::os;

const AF_UNIX: i32 = os::AF_UNIX;
const SUN_PATH_LEN: usize = 108;
const SUN_PATH_OFFSET: usize = 2;

const UNIX_ANONYMOUS: i32 = 1;
const UNIX_PATH: i32 = 2;
const UNIX_ABSTRACT: i32 = 3;
const UNIX_ABSTRACT_PADDED: i32 = 4;

/// A UNIX-domain socket address (GIO's `GUnixSocketAddress`).
#[pyclass(extends = SocketAddress, frozen, module = "giosocket", skip_from_py_object)]
pub struct UnixSocketAddress {
    path: Vec<u8>,
    kind: i32,
}

/// Path bytes from `str`, `bytes` or `os.PathLike` (as `os.fspath`: an exception raised by
/// `__fspath__` propagates unchanged; only a missing `__fspath__` is a TypeError).
fn path_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let py = obj.py();
    let type_name = |o: &Bound<'_, PyAny>| {
        o.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let path = if obj.is_instance_of::<PyString>() {
        obj.clone()
    } else {
        let fspath = obj
            .get_type()
            .getattr(pyo3::intern!(py, "__fspath__"))
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "expected str, bytes or os.PathLike for a UNIX socket path, not '{}'",
                    type_name(obj)
                ))
            })?;
        fspath.call1((obj,))?
    };
    if let Ok(b) = path.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if !path.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "expected {}.__fspath__() to return str or bytes, not '{}'",
            type_name(obj),
            type_name(&path)
        )));
    }
    let encoded = py.import("os")?.getattr("fsencode")?.call1((path,))?;
    Ok(encoded.cast::<PyBytes>()?.as_bytes().to_vec())
}

impl UnixSocketAddress {
    /// Native form per GIO's `g_unix_socket_address_to_native` sizes.
    fn native(path: &[u8], kind: i32) -> PyResult<SockAddr> {
        let max = SUN_PATH_LEN - 1;
        if path.len() > max {
            return Err(PyValueError::new_err(format!(
                "UNIX socket path is {} bytes; the limit is {max}",
                path.len()
            )));
        }
        if kind == UNIX_PATH && path.contains(&0) {
            return Err(PyValueError::new_err(
                "UNIX socket path contains a NUL byte",
            ));
        }
        let mut raw = [0u8; SUN_PATH_OFFSET + SUN_PATH_LEN];
        raw[..2].copy_from_slice(&(AF_UNIX as os::sa_family_t).to_ne_bytes());
        let len = match kind {
            UNIX_ANONYMOUS => SUN_PATH_OFFSET,
            UNIX_PATH => {
                raw[SUN_PATH_OFFSET..SUN_PATH_OFFSET + path.len()].copy_from_slice(path);
                raw.len()
            }
            UNIX_ABSTRACT | UNIX_ABSTRACT_PADDED => {
                raw[SUN_PATH_OFFSET + 1..SUN_PATH_OFFSET + 1 + path.len()].copy_from_slice(path);
                if kind == UNIX_ABSTRACT {
                    SUN_PATH_OFFSET + 1 + path.len()
                } else {
                    raw.len()
                }
            }
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid UnixSocketAddressType {kind}"
                )))
            }
        };
        sockaddr_from_bytes(&raw[..len])
    }

    /// The base + subclass initializer (ValueError for a bad path or kind).
    fn init(path: Vec<u8>, kind: i32) -> PyResult<PyClassInitializer<Self>> {
        let native = Self::native(&path, kind)?;
        Ok(PyClassInitializer::from(SocketAddress { native })
            .add_subclass(UnixSocketAddress { path, kind }))
    }

    /// Create the Python object.
    pub fn create(py: Python<'_>, path: Vec<u8>, kind: i32) -> PyResult<Py<PyAny>> {
        Ok(Bound::new(py, Self::init(path, kind)?)?.into_any().unbind())
    }

    /// Decode a native AF_UNIX address as GIO does.
    pub(super) fn from_native(py: Python<'_>, raw: &[u8]) -> PyResult<Py<PyAny>> {
        let sun = raw.get(SUN_PATH_OFFSET..).unwrap_or(&[]);
        if sun.is_empty() {
            return Self::create(py, Vec::new(), UNIX_ANONYMOUS);
        }
        if sun[0] == 0 {
            let name = sun[1..].to_vec();
            let kind = if raw.len() < SUN_PATH_OFFSET + SUN_PATH_LEN {
                UNIX_ABSTRACT
            } else {
                UNIX_ABSTRACT_PADDED
            };
            // For ABSTRACT_PADDED GIO keeps the full padded name: trailing NULs are part of it.
            return Self::create(py, name, kind);
        }
        // The kernel may hand back a full 108-byte path without a NUL; GIO clips to 107.
        let end = sun
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(sun.len())
            .min(SUN_PATH_LEN - 1);
        Self::create(py, sun[..end].to_vec(), UNIX_PATH)
    }
}

#[pymethods]
impl UnixSocketAddress {
    /// `UnixSocketAddress(path)`: a filesystem path (str, bytes or os.PathLike).
    #[new]
    fn py_new(path: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        Self::init(path_bytes(path)?, UNIX_PATH)
    }

    /// GIO's `g_unix_socket_address_new(path)`: a filesystem path, as the constructor.
    #[staticmethod]
    fn new(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::create(py, path_bytes(path)?, UNIX_PATH)
    }

    /// An abstract-namespace address, zero-padded (GIO's deprecated `new_abstract`).
    #[staticmethod]
    fn new_abstract(py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::create(py, path_bytes(name)?, UNIX_ABSTRACT_PADDED)
    }

    /// An address of the given `UnixSocketAddressType`.
    #[staticmethod]
    fn new_with_type(py: Python<'_>, path: &Bound<'_, PyAny>, r#type: i32) -> PyResult<Py<PyAny>> {
        let path = if r#type == UNIX_ANONYMOUS {
            Vec::new()
        } else {
            path_bytes(path)?
        };
        Self::create(py, path, r#type)
    }

    /// Whether the platform supports abstract names (Linux: yes).
    #[staticmethod]
    fn abstract_names_supported() -> bool {
        cfg!(any(target_os = "linux", target_os = "android"))
    }

    /// The path (or abstract name) as str (file-system encoding, surrogateescape).
    #[getter(path)]
    fn prop_path<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(std::ffi::OsStr::from_bytes(&self.path)
            .into_pyobject(py)?
            .into_any())
    }

    /// The path (or abstract name) as str.
    fn get_path<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.prop_path(py)
    }

    /// The path (or abstract name) as bytes.
    fn get_path_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.path)
    }

    /// Length of the path in bytes.
    fn get_path_len(&self) -> usize {
        self.path.len()
    }

    /// The `UnixSocketAddressType`.
    #[getter(address_type)]
    fn prop_address_type(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        enums::make(py, Kind::UnixAddressType, self.kind)
    }

    /// The `UnixSocketAddressType`.
    fn get_address_type(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.prop_address_type(py)
    }

    /// Whether this is an abstract address (GIO's deprecated `get_is_abstract`).
    fn get_is_abstract(&self) -> bool {
        self.kind == UNIX_ABSTRACT || self.kind == UNIX_ABSTRACT_PADDED
    }

    /// GIO's text form: `anonymous`, or the path (or abstract name) with every byte that is
    /// not printable ASCII written as `\xNN`.
    #[allow(clippy::inherent_to_string)]
    fn to_string(&self) -> String {
        if self.kind == UNIX_ANONYMOUS {
            return "anonymous".to_owned();
        }
        let mut out = String::with_capacity(self.path.len());
        for &byte in &self.path {
            if (0x20..0x7f).contains(&byte) {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        }
        out
    }

    fn __str__(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }

    fn __repr__(&self) -> String {
        let name = match self.kind {
            UNIX_ANONYMOUS => "ANONYMOUS",
            UNIX_PATH => "PATH",
            UNIX_ABSTRACT => "ABSTRACT",
            _ => "ABSTRACT_PADDED",
        };
        format!(
            "UnixSocketAddress({:?}, {name})",
            String::from_utf8_lossy(&self.path)
        )
    }
}

/// A `str`/`bytes`/`os.PathLike` filesystem path -> native AF_UNIX address.
pub(super) fn sockaddr_from_path(obj: &Bound<'_, PyAny>) -> PyResult<SockAddr> {
    UnixSocketAddress::native(&path_bytes(obj)?, UNIX_PATH)
}
