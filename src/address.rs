//! Socket addresses: `InetAddress`, `SocketAddress` and its `InetSocketAddress` /
//! `UnixSocketAddress` subclasses, and conversion from Python address spellings.
//!
//! GIO names (`to_string`, `new`) are kept for the Python methods, hence the clippy allowances.
#![allow(clippy::inherent_to_string, clippy::new_ret_no_self)]
//!
//! The base class holds the canonical native form (`SockAddr`), so sending to any address
//! object is one clone, and equality/hash compare native bytes, as GIO's natives do.

use std::ffi::CString;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyBytes, PyString, PyTuple};
use socket2::SockAddr;

use crate::enums::{self, Kind};

const AF_UNIX: i32 = libc::AF_UNIX;
const SUN_PATH_LEN: usize = 108;
const SUN_PATH_OFFSET: usize = 2;

/// GIO's family number for an IP address.
fn ip_family(ip: &IpAddr) -> i32 {
    if ip.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    }
}

// ---------------------------------------------------------------------------------------
// InetAddress

/// An IPv4 or IPv6 address (GIO's `GInetAddress`).
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
#[derive(Clone)]
pub struct InetAddress {
    /// The address.
    pub ip: IpAddr,
}

/// Parse a numeric host, with an optional `%scope` (name or number) for IPv6.
pub fn parse_host(text: &str) -> Option<(IpAddr, u32)> {
    let (host, scope) = match text.split_once('%') {
        Some((h, s)) => (h, Some(s)),
        None => (text, None),
    };
    let ip: IpAddr = host.parse().ok()?;
    let scope_id = match (scope, ip) {
        (None, _) => 0,
        (Some(s), IpAddr::V6(_)) => match s.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let name = CString::new(s).ok()?;
                // SAFETY: `name` is a valid NUL-terminated string.
                let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
                if index == 0 {
                    return None;
                }
                index
            }
        },
        (Some(_), IpAddr::V4(_)) => return None,
    };
    Some((ip, scope_id))
}

/// Extract an `InetAddress` or a numeric host string.
pub fn ip_from_py(obj: &Bound<'_, PyAny>) -> PyResult<IpAddr> {
    if let Ok(addr) = obj.cast::<InetAddress>() {
        return Ok(addr.get().ip);
    }
    if let Ok(text) = obj.cast::<PyString>() {
        let text = text.to_str()?;
        return text.parse::<IpAddr>().map_err(|_| {
            PyValueError::new_err(format!("{text:?} is not a numeric IPv4 or IPv6 address"))
        });
    }
    Err(PyTypeError::new_err(format!(
        "expected an InetAddress or a str, not '{}'",
        obj.get_type().name()?
    )))
}

fn family_from_int(family: i32) -> PyResult<i32> {
    match family {
        libc::AF_INET | libc::AF_INET6 => Ok(family),
        _ => Err(PyValueError::new_err(format!(
            "family must be SocketFamily.IPV4 or IPV6, not {family}"
        ))),
    }
}

macro_rules! inet_predicates {
    ($($prop:ident, $getter:ident, $rust:ident, $doc:literal, $test:expr;)*) => {
        #[pymethods]
        impl InetAddress {
            $(
                #[doc = $doc]
                #[getter($prop)]
                fn $rust(&self) -> bool {
                    let f: fn(&IpAddr) -> bool = $test;
                    f(&self.ip)
                }
            )*
        }
        #[pymethods]
        impl InetAddress {
            $(
                #[doc = $doc]
                fn $getter(&self) -> bool {
                    self.$rust()
                }
            )*
        }
    };
}

