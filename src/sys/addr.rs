//! Socket addresses at the OS level: the bytes of a `struct sockaddr`, building one from bytes,
//! IPv6 text as the C library prints it (`inet_ntop`), and interface names to indexes.

use std::ffi::{CStr, CString};
use std::io;
use std::net::Ipv6Addr;

use socket2::SockAddr;

/// The `struct sockaddr` bytes of `addr` (its `len()` initialised bytes).
pub fn sockaddr_bytes(addr: &SockAddr) -> &[u8] {
    // SAFETY: `as_ptr` points to a storage of at least `len()` initialised bytes, alive as
    // long as `addr`.
    unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), addr.len() as usize) }
}

/// The size of `struct sockaddr_storage`, the largest native address.
pub const SOCKADDR_STORAGE_SIZE: usize = std::mem::size_of::<libc::sockaddr_storage>();

/// A `SockAddr` holding a copy of `data` (InvalidInput when longer than a sockaddr_storage).
pub fn sockaddr_from_bytes(data: &[u8]) -> io::Result<SockAddr> {
    if data.len() > SOCKADDR_STORAGE_SIZE {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: the closure copies data.len() <= sizeof(sockaddr_storage) bytes into the zeroed
    // storage socket2 hands us and reports that length.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            std::ptr::copy_nonoverlapping(data.as_ptr(), storage.cast::<u8>(), data.len());
            *len = data.len() as libc::socklen_t;
            Ok(())
        })
    }?;
    Ok(addr)
}

extern "C" {
    // POSIX `inet_ntop` (the libc crate does not declare it).
    fn inet_ntop(
        af: libc::c_int,
        src: *const libc::c_void,
        dst: *mut libc::c_char,
        size: libc::socklen_t,
    ) -> *const libc::c_char;
}

/// IPv6 text exactly as `inet_ntop(AF_INET6)` prints it (GIO's `g_inet_address_to_string`):
/// an IPv4-compatible address such as `::1.2.3.4` keeps its dotted tail.
pub fn ipv6_to_string(ip: &Ipv6Addr) -> String {
    let octets = ip.octets();
    // INET6_ADDRSTRLEN (46) bytes, NUL included.
    let mut buf = [0 as libc::c_char; 46];
    // SAFETY: `octets` is a 16-byte in6_addr; `buf` is live and its size is passed.
    let text = unsafe {
        inet_ntop(
            libc::AF_INET6,
            octets.as_ptr().cast(),
            buf.as_mut_ptr(),
            buf.len() as libc::socklen_t,
        )
    };
    if text.is_null() {
        // Cannot happen for AF_INET6 with a large enough buffer; Rust's form is close.
        return ip.to_string();
    }
    // SAFETY: inet_ntop wrote a NUL-terminated string into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// `if_nametoindex(name)`: the interface's index, or `Err(errno)` (ENODEV when there is no
/// such interface, including names too long to be one).
pub fn if_nametoindex(name: &str) -> Result<u32, i32> {
    let name = CString::new(name).map_err(|_| libc::EINVAL)?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ENODEV))
    } else {
        Ok(index)
    }
}
