//! Multicast group membership (any-source and RFC 4604 source-specific, IPv4 and IPv6) and the
//! IP-level options GIO exposes as properties: `ttl`, `multicast_ttl`, `multicast_loopback`,
//! `broadcast`. Semantics follow `g_socket_multicast_group_operation{,_ssm}` in gsocket.c.
//!
//! Membership requests (Linux):
//! - IPv4 any-source: `ip_mreqn` (interface by index) with IP_ADD/DROP_MEMBERSHIP;
//! - IPv4 source-specific: `ip_mreq_source` (interface by its IPv4 address, found with
//!   `getifaddrs`) with IP_ADD/DROP_SOURCE_MEMBERSHIP;
//! - IPv6 any-source: `ipv6_mreq` with IPV6_ADD/DROP_MEMBERSHIP;
//! - IPv6 source-specific: `group_source_req` with MCAST_JOIN/LEAVE_SOURCE_GROUP.
//!
//! Interface names are resolved in the calling thread's network namespace, as the kernel does.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::RawFd;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use socket2::SockAddr;

use crate::address::ip_from_py;
use crate::error::{self, Code};
use crate::options::socket_properties;
use crate::socket::{Socket, TYPE_DATAGRAM};
use crate::sys;

/// `IFNAMSIZ`: interface names are shorter than this (NUL included).
const IFNAMSIZ: usize = 16;

/// What a `setsockopt` gives: Err(errno) on failure.
type Outcome = Result<(), i32>;

/// A membership request, resolved from Python arguments.
struct Request<'a> {
    group: IpAddr,
    source: Option<IpAddr>,
    iface: Option<&'a str>,
    join: bool,
}

impl Request<'_> {
    fn context(&self) -> &'static str {
        if self.join {
            "Error joining multicast group"
        } else {
            "Error leaving multicast group"
        }
    }

    fn fail(&self, py: Python<'_>, code: Code, reason: &str) -> PyErr {
        error::error(py, code, format!("{}: {reason}", self.context()))
    }

    /// The requested interface's index; 0 (any) when none was named.
    fn iface_index(&self, py: Python<'_>) -> PyResult<u32> {
        Ok(self
            .iface
            .map(|name| iface_index(py, name))
            .transpose()?
            .unwrap_or(0))
    }

    /// `setsockopt(fd, level, join_name or leave_name, value)` as this request asks.
    fn apply<T>(
        &self,
        fd: RawFd,
        level: i32,
        join_name: i32,
        leave_name: i32,
        value: &T,
    ) -> Outcome {
        let name = if self.join { join_name } else { leave_name };
        sys::setsockopt_raw(fd, level, name, value)
    }
}

fn in_addr(ip: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(ip.octets()),
    }
}

fn in6_addr(ip: Ipv6Addr) -> libc::in6_addr {
    libc::in6_addr {
        s6_addr: ip.octets(),
    }
}

/// A `sockaddr_storage` holding `ip` (port 0), for `group_source_req`.
fn storage(ip: IpAddr) -> libc::sockaddr_storage {
    let addr = SockAddr::from(SocketAddr::new(ip, 0));
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut out: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = (addr.len() as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: `addr` holds `len` initialised bytes; `out` has room for them; no overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            addr.as_ptr().cast::<u8>(),
            (&mut out as *mut libc::sockaddr_storage).cast::<u8>(),
            len,
        )
    };
    out
}

/// Validate an interface name given from Python.
fn iface_cstring(py: Python<'_>, name: &str) -> PyResult<CString> {
    if name.is_empty() {
        return Err(PyValueError::new_err(
            "iface must be an interface name or None, not ''",
        ));
    }
    if name.len() >= IFNAMSIZ {
        return Err(error::error(
            py,
            Code::FilenameTooLong,
            format!("Interface name too long: {name:?}"),
        ));
    }
    CString::new(name).map_err(|_| PyValueError::new_err("iface must not contain NUL characters"))
}

