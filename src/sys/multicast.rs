//! Multicast group membership requests (Linux): socket2 for the requests it covers (IPv4
//! any-source with `ip_mreqn`, IPv4 source-specific with `ip_mreq_source`, IPv6 any-source
//! with `ipv6_mreq`), `group_source_req` by hand for IPv6 source-specific, and the IPv4
//! address of an interface (SIOCGIFADDR, as GIO's `g_socket_get_adapter_ipv4_addr`).
//! Each returns `Err(errno)` on failure.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{BorrowedFd, RawFd};

use socket2::{InterfaceIndexOrAddress, SockAddr, SockRef};

use super::addr::sockaddr_bytes;

fn errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Run `f` on a socket2 view of the open socket `fd`.
fn on_socket<T>(fd: RawFd, f: impl FnOnce(SockRef<'_>) -> io::Result<T>) -> Result<T, i32> {
    // SAFETY: callers pass the fd of an open socket they hold (an `FdGuard`) for the call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    f(SockRef::from(&fd)).map_err(errno)
}

/// Join (or leave) the IPv4 `group` on interface index `ifindex` (0: the kernel picks one).
pub fn change_v4(fd: RawFd, group: Ipv4Addr, ifindex: u32, join: bool) -> Result<(), i32> {
    let iface = InterfaceIndexOrAddress::Index(ifindex);
    on_socket(fd, |s| {
        if join {
            s.join_multicast_v4_n(&group, &iface)
        } else {
            s.leave_multicast_v4_n(&group, &iface)
        }
    })
}

/// Join (or leave) the IPv4 `group` receiving from `source` only, on the interface with
/// address `iface` (0.0.0.0: the kernel picks one).
pub fn change_ssm_v4(
    fd: RawFd,
    group: Ipv4Addr,
    source: Ipv4Addr,
    iface: Ipv4Addr,
    join: bool,
) -> Result<(), i32> {
    on_socket(fd, |s| {
        if join {
            s.join_ssm_v4(&source, &group, &iface)
        } else {
            s.leave_ssm_v4(&source, &group, &iface)
        }
    })
}

/// Join (or leave) the IPv6 `group` on interface index `ifindex` (0: the kernel picks one).
pub fn change_v6(fd: RawFd, group: Ipv6Addr, ifindex: u32, join: bool) -> Result<(), i32> {
    on_socket(fd, |s| {
        if join {
            s.join_multicast_v6(&group, ifindex)
        } else {
            s.leave_multicast_v6(&group, ifindex)
        }
    })
}

/// A `sockaddr_storage` holding `ip` (port 0).
fn storage(ip: IpAddr) -> libc::sockaddr_storage {
    let addr = SockAddr::from(SocketAddr::new(ip, 0));
    let bytes = sockaddr_bytes(&addr);
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut out: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: a sockaddr_in/in6 fits a sockaddr_storage; `bytes` and `out` do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (&mut out as *mut libc::sockaddr_storage).cast::<u8>(),
            bytes
                .len()
                .min(std::mem::size_of::<libc::sockaddr_storage>()),
        )
    };
    out
}

/// Join (or leave) the IPv6 `group` receiving from `source` only (MCAST_JOIN_SOURCE_GROUP),
/// on interface index `ifindex`. `source` is passed as given, so an IPv4 source gets the
/// kernel's answer, as in GIO.
pub fn change_ssm_v6(
    fd: RawFd,
    group: Ipv6Addr,
    source: IpAddr,
    ifindex: u32,
    join: bool,
) -> Result<(), i32> {
    let request = libc::group_source_req {
        gsr_interface: ifindex,
        gsr_group: storage(IpAddr::V6(group)),
        gsr_source: storage(source),
    };
    let name = if join {
        libc::MCAST_JOIN_SOURCE_GROUP
    } else {
        libc::MCAST_LEAVE_SOURCE_GROUP
    };
    super::setsockopt_raw(fd, libc::IPPROTO_IPV6, name, &request)
}

/// The IPv4 address of the interface `name` (shorter than IFNAMSIZ), asked through the
/// socket `fd` with SIOCGIFADDR.
pub fn interface_ipv4(fd: RawFd, name: &[u8]) -> Result<Ipv4Addr, i32> {
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= request.ifr_name.len() {
        return Err(libc::ENAMETOOLONG);
    }
    for (slot, &byte) in request.ifr_name.iter_mut().zip(name) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: `request` is a live ifreq with a NUL-terminated name; the kernel fills ifr_addr.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFADDR, &mut request) } < 0 {
        return Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    // SAFETY: SIOCGIFADDR filled ifr_ifru with a sockaddr_in.
    let sin = unsafe { &*(&request.ifr_ifru as *const _ as *const libc::sockaddr_in) };
    Ok(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()))
}
