//! The control-message (cmsg) codec: aligned storage for `msg_control`, an [`Encoder`] that
//! appends messages with `libc::CMSG_*`, an [`Iter`] over a received buffer with
//! `CMSG_FIRSTHDR`/`CMSG_NXTHDR`, and the typed payloads the crate knows (packet info,
//! traffic class, timestamps, drop counts, GRO sizes, extended socket errors, descriptors).
//! Knows nothing of Python (the glue is `crate::cmsg`).

use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use socket2::SockAddr;

/// `UDP_SEGMENT` (linux/udp.h): cmsg carrying the GSO segment size (u16).
pub const UDP_SEGMENT: i32 = 103;
/// `UDP_GRO` (linux/udp.h): cmsg carrying the GRO segment size (int).
pub const UDP_GRO: i32 = 104;

/// Whether the running kernel supports the UDP-level option `opt` (probed on a fresh socket).
pub fn udp_option_supported(opt: i32) -> bool {
    // SAFETY: plain syscalls on a socket we create and close here; results checked.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return false;
        }
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        let rc = libc::getsockopt(
            fd,
            libc::SOL_UDP,
            opt,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        );
        libc::close(fd);
        rc == 0
    }
}

/// `CMSG_SPACE(len)`: the room one message with `len` payload bytes takes.
pub fn space(len: usize) -> usize {
    // SAFETY: CMSG_SPACE is pure arithmetic.
    unsafe { libc::CMSG_SPACE(len as libc::c_uint) as usize }
}

/// `CMSG_LEN(len)`: the `cmsg_len` of a message with `len` payload bytes.
pub fn len(len: usize) -> usize {
    // SAFETY: CMSG_LEN is pure arithmetic.
    unsafe { libc::CMSG_LEN(len as libc::c_uint) as usize }
}

/// Control data up to this many 8-byte words is stored inline (no allocation): every
/// combination of the built-in UDP metadata messages fits.
const INLINE_WORDS: usize = 32;

/// Room for every metadata message the kernel may attach to one UDP datagram (packet info
/// in both families, traffic class in both, timestamp, drop count, GRO size).
pub const METADATA_SPACE: usize = INLINE_WORDS * 8;

/// An aligned control buffer (storage for `msg_control`). Small ones live inline, so the
/// buffer must stay in place while a `msghdr` points at it.
pub struct ControlBuf {
    store: Store,
    len: usize,
}

// Inline on purpose: a message's metadata buffer costs no allocation.
#[allow(clippy::large_enum_variant)]
enum Store {
    Inline([u64; INLINE_WORDS]),
    Heap(Vec<u64>),
}

impl ControlBuf {
    /// An empty buffer (no control data).
    pub const fn empty() -> Self {
        ControlBuf {
            store: Store::Heap(Vec::new()),
            len: 0,
        }
    }

    /// A zeroed buffer with room for `len` bytes.
    pub fn with_len(len: usize) -> Self {
        let words = len.div_ceil(8);
        let store = if words <= INLINE_WORDS {
            Store::Inline([0; INLINE_WORDS])
        } else {
            Store::Heap(vec![0; words])
        };
        ControlBuf { store, len }
    }

    fn words_ptr(&self) -> *const u64 {
        match &self.store {
            Store::Inline(w) => w.as_ptr(),
            Store::Heap(v) => v.as_ptr(),
        }
    }

    /// Pointer for `msg_control` (null when empty).
    pub fn ptr(&mut self) -> *mut libc::c_void {
        if self.len == 0 {
            return std::ptr::null_mut();
        }
        match &mut self.store {
            Store::Inline(w) => w.as_mut_ptr().cast(),
            Store::Heap(v) => v.as_mut_ptr().cast(),
        }
    }

    /// Length for `msg_controllen`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Iterate over the first `len` bytes as received control messages.
    pub fn iter(&self, len: usize) -> Iter<'_> {
        Iter::new(self, len)
    }
}

/// Appends control messages to a [`ControlBuf`] sized beforehand with [`space`]. A message
/// that does not fit is refused (`false`), never written out of bounds.
pub struct Encoder<'a> {
    buf: &'a mut ControlBuf,
    hdr: libc::msghdr,
    next: *mut libc::cmsghdr,
    used: usize,
}

impl<'a> Encoder<'a> {
    /// An encoder writing from the start of `buf`.
    pub fn new(buf: &'a mut ControlBuf) -> Self {
        // SAFETY: all-zero is a valid msghdr.
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        hdr.msg_control = buf.ptr();
        hdr.msg_controllen = buf.len() as _;
        // SAFETY: `hdr` describes `buf`'s storage, which is aligned for cmsghdr (u64 words).
        let next = unsafe { libc::CMSG_FIRSTHDR(&hdr) };
        Encoder {
            buf,
            hdr,
            next,
            used: 0,
        }
    }