/// The interface's index (`if_nametoindex`); NO_SUCH_DEVICE when there is none.
fn iface_index(py: Python<'_>, name: &str) -> PyResult<u32> {
    let cname = iface_cstring(py, name)?;
    // SAFETY: `cname` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        let errno = error::last_errno();
        return Err(error::gio_error(
            py,
            Code::NoSuchDevice,
            format!("Interface not found: {name}: {}", error::strerror(errno)),
            Some(errno),
        ));
    }
    Ok(index)
}

/// The interface's first IPv4 address (`getifaddrs`), as GIO's `g_socket_get_adapter_ipv4_addr`.
fn iface_ipv4(py: Python<'_>, name: &str) -> PyResult<Ipv4Addr> {
    let cname = iface_cstring(py, name)?;
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `list` receives a linked list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } < 0 {
        return Err(error::os_error(
            py,
            error::last_errno(),
            "Unable to list interfaces",
        ));
    }
    let mut found = None;
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, still alive.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_name.is_null() || entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        if unsafe { CStr::from_ptr(entry.ifa_name) } != cname.as_c_str() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr whose family tells its real type.
        if i32::from(unsafe { (*entry.ifa_addr).sa_family }) != libc::AF_INET {
            continue;
        }
        // SAFETY: family AF_INET, so the sockaddr is a sockaddr_in.
        let sin = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in>() };
        found = Some(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()));
        break;
    }
    // SAFETY: `list` came from getifaddrs and is freed once; `entry` refs are gone.
    unsafe { libc::freeifaddrs(list) };
    match found {
        Some(ip) => Ok(ip),
        None => {
            // Tell "no such interface" from "no IPv4 address on it".
            iface_index(py, name)?;
            Err(error::gio_error(
                py,
                Code::NoSuchDevice,
                format!("Interface {name} has no IPv4 address"),
                Some(libc::EADDRNOTAVAIL),
            ))
        }
    }
}

impl Socket {
    /// Check the socket can carry IP-level options (IPv4 or IPv6).
    fn require_inet(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        match self.family {
            libc::AF_INET | libc::AF_INET6 => Ok(()),
            _ => Err(error::error(
                py,
                Code::NotSupported,
                format!("{what}: only IPv4 and IPv6 sockets have this option"),
            )),
        }
    }

    /// One membership change (GIO's `g_socket_multicast_group_operation{,_ssm}`).
    fn membership(&self, py: Python<'_>, req: &Request<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        if self.stype != TYPE_DATAGRAM {
            return Err(req.fail(py, Code::NotSupported, "multicast needs a datagram socket"));
        }
        if self.family != libc::AF_INET && self.family != libc::AF_INET6 {
            return Err(req.fail(py, Code::NotSupported, "Unsupported socket family"));
        }
        if !req.group.is_multicast() {
            return Err(req.fail(
                py,
                Code::InvalidArgument,
                &format!("{} is not a multicast address", req.group),
            ));
        }
        if req.group.is_ipv6() && self.family == libc::AF_INET {
            return Err(req.fail(
                py,
                Code::NotSupported,
                &format!("IPv6 group {} on an IPv4 socket", req.group),
            ));
        }
        let result = match (req.group, req.source) {
            (IpAddr::V4(group), None) => join_v4(py, guard.fd, group, req)?,
            (IpAddr::V4(group), Some(IpAddr::V4(source))) => {
                join_v4_ssm(py, guard.fd, group, source, req)?
            }
            (IpAddr::V6(group), None) => join_v6(py, guard.fd, group, req)?,
            (IpAddr::V6(group), Some(IpAddr::V6(source))) => {
                join_v6_ssm(py, guard.fd, group, source, req)?
            }
            (group, Some(source)) => {
                let want = if group.is_ipv4() { "IPv4" } else { "IPv6" };
                return Err(req.fail(
                    py,
                    Code::NotSupported,
                    &format!("source-specific not an {want} address: {source}"),
                ));
            }
        };
        result.map_err(|errno| error::os_error(py, errno, req.context()))?;
        Ok(true)
    }

    fn py_membership(
        &self,
        py: Python<'_>,
        group: &Bound<'_, PyAny>,
        source: Option<&Bound<'_, PyAny>>,
        iface: Option<&str>,
        join: bool,
    ) -> PyResult<bool> {
        let group = ip_from_py(group)?;
        let source = source.map(ip_from_py).transpose()?;
        self.membership(
            py,
            &Request {
                group,
                source,
                iface,
                join,
            },
        )
    }
}

