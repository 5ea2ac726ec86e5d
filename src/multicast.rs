//! Multicast group membership (any-source and RFC 4604 source-specific, IPv4 and IPv6) and the
//! IP-level options GIO exposes as properties: `ttl`, `multicast_ttl`, `multicast_loopback`,
//! `broadcast`. Semantics follow `g_socket_multicast_group_operation{,_ssm}` in gsocket.c.
//!
//! The kernel requests themselves are in [`crate::sys::multicast`]. Interface names are
//! resolved in the calling thread's network namespace, as the kernel does.

use std::net::{IpAddr, Ipv4Addr};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::address::ip_from_py;
use crate::error::{self, Code};
use crate::options::socket_properties;
use crate::socket::{Socket, TYPE_DATAGRAM};
use crate::sys;
use crate::sys::multicast as mc;
use crate::sys::os;

/// `IFNAMSIZ`: interface names are shorter than this (NUL included).
const IFNAMSIZ: usize = 16;

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

    /// The named interface's index (0, any, when none was named), as GIO's `if_nametoindex`
    /// call; a name that is no interface (also one too long to be one) is NO_SUCH_DEVICE.
    fn iface_index(&self, py: Python<'_>) -> PyResult<u32> {
        let Some(name) = self.iface else {
            return Ok(0);
        };
        sys::addr::if_nametoindex(name).map_err(|errno| interface_not_found(py, name, errno))
    }

    /// The named interface's IPv4 address (0.0.0.0, any, when none was named), as GIO's
    /// `g_socket_get_adapter_ipv4_addr` (SIOCGIFADDR).
    fn iface_ipv4(&self, py: Python<'_>, fd: std::os::fd::RawFd) -> PyResult<Ipv4Addr> {
        let Some(name) = self.iface else {
            return Ok(Ipv4Addr::UNSPECIFIED);
        };
        if name.len() >= IFNAMSIZ {
            return Err(error::error(
                py,
                Code::FilenameTooLong,
                format!("Interface name too long: {name:?}"),
            ));
        }
        mc::interface_ipv4(fd, name.as_bytes())
            .map_err(|errno| interface_not_found(py, name, errno))
    }
}

/// GIO's "Interface not found" error (naming the interface), its code from the errno.
fn interface_not_found(py: Python<'_>, name: &str, errno: i32) -> PyErr {
    error::os_error(py, errno, &format!("Interface not found: {name}"))
}

/// Validate an interface name given from Python (GIO's `iface == NULL || *iface != '\0'`).
fn check_iface(iface: Option<&str>) -> PyResult<()> {
    match iface {
        Some("") => Err(PyValueError::new_err(
            "iface must be an interface name or None, not ''",
        )),
        Some(name) if name.contains('\0') => Err(PyValueError::new_err(
            "iface must not contain NUL characters",
        )),
        _ => Ok(()),
    }
}

impl Socket {
    /// Check the socket can carry IP-level options (IPv4 or IPv6).
    fn require_inet(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        match self.family {
            os::AF_INET | os::AF_INET6 => Ok(()),
            _ => Err(error::error(
                py,
                Code::NotSupported,
                format!("{what}: only IPv4 and IPv6 sockets have this option"),
            )),
        }
    }

    /// One membership change (GIO's `g_socket_multicast_group_operation{,_ssm}`): requests
    /// GIO hands to the kernel get the kernel's answer, through the errno table.
    fn membership(&self, py: Python<'_>, req: &Request<'_>) -> PyResult<bool> {
        check_iface(req.iface)?;
        let guard = self.enter(py)?;
        if self.stype != TYPE_DATAGRAM {
            return Err(req.fail(py, Code::NotSupported, "multicast needs a datagram socket"));
        }
        if self.family != os::AF_INET && self.family != os::AF_INET6 {
            return Err(req.fail(py, Code::NotSupported, "Unsupported socket family"));
        }
        if !req.group.is_multicast() {
            return Err(req.fail(
                py,
                Code::InvalidArgument,
                &format!("{} is not a multicast address", req.group),
            ));
        }
        let fd = guard.fd;
        let join = req.join;
        let result = match (req.group, req.source) {
            (IpAddr::V4(group), None) => mc::change_v4(fd, group, req.iface_index(py)?, join),
            (IpAddr::V4(group), Some(IpAddr::V4(source))) => {
                mc::change_ssm_v4(fd, group, source, req.iface_ipv4(py, fd)?, join)
            }
            (IpAddr::V4(_), Some(IpAddr::V6(_))) => {
                return Err(req.fail(
                    py,
                    Code::NotSupported,
                    "source-specific not an IPv4 address",
                ))
            }
            (IpAddr::V6(group), None) => mc::change_v6(fd, group, req.iface_index(py)?, join),
            (IpAddr::V6(group), Some(source)) => {
                mc::change_ssm_v6(fd, group, source, req.iface_index(py)?, join)
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
    v4: os::IP_TTL,
    v6: os::IPV6_UNICAST_HOPS,
};

const MULTICAST_TTL: IpOption = IpOption {
    what: "multicast ttl",
    v4: os::IP_MULTICAST_TTL,
    v6: os::IPV6_MULTICAST_HOPS,
};

const MULTICAST_LOOPBACK: IpOption = IpOption {
    what: "multicast loopback",
    v4: os::IP_MULTICAST_LOOP,
    v6: os::IPV6_MULTICAST_LOOP,
};

impl Socket {
    /// Read `option` at the level of the socket's family.
    fn get_ip_option(&self, py: Python<'_>, option: &IpOption) -> PyResult<i32> {
        let IpOption { what, v4, v6 } = *option;
        self.require_inet(py, what)?;
        let guard = self.enter(py)?;
        let result = if self.family == os::AF_INET {
            sys::getsockopt_int(guard.fd, os::IPPROTO_IP, v4)
        } else {
            sys::getsockopt_int(guard.fd, os::IPPROTO_IPV6, v6)
        };
        result.map_err(|e| error::os_error(py, e, &format!("error getting {what}")))
    }

    /// Set `option`; on IPv6 sockets the IPv4 option is set too, ignoring errors (GIO).
    fn set_ip_option(&self, py: Python<'_>, option: &IpOption, value: i32) -> PyResult<()> {
        let IpOption { what, v4, v6 } = *option;
        self.require_inet(py, what)?;
        let guard = self.enter(py)?;
        let result = if self.family == os::AF_INET {
            sys::setsockopt_int(guard.fd, os::IPPROTO_IP, v4, value)
        } else {
            let _ = sys::setsockopt_int(guard.fd, os::IPPROTO_IP, v4, value);
            sys::setsockopt_int(guard.fd, os::IPPROTO_IPV6, v6, value)
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
        sys::getsockopt_int(guard.fd, os::SOL_SOCKET, os::SO_BROADCAST)
            .map(|v| v != 0)
            .map_err(|e| error::os_error(py, e, "error getting broadcast"))
    }

    /// Set SO_BROADCAST.
    fn set_broadcast(&self, py: Python<'_>, broadcast: bool) -> PyResult<()> {
        let guard = self.enter(py)?;
        sys::setsockopt_int(guard.fd, os::SOL_SOCKET, os::SO_BROADCAST, broadcast as i32)
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