fn v6(ip: &IpAddr) -> Option<&Ipv6Addr> {
    match ip {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

fn mc_scope(ip: &IpAddr, scope: u8) -> bool {
    v6(ip).is_some_and(|a| a.octets()[0] == 0xff && (a.octets()[1] & 0x0f) == scope)
}

inet_predicates! {
    is_any, get_is_any, prop_is_any, "Whether this is the any-address (0.0.0.0 or ::).", |ip| ip.is_unspecified();
    is_loopback, get_is_loopback, prop_is_loopback, "Whether this is a loopback address (127.0.0.0/8 or ::1).", |ip| ip.is_loopback();
    is_link_local, get_is_link_local, prop_is_link_local, "Whether this is link-local (169.254.0.0/16 or fe80::/10).",
        |ip| match ip { IpAddr::V4(a) => (u32::from(*a) & 0xffff_0000) == 0xa9fe_0000, IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80 };
    is_site_local, get_is_site_local, prop_is_site_local, "Whether this is site-local (RFC 1918 or fec0::/10).",
        |ip| match ip {
            IpAddr::V4(a) => { let v = u32::from(*a); (v & 0xff00_0000) == 0x0a00_0000 || (v & 0xfff0_0000) == 0xac10_0000 || (v & 0xffff_0000) == 0xc0a8_0000 }
            IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfec0,
        };
    is_multicast, get_is_multicast, prop_is_multicast, "Whether this is a multicast address.", |ip| ip.is_multicast();
    is_mc_global, get_is_mc_global, prop_is_mc_global, "Whether this is a global-scope IPv6 multicast address.", |ip| mc_scope(ip, 0xe);
    is_mc_link_local, get_is_mc_link_local, prop_is_mc_link_local, "Whether this is a link-local IPv6 multicast address.", |ip| mc_scope(ip, 0x2);
    is_mc_node_local, get_is_mc_node_local, prop_is_mc_node_local, "Whether this is a node-local IPv6 multicast address.", |ip| mc_scope(ip, 0x1);
    is_mc_org_local, get_is_mc_org_local, prop_is_mc_org_local, "Whether this is an organisation-local IPv6 multicast address.", |ip| mc_scope(ip, 0x8);
    is_mc_site_local, get_is_mc_site_local, prop_is_mc_site_local, "Whether this is a site-local IPv6 multicast address.", |ip| mc_scope(ip, 0x5);
}

#[pymethods]
impl InetAddress {
    /// Parse a numeric IPv4/IPv6 address; ValueError if it is not one.
    #[new]
    fn py_new(address: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(InetAddress {
            ip: ip_from_py(address)?,
        })
    }

    /// Parse a numeric address; None if `string` is not one (GIO returns NULL).
    #[staticmethod]
    fn new_from_string(string: &str) -> Option<Self> {
        string.parse().ok().map(|ip| InetAddress { ip })
    }

    /// From 4 (IPv4) or 16 (IPv6) raw bytes in network order.
    #[staticmethod]
    fn new_from_bytes(data: &Bound<'_, PyAny>, family: i32) -> PyResult<Self> {
        let buf = crate::buffer::ReadBuf::new(data)?;
        let bytes = buf.as_slice();
        let ip = match (family_from_int(family)?, bytes.len()) {
            (libc::AF_INET, 4) => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
            (libc::AF_INET6, 16) => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(bytes);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
            (_, n) => {
                return Err(PyValueError::new_err(format!(
                    "{n} bytes do not make an address of family {family}"
                )))
            }
        };
        Ok(InetAddress { ip })
    }

    /// The any-address (0.0.0.0 or ::) of `family`.
    #[staticmethod]
    fn new_any(family: i32) -> PyResult<Self> {
        Ok(InetAddress {
            ip: if family_from_int(family)? == libc::AF_INET {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            },
        })
    }

    /// The loopback address (127.0.0.1 or ::1) of `family`.
    #[staticmethod]
    fn new_loopback(family: i32) -> PyResult<Self> {
        Ok(InetAddress {
            ip: if family_from_int(family)? == libc::AF_INET {
                Ipv4Addr::LOCALHOST.into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            },
        })
    }

    /// Text form (`127.0.0.1`, `::1`).
    fn to_string(&self) -> String {
        self.ip.to_string()
    }

    fn __str__(&self) -> String {
        self.ip.to_string()
    }

    fn __repr__(&self) -> String {
        format!("InetAddress('{}')", self.ip)
    }

    /// Pickle/copy support: rebuilt from the text form.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        Ok((slf.get_type().into_any(), (slf.get().ip.to_string(),)))
    }

    /// Raw bytes in network order (4 or 16).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match self.ip {
            IpAddr::V4(a) => PyBytes::new(py, &a.octets()),
            IpAddr::V6(a) => PyBytes::new(py, &a.octets()),
        }
    }

    /// `SocketFamily.IPV4` or `IPV6`.
    #[getter(family)]
    fn prop_family(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        enums::make(py, Kind::Family, ip_family(&self.ip))
    }

    /// `SocketFamily.IPV4` or `IPV6`.
    fn get_family(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.prop_family(py)
    }

    /// Size of the raw address: 4 or 16.
    fn get_native_size(&self) -> usize {
        if self.ip.is_ipv4() {
            4
        } else {
            16
        }
    }

    /// Whether `other` is the same address.
    fn equal(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.ip == ip_from_py(other)?)
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<InetAddress>() else {
            return Ok(py.NotImplemented());
        };
        let same = self.ip == other.get().ip;
        Ok(match op {
            CompareOp::Eq => same.into_pyobject(py)?.to_owned().into_any().unbind(),
            CompareOp::Ne => (!same).into_pyobject(py)?.to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        })
    }

    fn __hash__(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.ip.hash(&mut h);
        h.finish()
    }
}