    /// Append one message with `data` as its payload; false if it does not fit.
    pub fn push(&mut self, level: i32, msg_type: i32, data: &[u8]) -> bool {
        if self.next.is_null() || self.used + space(data.len()) > self.buf.len() {
            return false;
        }
        let cmsg = self.next;
        // SAFETY: `cmsg` points into the buffer with `space(data.len())` bytes free after it
        // (checked above); it is aligned for cmsghdr (CMSG_FIRSTHDR/NXTHDR keep alignment).
        unsafe {
            (*cmsg).cmsg_level = level;
            (*cmsg).cmsg_type = msg_type;
            (*cmsg).cmsg_len = len(data.len()) as _;
            std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(cmsg), data.len());
        }
        self.used += space(data.len());
        // SAFETY: `hdr` still describes the whole buffer; NXTHDR bounds-checks against it.
        self.next = unsafe { libc::CMSG_NXTHDR(&self.hdr, cmsg) };
        true
    }

    /// Bytes written so far (the `msg_controllen` to send).
    pub fn finish(self) -> usize {
        self.used
    }
}

/// Plain C data that may be viewed as bytes and read from unaligned bytes.
///
/// # Safety
/// Implementors must be padding-free `repr(C)` structs or integers, valid for every bit
/// pattern.
// SAFETY: the contract is the implementors' (above); each implementation below states it.
pub unsafe trait Plain: Copy {}
// SAFETY: integers and libc's plain structs are valid for every bit pattern.
unsafe impl Plain for u8 {}
// SAFETY: as above.
unsafe impl Plain for u16 {}
// SAFETY: as above.
unsafe impl Plain for i32 {}
// SAFETY: as above.
unsafe impl Plain for u32 {}
// SAFETY: as above.
unsafe impl Plain for libc::in_pktinfo {}
// SAFETY: as above.
unsafe impl Plain for libc::in6_pktinfo {}
// SAFETY: as above.
unsafe impl Plain for libc::timespec {}
// SAFETY: as above.
unsafe impl Plain for libc::sock_extended_err {}

/// The bytes of a plain-data value (a cmsg payload).
pub fn as_bytes<T: Plain>(value: &T) -> &[u8] {
    // SAFETY: `T: Plain` is padding-free plain data; viewing it as bytes is sound.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// A `T` from the start of `data`, if it holds at least that many bytes.
pub fn read<T: Plain>(data: &[u8]) -> Option<T> {
    if data.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: `data` has `size_of::<T>()` readable bytes; T is valid for any bit pattern and
    // read_unaligned needs no alignment.
    Some(unsafe { std::ptr::read_unaligned(data.as_ptr().cast::<T>()) })
}

/// One received control message: level, type and payload (bounded by the buffer).
#[derive(Clone, Copy)]
pub struct Cmsg<'a> {
    /// `cmsg_level`.
    pub level: i32,
    /// `cmsg_type`.
    pub msg_type: i32,
    /// The payload (a truncated last message, MSG_CTRUNC, yields what arrived).
    pub data: &'a [u8],
}

/// Iterator over the messages of a received control buffer (`CMSG_FIRSTHDR`/`NXTHDR`).
pub struct Iter<'a> {
    hdr: libc::msghdr,
    cur: *const libc::cmsghdr,
    end: usize,
    _buf: std::marker::PhantomData<&'a ControlBuf>,
}