fn join_v4(py: Python<'_>, fd: RawFd, group: Ipv4Addr, req: &Request<'_>) -> PyResult<Outcome> {
    let mreq = libc::ip_mreqn {
        imr_multiaddr: in_addr(group),
        imr_address: in_addr(Ipv4Addr::UNSPECIFIED),
        imr_ifindex: req.iface_index(py)? as libc::c_int,
    };
    let (join, leave) = (libc::IP_ADD_MEMBERSHIP, libc::IP_DROP_MEMBERSHIP);
    Ok(req.apply(fd, libc::IPPROTO_IP, join, leave, &mreq))
}

fn join_v4_ssm(
    py: Python<'_>,
    fd: RawFd,
    group: Ipv4Addr,
    source: Ipv4Addr,
    req: &Request<'_>,
) -> PyResult<Outcome> {
    let iface = match req.iface {
        Some(name) => iface_ipv4(py, name)?,
        None => Ipv4Addr::UNSPECIFIED,
    };
    let mreq = libc::ip_mreq_source {
        imr_multiaddr: in_addr(group),
        imr_interface: in_addr(iface),
        imr_sourceaddr: in_addr(source),
    };
    let (join, leave) = (
        libc::IP_ADD_SOURCE_MEMBERSHIP,
        libc::IP_DROP_SOURCE_MEMBERSHIP,
    );
    Ok(req.apply(fd, libc::IPPROTO_IP, join, leave, &mreq))
}

fn join_v6(py: Python<'_>, fd: RawFd, group: Ipv6Addr, req: &Request<'_>) -> PyResult<Outcome> {
    let mreq = libc::ipv6_mreq {
        ipv6mr_multiaddr: in6_addr(group),
        ipv6mr_interface: req.iface_index(py)?,
    };
    let (join, leave) = (libc::IPV6_ADD_MEMBERSHIP, libc::IPV6_DROP_MEMBERSHIP);
    Ok(req.apply(fd, libc::IPPROTO_IPV6, join, leave, &mreq))
}

fn join_v6_ssm(
    py: Python<'_>,
    fd: RawFd,
    group: Ipv6Addr,
    source: Ipv6Addr,
    req: &Request<'_>,
) -> PyResult<Outcome> {
    let gsr = libc::group_source_req {
        gsr_interface: req.iface_index(py)?,
        gsr_group: storage(group.into()),
        gsr_source: storage(source.into()),
    };
    let (join, leave) = (
        libc::MCAST_JOIN_SOURCE_GROUP,
        libc::MCAST_LEAVE_SOURCE_GROUP,
    );
    Ok(req.apply(fd, libc::IPPROTO_IPV6, join, leave, &gsr))
}

/// An option value from Python (unsigned in GIO) as the kernel's int.
fn option_int(value: u32) -> PyResult<i32> {
    i32::try_from(value).map_err(|_| PyValueError::new_err(format!("{value} is out of range")))
}

/// An int option with an IPv4 (IPPROTO_IP) and an IPv6 (IPPROTO_IPV6) name.
struct IpOption {
    /// What errors call it.
    what: &'static str,
    v4: i32,
    v6: i32,
}

const TTL: IpOption = IpOption {
    what: "unicast ttl",
    v4: libc::IP_TTL,
    v6: libc::IPV6_UNICAST_HOPS,
};