// ---------------------------------------------------------------------------------------
// SocketAddress base

/// Base class of socket addresses (GIO's `GSocketAddress`); holds the native form.
/// Instances of the base itself stand for families giosocket does not decode
/// (GIO's `GNativeSocketAddress`).
#[pyclass(subclass, frozen, module = "giosocket", skip_from_py_object)]
pub struct SocketAddress {
    /// The canonical native (`struct sockaddr`) form.
    pub native: SockAddr,
}

fn native_bytes(addr: &SockAddr) -> &[u8] {
    // SAFETY: `as_ptr` points to a storage of at least `len()` initialised bytes.
    unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), addr.len() as usize) }
}

/// Build a SockAddr from raw native bytes (copied into a zeroed storage).
fn sockaddr_from_bytes(data: &[u8]) -> PyResult<SockAddr> {
    let storage_size = std::mem::size_of::<libc::sockaddr_storage>();
    if data.len() < 2 || data.len() > storage_size {
        return Err(PyValueError::new_err(format!(
            "a native socket address is 2..={storage_size} bytes, not {}",
            data.len()
        )));
    }
    // SAFETY: the closure copies at most storage_size bytes into the zeroed storage socket2
    // hands us and reports that length.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            std::ptr::copy_nonoverlapping(data.as_ptr(), storage.cast::<u8>(), data.len());
            *len = data.len() as libc::socklen_t;
            Ok(())
        })
    }
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(addr)
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
        Ok(match op {
            CompareOp::Eq => same.into_pyobject(py)?.to_owned().into_any().unbind(),
            CompareOp::Ne => (!same).into_pyobject(py)?.to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        })
    }

    fn __hash__(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        native_bytes(&self.native).hash(&mut h);
        h.finish()
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

// ---------------------------------------------------------------------------------------
// InetSocketAddress

/// An IP address and port (GIO's `GInetSocketAddress`).
#[pyclass(extends = SocketAddress, frozen, module = "giosocket", skip_from_py_object)]
pub struct InetSocketAddress {
    addr: SocketAddr,
}

fn port_from_i64(port: i64) -> PyResult<u16> {
    u16::try_from(port)
        .map_err(|_| PyOverflowError::new_err(format!("port must be 0-65535, not {port}")))
}

impl InetSocketAddress {
    /// Create the Python object for `addr`.
    pub fn create(py: Python<'_>, addr: SocketAddr) -> PyResult<Py<PyAny>> {
        let init = PyClassInitializer::from(SocketAddress {
            native: SockAddr::from(addr),
        })
        .add_subclass(InetSocketAddress { addr });
        Ok(Bound::new(py, init)?.into_any().unbind())
    }

    fn build(ip: IpAddr, port: u16, flowinfo: u32, scope_id: u32) -> PyResult<SocketAddr> {
        Ok(match ip {
            IpAddr::V4(a) => {
                if flowinfo != 0 || scope_id != 0 {
                    return Err(PyValueError::new_err(
                        "flowinfo and scope_id are for IPv6 addresses only",
                    ));
                }
                SocketAddr::V4(SocketAddrV4::new(a, port))
            }
            IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, port, flowinfo, scope_id)),
        })
    }
}