impl<'a> Iter<'a> {
    fn new(buf: &'a ControlBuf, len: usize) -> Self {
        let len = len.min(buf.len());
        // SAFETY: all-zero is a valid msghdr.
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        hdr.msg_control = buf.words_ptr() as *mut libc::c_void;
        hdr.msg_controllen = len as _;
        let cur = if len == 0 {
            std::ptr::null()
        } else {
            // SAFETY: `hdr` describes `len` initialised, cmsghdr-aligned bytes of `buf`.
            unsafe { libc::CMSG_FIRSTHDR(&hdr) }
        };
        Iter {
            end: buf.words_ptr() as usize + len,
            hdr,
            cur,
            _buf: std::marker::PhantomData,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Cmsg<'a>;

    fn next(&mut self) -> Option<Cmsg<'a>> {
        let cur = self.cur;
        if cur.is_null() || cur as usize + size_of::<libc::cmsghdr>() > self.end {
            return None;
        }
        // SAFETY: a whole cmsghdr lies within the buffer (checked above), aligned.
        let h = unsafe { &*cur };
        let clen: usize = h.cmsg_len as _;
        if clen < len(0) {
            self.cur = std::ptr::null();
            return None;
        }
        // SAFETY: CMSG_DATA is pointer arithmetic within this message's header.
        let start = unsafe { libc::CMSG_DATA(cur) } as usize;
        let stop = (cur as usize).saturating_add(clen).min(self.end);
        let n = stop.saturating_sub(start);
        // SAFETY: [start, start + n) lies within the buffer's initialised bytes, which the
        // iterator borrows for 'a.
        let data = unsafe { std::slice::from_raw_parts(start as *const u8, n) };
        // SAFETY: `hdr` describes the buffer; NXTHDR returns null past its end.
        self.cur = unsafe { libc::CMSG_NXTHDR(&self.hdr, cur) };
        Some(Cmsg {
            level: h.cmsg_level,
            msg_type: h.cmsg_type,
            data,
        })
    }
}

/// Take ownership of the descriptors of an SCM_RIGHTS payload.
pub fn take_fds(data: &[u8]) -> Vec<OwnedFd> {
    data.chunks_exact(size_of::<RawFd>())
        .filter_map(read::<i32>)
        .filter(|fd| *fd >= 0)
        // SAFETY: the kernel installed these descriptors for us; nothing else owns them.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// Duplicate `fd` with close-on-exec (for an SCM_RIGHTS message that must own its copies).
pub fn dup_cloexec(fd: RawFd) -> Result<OwnedFd, i32> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on any integer is safe; the result is checked.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(crate::sys::last_errno());
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Destination address and interface of a datagram (IP_PKTINFO / IPV6_PKTINFO).
pub fn parse_pktinfo(c: &Cmsg<'_>) -> Option<(IpAddr, u32)> {
    match (c.level, c.msg_type) {
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => read::<libc::in_pktinfo>(c.data).map(|p| {
            let ip = Ipv4Addr::from(p.ipi_addr.s_addr.to_ne_bytes());
            (IpAddr::V4(ip), p.ipi_ifindex as u32)
        }),
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => read::<libc::in6_pktinfo>(c.data).map(|p| {
            (
                IpAddr::V6(Ipv6Addr::from(p.ipi6_addr.s6_addr)),
                p.ipi6_ifindex,
            )
        }),
        _ => None,
    }
}

/// The traffic class byte (IP_TOS: one byte; IPV6_TCLASS: an int).
pub fn parse_tclass(c: &Cmsg<'_>) -> Option<u8> {
    match (c.level, c.msg_type) {
        (libc::IPPROTO_IP, libc::IP_TOS) => c.data.first().copied(),
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => read::<i32>(c.data).map(|v| v as u8),
        _ => None,
    }
}

/// A receive timestamp in CLOCK_REALTIME nanoseconds (SCM_TIMESTAMPNS).
pub fn parse_timestamp(c: &Cmsg<'_>) -> Option<i64> {
    if (c.level, c.msg_type) != (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) {
        return None;
    }
    read::<libc::timespec>(c.data).map(|t| t.tv_sec * 1_000_000_000 + t.tv_nsec)
}

/// The socket's drop counter (SO_RXQ_OVFL).
pub fn parse_drop_count(c: &Cmsg<'_>) -> Option<u32> {
    if (c.level, c.msg_type) != (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) {
        return None;
    }
    read::<u32>(c.data)
}

/// The GRO segment size (UDP_GRO: an int; UDP_SEGMENT: a u16). None for 0 or out of range.
pub fn parse_segment_size(c: &Cmsg<'_>) -> Option<u16> {
    if c.level != libc::SOL_UDP {
        return None;
    }
    let size = match c.msg_type {
        UDP_GRO if c.data.len() >= 4 => read::<i32>(c.data)?,
        UDP_GRO | UDP_SEGMENT => i32::from(read::<u16>(c.data)?),
        _ => return None,
    };
    u16::try_from(size).ok().filter(|s| *s > 0)
}

/// An extended socket error from the error queue (IP_RECVERR / IPV6_RECVERR).
pub struct ExtendedError {
    /// `ee_errno`.
    pub errno: i32,
    /// `ee_origin` (`SO_EE_ORIGIN_*`).
    pub origin: u8,
    /// `ee_type` (the ICMP type for ICMP origins).
    pub icmp_type: u8,
    /// `ee_code`.
    pub code: u8,
    /// `ee_info` (e.g. the MTU for "fragmentation needed").
    pub info: u32,
    /// The offending node (`SO_EE_OFFENDER`), if the kernel gave one.
    pub offender: Option<SockAddr>,
}

/// Parse IP_RECVERR / IPV6_RECVERR.
pub fn parse_extended_error(c: &Cmsg<'_>) -> Option<ExtendedError> {
    match (c.level, c.msg_type) {
        (libc::IPPROTO_IP, libc::IP_RECVERR) | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR) => {}
        _ => return None,
    }
    let ee = read::<libc::sock_extended_err>(c.data)?;
    let rest = c
        .data
        .get(size_of::<libc::sock_extended_err>()..)
        .unwrap_or(&[]);
    Some(ExtendedError {
        errno: ee.ee_errno as i32,
        origin: ee.ee_origin,
        icmp_type: ee.ee_type,
        code: ee.ee_code,
        info: ee.ee_info,
        offender: sockaddr_from_bytes(rest),
    })
}

/// A socket address from raw `sockaddr` bytes (None for AF_UNSPEC or too short).
pub fn sockaddr_from_bytes(raw: &[u8]) -> Option<SockAddr> {
    let family = read::<libc::sa_family_t>(raw)? as i32;
    let need = match family {
        libc::AF_INET => size_of::<libc::sockaddr_in>(),
        libc::AF_INET6 => size_of::<libc::sockaddr_in6>(),
        _ => return None,
    };
    let raw = raw.get(..need)?;
    let mut storage = socket2::SockAddrStorage::zeroed();
    // SAFETY: `raw` holds `need` bytes, at most sockaddr_storage's size; plain bytes copied.
    unsafe {
        std::ptr::copy_nonoverlapping(
            raw.as_ptr(),
            (&mut storage as *mut socket2::SockAddrStorage).cast::<u8>(),
            need,
        );
        Some(SockAddr::new(storage, need as libc::socklen_t))
    }
}

/// The raw bytes of a socket address.
pub fn sockaddr_bytes(addr: &SockAddr) -> &[u8] {
    // SAFETY: `as_ptr` points at the address's storage, of which `len()` bytes are valid for
    // as long as `addr` is borrowed.
    unsafe { std::slice::from_raw_parts(addr.as_ptr().cast::<u8>(), addr.len() as usize) }
}

/// Packet metadata of one received datagram, decoded without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RecvMeta {
    /// GRO segment size (0 = none).
    pub segment_size: u16,
    /// Destination address (IP_PKTINFO / IPV6_PKTINFO).
    pub destination: Option<IpAddr>,
    /// Arrival interface (0 = none).
    pub interface_index: u32,
    /// Traffic class byte (-1 = none).
    pub traffic_class: i16,
    /// Receive timestamp, CLOCK_REALTIME ns (0 = none).
    pub timestamp_ns: i64,
    /// Drop counter (-1 = none).
    pub drop_count: i64,
}