const MULTICAST_TTL: IpOption = IpOption {
    what: "multicast ttl",
    v4: libc::IP_MULTICAST_TTL,
    v6: libc::IPV6_MULTICAST_HOPS,
};

const MULTICAST_LOOPBACK: IpOption = IpOption {
    what: "multicast loopback",
    v4: libc::IP_MULTICAST_LOOP,
    v6: libc::IPV6_MULTICAST_LOOP,
};

impl Socket {
    /// Read `option` at the level of the socket's family.
    fn get_ip_option(&self, py: Python<'_>, option: &IpOption) -> PyResult<i32> {
        let IpOption { what, v4, v6 } = *option;
        self.require_inet(py, what)?;
        let guard = self.enter(py)?;
        let result = if self.family == libc::AF_INET {
            sys::getsockopt_int(guard.fd, libc::IPPROTO_IP, v4)
        } else {
            sys::getsockopt_int(guard.fd, libc::IPPROTO_IPV6, v6)
        };
        result.map_err(|e| error::os_error(py, e, &format!("error getting {what}")))
    }

    /// Set `option`; on IPv6 sockets the IPv4 option is set too, ignoring errors (GIO).
    fn set_ip_option(&self, py: Python<'_>, option: &IpOption, value: i32) -> PyResult<()> {
        let IpOption { what, v4, v6 } = *option;
        self.require_inet(py, what)?;
        let guard = self.enter(py)?;
        let result = if self.family == libc::AF_INET {
            sys::setsockopt_int(guard.fd, libc::IPPROTO_IP, v4, value)
        } else {
            let _ = sys::setsockopt_int(guard.fd, libc::IPPROTO_IP, v4, value);
            sys::setsockopt_int(guard.fd, libc::IPPROTO_IPV6, v6, value)
        };
        result.map_err(|e| error::os_error(py, e, &format!("error setting {what}")))
    }
}

#[pymethods]
impl Socket {
    /// Join `group` (any-source) on interface `iface` (None: the kernel picks one). The socket
    /// must be a bound datagram socket. `source_specific=True` needs a source address, which
    /// this signature cannot carry: it raises INVALID_ARGUMENT; use `join_multicast_group_ssm`.
    #[pyo3(signature = (group, source_specific, iface = None))]
    fn join_multicast_group(
        &self,
        py: Python<'_>,
        group: &Bound<'_, PyAny>,
        source_specific: bool,
        iface: Option<String>,
    ) -> PyResult<bool> {
        reject_sourceless_ssm(py, source_specific, true)?;
        self.py_membership(py, group, None, iface.as_deref(), true)
    }

    /// Leave a group joined with `join_multicast_group` (same arguments).
    #[pyo3(signature = (group, source_specific, iface = None))]
    fn leave_multicast_group(
        &self,
        py: Python<'_>,
        group: &Bound<'_, PyAny>,
        source_specific: bool,
        iface: Option<String>,
    ) -> PyResult<bool> {
        reject_sourceless_ssm(py, source_specific, false)?;
        self.py_membership(py, group, None, iface.as_deref(), false)
    }

    /// Join `group` receiving only from `source_specific` (RFC 4604 source-specific multicast);
    /// with `source_specific=None` this is an any-source join, as GIO.
    #[pyo3(signature = (group, source_specific = None, iface = None))]
    fn join_multicast_group_ssm(
        &self,
        py: Python<'_>,
        group: &Bound<'_, PyAny>,
        source_specific: Option<&Bound<'_, PyAny>>,
        iface: Option<String>,
    ) -> PyResult<bool> {
        self.py_membership(py, group, source_specific, iface.as_deref(), true)
    }

    /// Leave a group joined with `join_multicast_group_ssm` (same arguments).
    #[pyo3(signature = (group, source_specific = None, iface = None))]
    fn leave_multicast_group_ssm(
        &self,
        py: Python<'_>,
        group: &Bound<'_, PyAny>,
        source_specific: Option<&Bound<'_, PyAny>>,
        iface: Option<String>,
    ) -> PyResult<bool> {
        self.py_membership(py, group, source_specific, iface.as_deref(), false)
    }