#[pymethods]
impl InetSocketAddress {
    /// `InetSocketAddress(address, port, flowinfo=0, scope_id=0)`.
    #[new]
    #[pyo3(signature = (address, port, flowinfo = 0, scope_id = 0))]
    fn py_new(
        address: &Bound<'_, PyAny>,
        port: i64,
        flowinfo: u32,
        scope_id: u32,
    ) -> PyResult<PyClassInitializer<Self>> {
        let addr = Self::build(
            ip_from_py(address)?,
            port_from_i64(port)?,
            flowinfo,
            scope_id,
        )?;
        Ok(PyClassInitializer::from(SocketAddress {
            native: SockAddr::from(addr),
        })
        .add_subclass(InetSocketAddress { addr }))
    }

    /// GIO's `g_inet_socket_address_new(address, port)`.
    #[staticmethod]
    fn new(py: Python<'_>, address: &Bound<'_, PyAny>, port: i64) -> PyResult<Py<PyAny>> {
        let addr = Self::build(ip_from_py(address)?, port_from_i64(port)?, 0, 0)?;
        Self::create(py, addr)
    }

    /// Parse a numeric address (IPv6 may carry `%scope`); None if it is not one.
    #[staticmethod]
    fn new_from_string(py: Python<'_>, address: &str, port: i64) -> PyResult<Option<Py<PyAny>>> {
        let port = port_from_i64(port)?;
        match parse_host(address) {
            Some((ip, scope)) => Ok(Some(Self::create(py, Self::build(ip, port, 0, scope)?)?)),
            None => Ok(None),
        }
    }

    /// The IP address.
    #[getter(address)]
    fn prop_address(&self) -> InetAddress {
        InetAddress { ip: self.addr.ip() }
    }

    /// The IP address.
    fn get_address(&self) -> InetAddress {
        self.prop_address()
    }

    /// The port.
    #[getter(port)]
    fn prop_port(&self) -> u16 {
        self.addr.port()
    }

    /// The port.
    fn get_port(&self) -> u16 {
        self.addr.port()
    }

    /// IPv6 flow info (0 for IPv4).
    #[getter(flowinfo)]
    fn prop_flowinfo(&self) -> u32 {
        match self.addr {
            SocketAddr::V6(a) => a.flowinfo(),
            SocketAddr::V4(_) => 0,
        }
    }

    /// IPv6 flow info (0 for IPv4).
    fn get_flowinfo(&self) -> u32 {
        self.prop_flowinfo()
    }

    /// IPv6 scope id (0 for IPv4).
    #[getter(scope_id)]
    fn prop_scope_id(&self) -> u32 {
        match self.addr {
            SocketAddr::V6(a) => a.scope_id(),
            SocketAddr::V4(_) => 0,
        }
    }

    /// IPv6 scope id (0 for IPv4).
    fn get_scope_id(&self) -> u32 {
        self.prop_scope_id()
    }