impl RecvMeta {
    /// No metadata.
    pub const NONE: RecvMeta = RecvMeta {
        segment_size: 0,
        destination: None,
        interface_index: 0,
        traffic_class: -1,
        timestamp_ns: 0,
        drop_count: -1,
    };

    /// Fold one control message into the metadata (others are ignored).
    pub fn absorb(&mut self, c: &Cmsg<'_>) {
        match c.level {
            libc::IPPROTO_IP | libc::IPPROTO_IPV6 => {
                if let Some((ip, index)) = parse_pktinfo(c) {
                    // A dual-stack socket may get both: the IPv6 one is the precise one.
                    if self.destination.is_none() || c.level == libc::IPPROTO_IPV6 {
                        self.destination = Some(ip);
                        self.interface_index = index;
                    }
                } else if let Some(t) = parse_tclass(c) {
                    self.traffic_class = i16::from(t);
                }
            }
            libc::SOL_SOCKET => {
                if let Some(ns) = parse_timestamp(c) {
                    self.timestamp_ns = ns;
                } else if let Some(n) = parse_drop_count(c) {
                    self.drop_count = i64::from(n);
                }
            }
            libc::SOL_UDP => {
                if let Some(s) = parse_segment_size(c) {
                    self.segment_size = s;
                }
            }
            _ => {}
        }
    }

    /// The metadata of a whole received control buffer.
    pub fn decode(buf: &ControlBuf, len: usize) -> RecvMeta {
        let mut meta = RecvMeta::NONE;
        if len > 0 {
            buf.iter(len).for_each(|c| meta.absorb(&c));
        }
        meta
    }
}

/// `in_pktinfo` choosing the source address and/or interface of an IPv4 send.
pub fn pktinfo_v4(source: Option<Ipv4Addr>, interface_index: u32) -> libc::in_pktinfo {
    libc::in_pktinfo {
        ipi_ifindex: interface_index as i32,
        ipi_spec_dst: libc::in_addr {
            s_addr: u32::from_ne_bytes(source.unwrap_or(Ipv4Addr::UNSPECIFIED).octets()),
        },
        ipi_addr: libc::in_addr { s_addr: 0 },
    }
}

/// `in6_pktinfo` choosing the source address and/or interface of an IPv6 send.
pub fn pktinfo_v6(source: Option<Ipv6Addr>, interface_index: u32) -> libc::in6_pktinfo {
    libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: source.unwrap_or(Ipv6Addr::UNSPECIFIED).octets(),
        },
        ipi6_ifindex: interface_index,
    }
}