    /// Unicast TTL / hop limit (IP_TTL, IPV6_UNICAST_HOPS).
    fn get_ttl(&self, py: Python<'_>) -> PyResult<i32> {
        self.get_ip_option(py, &TTL)
    }

    /// Set the unicast TTL / hop limit (1..255).
    fn set_ttl(&self, py: Python<'_>, ttl: u32) -> PyResult<()> {
        self.set_ip_option(py, &TTL, option_int(ttl)?)
    }

    /// Multicast TTL / hop limit (IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS); default 1.
    fn get_multicast_ttl(&self, py: Python<'_>) -> PyResult<i32> {
        self.get_ip_option(py, &MULTICAST_TTL)
    }

    /// Set the multicast TTL (0..255; 0 keeps datagrams on this host).
    fn set_multicast_ttl(&self, py: Python<'_>, ttl: u32) -> PyResult<()> {
        self.set_ip_option(py, &MULTICAST_TTL, option_int(ttl)?)
    }

    /// Whether this host's own members receive the multicast datagrams sent (default True).
    fn get_multicast_loopback(&self, py: Python<'_>) -> PyResult<bool> {
        self.get_ip_option(py, &MULTICAST_LOOPBACK).map(|v| v != 0)
    }

    /// Set multicast loopback.
    fn set_multicast_loopback(&self, py: Python<'_>, loopback: bool) -> PyResult<()> {
        self.set_ip_option(py, &MULTICAST_LOOPBACK, loopback as i32)
    }

    /// SO_BROADCAST: whether datagrams may be sent to broadcast addresses.
    fn get_broadcast(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        sys::getsockopt_int(guard.fd, libc::SOL_SOCKET, libc::SO_BROADCAST)
            .map(|v| v != 0)
            .map_err(|e| error::os_error(py, e, "error getting broadcast"))
    }

    /// Set SO_BROADCAST.
    fn set_broadcast(&self, py: Python<'_>, broadcast: bool) -> PyResult<()> {
        let guard = self.enter(py)?;
        sys::setsockopt_int(
            guard.fd,
            libc::SOL_SOCKET,
            libc::SO_BROADCAST,
            broadcast as i32,
        )
        .map_err(|e| error::os_error(py, e, "error setting broadcast"))
    }
}

/// GIO's `source_specific=TRUE` without a source joins a filter no datagram matches (IPv4) or
/// is ignored (IPv6); refuse it instead, pointing to the `_ssm` variant.
fn reject_sourceless_ssm(py: Python<'_>, source_specific: bool, join: bool) -> PyResult<()> {
    if !source_specific {
        return Ok(());
    }
    let verb = if join { "joining" } else { "leaving" };
    Err(error::error(
        py,
        Code::InvalidArgument,
        format!(
            "Error {verb} multicast group: source-specific multicast needs a source address; \
             use {}_multicast_group_ssm(group, source, iface)",
            if join { "join" } else { "leave" }
        ),
    ))
}

socket_properties! {
    /// Unicast TTL / hop limit (IP_TTL, IPV6_UNICAST_HOPS; 1..255).
    ttl => (prop_ttl, get_ttl, prop_set_ttl, set_ttl: u32);
    /// Multicast TTL / hop limit (IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS); default 1.
    multicast_ttl => (prop_multicast_ttl, get_multicast_ttl, prop_set_multicast_ttl, set_multicast_ttl: u32);
    /// Whether this host's own members receive the multicast datagrams sent (default True).
    multicast_loopback => (prop_multicast_loopback, get_multicast_loopback, prop_set_multicast_loopback, set_multicast_loopback: bool);
    /// SO_BROADCAST: whether datagrams may be sent to broadcast addresses.
    broadcast => (prop_broadcast, get_broadcast, prop_set_broadcast, set_broadcast: bool);
}
