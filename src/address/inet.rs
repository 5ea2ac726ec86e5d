//! IP addresses: `InetAddress` (GIO's `GInetAddress`) and `InetSocketAddress` (an IP address
//! and port), plus parsing of numeric hosts and `(host, port[, flowinfo, scope_id])` tuples.
//!
//! GIO names (`to_string`, `new`) are kept for the Python methods, hence the clippy allowances.
#![allow(clippy::inherent_to_string, clippy::new_ret_no_self)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyBytes, PyInt, PyString, PyTuple};
use socket2::SockAddr;

use super::{compare_eq, hash_of, SocketAddress};
use crate::enums::{self, Kind};
use crate::sys;
use crate::sys::os;

/// GIO's family number for an IP address.
fn ip_family(ip: &IpAddr) -> i32 {
    if ip.is_ipv4() {
        os::AF_INET
    } else {
        os::AF_INET6
    }
}

/// GIO's text of an IP address (`inet_ntop`: `::1.2.3.4` stays dotted).
fn ip_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => sys::addr::ipv6_to_string(a),
    }
}

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
            Err(_) => sys::addr::if_nametoindex(s).ok()?,
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
        os::AF_INET | os::AF_INET6 => Ok(family),
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
            (os::AF_INET, 4) => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
            (os::AF_INET6, 16) => {
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
            ip: if family_from_int(family)? == os::AF_INET {
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
            ip: if family_from_int(family)? == os::AF_INET {
                Ipv4Addr::LOCALHOST.into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            },
        })
    }

    /// Text form as GIO (`inet_ntop`): `127.0.0.1`, `::1`, `::1.2.3.4`.
    fn to_string(&self) -> String {
        ip_text(&self.ip)
    }

    fn __str__(&self) -> String {
        ip_text(&self.ip)
    }

    fn __repr__(&self) -> String {
        format!("InetAddress('{}')", ip_text(&self.ip))
    }

    /// Pickle/copy support: rebuilt from the text form.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        Ok((slf.get_type().into_any(), (ip_text(&slf.get().ip),)))
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
        compare_eq(py, same, op)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&self.ip)
    }
}

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
    /// The base + subclass initializer for `addr`.
    fn init(addr: SocketAddr) -> PyClassInitializer<Self> {
        PyClassInitializer::from(SocketAddress {
            native: SockAddr::from(addr),
        })
        .add_subclass(InetSocketAddress { addr })
    }

    /// Create the Python object for `addr`.
    pub fn create(py: Python<'_>, addr: SocketAddr) -> PyResult<Py<PyAny>> {
        Ok(Bound::new(py, Self::init(addr))?.into_any().unbind())
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
        Ok(Self::init(addr))
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

    /// GIO's text form: `1.2.3.4:80`, `[::1]:80`, `[fe80::1%2]:80`; without the port (and
    /// the brackets) when the port is 0: `1.2.3.4`, `fe80::1%2`.
    fn to_string(&self) -> String {
        let mut text = ip_text(&self.addr.ip());
        if let SocketAddr::V6(a) = self.addr {
            if a.scope_id() != 0 {
                text = format!("{text}%{}", a.scope_id());
            }
        }
        match self.addr {
            SocketAddr::V4(_) if self.addr.port() != 0 => format!("{text}:{}", self.addr.port()),
            SocketAddr::V6(_) if self.addr.port() != 0 => format!("[{text}]:{}", self.addr.port()),
            _ => text,
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
                sys::addr::ipv6_to_string(a.ip()),
                a.port(),
                a.flowinfo(),
                a.scope_id()
            ),
            a => format!("InetSocketAddress('{}', {})", ip_text(&a.ip()), a.port()),
        }
    }
}

/// `(host, port[, flowinfo, scope_id])` with a numeric host -> native.
pub fn sockaddr_from_tuple(tuple: &Bound<'_, PyTuple>) -> PyResult<SockAddr> {
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
    if !port_obj.is_instance_of::<PyInt>() {
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
    Ok(SockAddr::from(InetSocketAddress::build(
        ip, port, flowinfo, scope,
    )?))
}

/// Native AF_INET / AF_INET6 -> `InetSocketAddress` (v4-mapped IPv6 comes back as IPv4, as
/// GIO); None when the data is too short for its family.
pub(super) fn sockaddr_to_inet(py: Python<'_>, addr: &SockAddr) -> PyResult<Option<Py<PyAny>>> {
    let len = addr.len() as usize;
    let decoded = match addr.family() as i32 {
        os::AF_INET if len >= std::mem::size_of::<os::sockaddr_in>() => addr.as_socket(),
        os::AF_INET6 if len >= std::mem::size_of::<os::sockaddr_in6>() => addr
            .as_socket_ipv6()
            .map(|a| match a.ip().to_ipv4_mapped() {
                Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, a.port())),
                None => SocketAddr::V6(a),
            }),
        _ => None,
    };
    decoded
        .map(|sa| InetSocketAddress::create(py, sa))
        .transpose()
}