    /// GIO's text form: `1.2.3.4:80`, `[::1]:80`, `[fe80::1%2]:80`.
    fn to_string(&self) -> String {
        match self.addr {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) if a.scope_id() != 0 => {
                format!("[{}%{}]:{}", a.ip(), a.scope_id(), a.port())
            }
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        }
    }

    fn __str__(&self) -> String {
        self.to_string()
    }

    fn __repr__(&self) -> String {
        match self.addr {
            // Show the IPv6 extras only when set, so the repr evaluates back to an equal object.
            SocketAddr::V6(a) if a.flowinfo() != 0 || a.scope_id() != 0 => format!(
                "InetSocketAddress('{}', {}, {}, {})",
                a.ip(),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
            a => format!("InetSocketAddress('{}', {})", a.ip(), a.port()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// UnixSocketAddress

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

/// Path bytes from `str`, `bytes` or `os.PathLike`.
fn path_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let fspath = obj.py().import("os")?.getattr("fsencode")?;
    let encoded = fspath.call1((obj,)).map_err(|_| {
        PyTypeError::new_err(format!(
            "expected str, bytes or os.PathLike for a UNIX socket path, not '{}'",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
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
        raw[..2].copy_from_slice(&(AF_UNIX as libc::sa_family_t).to_ne_bytes());
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

    /// Create the Python object.
    pub fn create(py: Python<'_>, path: Vec<u8>, kind: i32) -> PyResult<Py<PyAny>> {
        let native = Self::native(&path, kind)?;
        let init = PyClassInitializer::from(SocketAddress { native })
            .add_subclass(UnixSocketAddress { path, kind });
        Ok(Bound::new(py, init)?.into_any().unbind())
    }

    /// Decode a native AF_UNIX address as GIO does.
    fn from_native(py: Python<'_>, raw: &[u8]) -> PyResult<Py<PyAny>> {
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
        let path = path_bytes(path)?;
        let native = Self::native(&path, UNIX_PATH)?;
        Ok(
            PyClassInitializer::from(SocketAddress { native }).add_subclass(UnixSocketAddress {
                path,
                kind: UNIX_PATH,
            }),
        )
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

// ---------------------------------------------------------------------------------------
// Conversions used by the socket

/// Native address -> Python object (`InetSocketAddress`, `UnixSocketAddress`, or a base
/// `SocketAddress` for other families). None for AF_UNSPEC / truncated data (GIO's NULL).
pub fn sockaddr_to_py(py: Python<'_>, addr: &SockAddr) -> PyResult<Option<Py<PyAny>>> {
    let family = addr.family() as i32;
    let len = addr.len() as usize;
    match family {
        libc::AF_UNSPEC => Ok(None),
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => Ok(addr
            .as_socket()
            .map(|a| InetSocketAddress::create(py, a))
            .transpose()?),
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            match addr.as_socket_ipv6() {
                Some(a) => {
                    let sa = match a.ip().to_ipv4_mapped() {
                        Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, a.port())),
                        None => SocketAddr::V6(a),
                    };
                    Ok(Some(InetSocketAddress::create(py, sa)?))
                }
                None => Ok(None),
            }
        }
        libc::AF_INET | libc::AF_INET6 => Ok(None),
        libc::AF_UNIX => Ok(Some(UnixSocketAddress::from_native(
            py,
            native_bytes(addr),
        )?)),
        _ => Ok(Some(
            Bound::new(
                py,
                SocketAddress {
                    native: addr.clone(),
                },
            )?
            .into_any()
            .unbind(),
        )),
    }
}

/// Any `AddressLike` -> native: a `SocketAddress`, `(host, port[, flowinfo, scope_id])` with a
/// numeric host, or a `str`/`bytes`/`os.PathLike` UNIX path. No DNS lookups.
pub fn sockaddr_from_py(obj: &Bound<'_, PyAny>) -> PyResult<SockAddr> {
    if let Ok(addr) = obj.cast::<SocketAddress>() {
        return Ok(addr.get().native.clone());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        let n = tuple.len();
        if !(2..=4).contains(&n) {
            return Err(PyTypeError::new_err(
                "an address tuple is (host, port) or (host, port, flowinfo, scope_id)",
            ));
        }
        let host_obj = tuple.get_item(0)?;
        let host: &str = host_obj
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("the host in an address tuple must be a str"))?
            .to_str()?;
        let (ip, mut scope) = parse_host(host).ok_or_else(|| {
            PyValueError::new_err(format!(
                "{host:?} is not a numeric IPv4 or IPv6 address (no DNS lookups here)"
            ))
        })?;
        let port_obj = tuple.get_item(1)?;
        if !port_obj.is_instance_of::<pyo3::types::PyInt>() {
            return Err(PyTypeError::new_err("the port must be an int"));
        }
        let port = match port_obj.extract::<i64>() {
            Ok(port) => port_from_i64(port)?,
            // An int beyond i64 is out of range like any other bad port.
            Err(_) => {
                return Err(PyOverflowError::new_err(format!(
                    "port must be 0-65535, not {port_obj}"
                )))
            }
        };
        let flowinfo: u32 = if n > 2 {
            tuple.get_item(2)?.extract()?
        } else {
            0
        };
        if n > 3 {
            scope = tuple.get_item(3)?.extract()?;
        }
        return Ok(SockAddr::from(InetSocketAddress::build(
            ip, port, flowinfo, scope,
        )?));
    }
    if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.hasattr("__fspath__")?
    {
        return UnixSocketAddress::native(&path_bytes(obj)?, UNIX_PATH);
    }
    Err(PyTypeError::new_err(format!(
        "expected a SocketAddress, an (host, port) tuple or a UNIX path, not '{}'",
        obj.get_type().name()?
    )))
}
