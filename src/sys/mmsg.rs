//! sendmmsg / recvmmsg with a sendmsg / recvmsg fallback where the syscalls are missing
//! (ENOSYS) or `GIOSOCKET_NO_MMSG=1` is set (to test that path). Returns `Err(errno)`;
//! knows nothing of Python.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::sys::cmsg::ControlBuf;
use crate::sys::last_errno;

/// The kernel's per-call limit (UIO_MAXIOV).
const MAX_PER_CALL: usize = 1024;

/// 0 = unknown, 1 = use sendmmsg/recvmmsg, 2 = loop (ENOSYS or forced).
static MMSG: AtomicU8 = AtomicU8::new(0);

fn mmsg_available() -> bool {
    match MMSG.load(Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let forced = std::env::var_os("GIOSOCKET_NO_MMSG").is_some_and(|v| v == "1");
            MMSG.store(if forced { 2 } else { 1 }, Relaxed);
            !forced
        }
    }
}

/// Which way a batch goes.
#[derive(Clone, Copy)]
pub enum Dir {
    /// sendmmsg / sendmsg.
    Send,
    /// recvmmsg / recvmsg.
    Recv,
}

/// A batch of message headers lent to the kernel for one call, possibly with the GIL
/// released (hence `Send`).
pub struct Batch<'a>(&'a mut [libc::mmsghdr]);

// SAFETY: the headers' pointers lead to buffers the caller keeps alive and unshared for the
// whole call (held buffer exports, the messages' own storage); only the thread making the
// syscall touches them meanwhile.
unsafe impl Send for Batch<'_> {}

impl<'a> Batch<'a> {
    /// Lend `hdrs` (every pointer in them alive for as long as the batch is used).
    pub fn new(hdrs: &'a mut [libc::mmsghdr]) -> Self {
        Batch(hdrs)
    }

    /// One sendmmsg/recvmmsg over the headers from `from` on (at most the kernel's
    /// per-call limit); Ok(messages done) or Err(errno) when the first one failed.
    pub fn run(&mut self, dir: Dir, fd: i32, from: usize, flags: i32) -> Result<usize, i32> {
        let rest = self.0.get_mut(from..).unwrap_or_default();
        mmsg(dir, fd, rest, flags)
    }
}

/// One message header lent to the kernel for one sendmsg/recvmsg, possibly with the GIL
/// released (hence `Send`).
pub struct Msg<'a>(&'a mut libc::msghdr);

// SAFETY: as for `Batch`: the header's pointers lead to memory the caller keeps alive and
// unshared for the whole call.
unsafe impl Send for Msg<'_> {}

impl<'a> Msg<'a> {
    /// Lend `hdr` (every pointer in it alive for as long as the message is used).
    pub fn new(hdr: &'a mut libc::msghdr) -> Self {
        Msg(hdr)
    }

    /// `sendmsg(fd, hdr, flags)`: the bytes sent.
    pub fn send(&self, fd: i32, flags: i32) -> Result<usize, i32> {
        // SAFETY: the header and everything it points to are alive (see `new`).
        super::count(unsafe { libc::sendmsg(fd, &*self.0, flags) })
    }

    /// `recvmsg(fd, hdr, flags)`: the bytes received (lengths and flags filled in `hdr`).
    pub fn receive(&mut self, fd: i32, flags: i32) -> Result<usize, i32> {
        // SAFETY: the header and the writable buffers it points to are alive (see `new`).
        super::count(unsafe { libc::recvmsg(fd, &mut *self.0, flags) })
    }
}

/// sendmmsg/recvmmsg of the messages in `hdrs` (at most the kernel's per-call limit), or
/// the equivalent sendmsg/recvmsg loop where the syscall is missing. Same contract either
/// way: Ok(messages done) or Err(errno) when the first one failed.
fn mmsg(dir: Dir, fd: i32, hdrs: &mut [libc::mmsghdr], flags: i32) -> Result<usize, i32> {
    let n = hdrs.len().min(MAX_PER_CALL);
    if mmsg_available() {
        let vlen = n as libc::c_uint;
        let ptr = hdrs.as_mut_ptr();
        // SAFETY: `ptr` is `hdrs`' first of at least `n` initialised mmsghdrs whose buffers
        // (writable ones for receiving) are alive for the call.
        let rc = unsafe {
            match dir {
                Dir::Send => libc::sendmmsg(fd, ptr, vlen, flags),
                Dir::Recv => libc::recvmmsg(fd, ptr, vlen, flags, std::ptr::null_mut()),
            }
        };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let errno = last_errno();
        if errno != libc::ENOSYS {
            return Err(errno);
        }
        MMSG.store(2, Relaxed);
    }
    let one_flags = flags & !libc::MSG_WAITFORONE;
    for (i, m) in hdrs.iter_mut().take(n).enumerate() {
        // SAFETY: the msghdr's pointers are alive (and writable when receiving) for the call.
        let rc = unsafe {
            match dir {
                Dir::Send => libc::sendmsg(fd, &m.msg_hdr, one_flags),
                Dir::Recv => libc::recvmsg(fd, &mut m.msg_hdr, one_flags),
            }
        };
        if rc < 0 {
            return if i == 0 { Err(last_errno()) } else { Ok(i) };
        }
        m.msg_len = rc as libc::c_uint;
    }
    Ok(n)
}

/// A `msghdr` with every field empty (null pointers, zero lengths).
pub fn empty_msghdr() -> libc::msghdr {
    // SAFETY: all-zero is a valid msghdr.
    unsafe { std::mem::zeroed() }
}

/// Storage for a received datagram's address (`msg_name`): a `sockaddr_storage`.
pub struct NameBuf(libc::sockaddr_storage);

impl NameBuf {
    /// Its size, for `msg_namelen`.
    pub const CAPACITY: libc::socklen_t =
        std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;

    /// Zeroed storage.
    pub fn new() -> Self {
        // SAFETY: all-zero is a valid sockaddr_storage.
        NameBuf(unsafe { std::mem::zeroed() })
    }

    /// Pointer for `msg_name`.
    pub fn as_mut_ptr(&mut self) -> *mut libc::c_void {
        (&mut self.0 as *mut libc::sockaddr_storage).cast()
    }

    /// The first `len` bytes (what the kernel filled in).
    pub fn bytes(&self, len: libc::socklen_t) -> &[u8] {
        let len = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
        // SAFETY: plain data of sockaddr_storage size; `len` is within it.
        unsafe {
            std::slice::from_raw_parts((&self.0 as *const libc::sockaddr_storage).cast::<u8>(), len)
        }
    }

    /// The address in the first `len` bytes.
    pub fn to_sockaddr(&self, len: libc::socklen_t) -> socket2::SockAddr {
        let bytes = self.bytes(len);
        let mut storage = socket2::SockAddrStorage::zeroed();
        // SAFETY: `bytes` is at most sockaddr_storage's size; plain data is copied.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (&mut storage as *mut socket2::SockAddrStorage).cast::<u8>(),
                bytes.len(),
            );
            socket2::SockAddr::new(storage, bytes.len() as libc::socklen_t)
        }
    }
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// Receive slots with their headers built once: `count` datagram buffers of `slot` bytes in
/// one mapped area (pages become resident only as datagrams land in them), sender storage,
/// optional control buffers, and the iovecs and mmsghdrs pointing at them. A receive re-arms
/// only the headers the kernel used, so one datagram costs one header's work, not `count`.
pub struct RecvSlots {
    area: Area,
    slot: usize,
    names: Vec<NameBuf>,
    controls: Vec<ControlBuf>,
    control_len: usize,
    /// Kept for the pointers in `hdrs` (the kernel reads them; Rust never does).
    _iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers in `_iovs` and `hdrs` lead only into this value's own buffers
// (the `area` mapping and the `names`, `controls` and `_iovs` heap blocks), which are
// allocated once and never grow, so they stay valid wherever the value moves; they are used
// only through `&mut self`. `Area`'s pointer is owned by it alone.
unsafe impl Send for RecvSlots {}
// SAFETY: through `&self` only plain data is read (`received`); the pointers are handed to
// the kernel only through `&mut self` (`headers`), so shared references never race a write.
unsafe impl Sync for RecvSlots {}

impl RecvSlots {
    /// `count` slots of `slot` bytes, each with `control_len` bytes of control space (0: none);
    /// Err(errno) when the memory cannot be mapped.
    pub fn new(count: usize, slot: usize, control_len: usize) -> Result<Self, i32> {
        let mut area = Area::new(count * slot)?;
        let mut names: Vec<NameBuf> = (0..count).map(|_| NameBuf::new()).collect();
        let mut controls: Vec<ControlBuf> = (0..count)
            .map(|_| ControlBuf::with_len(control_len))
            .collect();
        let iovs: Vec<libc::iovec> = area
            .bytes_mut()
            .chunks_mut(slot.max(1))
            .map(|chunk| libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: chunk.len(),
            })
            .collect();
        let hdrs = (0..count)
            .map(|i| {
                let mut hdr = empty_msghdr();
                hdr.msg_name = names[i].as_mut_ptr();
                hdr.msg_namelen = NameBuf::CAPACITY;
                hdr.msg_iov = &iovs[i] as *const libc::iovec as *mut libc::iovec;
                hdr.msg_iovlen = 1;
                hdr.msg_control = controls[i].ptr();
                hdr.msg_controllen = control_len as _;
                libc::mmsghdr {
                    msg_hdr: hdr,
                    msg_len: 0,
                }
            })
            .collect();
        Ok(RecvSlots {
            area,
            slot,
            names,
            controls,
            control_len,
            _iovs: iovs,
            hdrs,
        })
    }

    /// The headers, armed, to lend to the kernel (`Batch::new`).
    pub fn headers(&mut self) -> &mut [libc::mmsghdr] {
        &mut self.hdrs
    }

    /// Re-arm the headers of the first `used` slots (what the kernel may have filled in).
    pub fn rearm(&mut self, used: usize) {
        let control_len = self.control_len;
        for h in self.hdrs.iter_mut().take(used) {
            h.msg_hdr.msg_namelen = NameBuf::CAPACITY;
            h.msg_hdr.msg_controllen = control_len as _;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
    }

    /// Slot `i` as received: `(data, sender bytes, control buffer and its used length,
    /// truncated)`. `i` must be below `count()`.
    pub fn received(&self, i: usize) -> Received<'_> {
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(self.slot);
        let control_len: usize = h.msg_hdr.msg_controllen as _;
        Received {
            data: &self.area.bytes()[i * self.slot..i * self.slot + len],
            name: &self.names[i],
            namelen: h.msg_hdr.msg_namelen,
            control: &self.controls[i],
            control_len: control_len.min(self.control_len),
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        }
    }
}

/// One received slot of [`RecvSlots`].
pub struct Received<'a> {
    /// The datagram's bytes (at most the slot).
    pub data: &'a [u8],
    /// The sender's storage and its filled length.
    pub name: &'a NameBuf,
    pub namelen: libc::socklen_t,
    /// The control buffer and how much of it the kernel filled.
    pub control: &'a ControlBuf,
    pub control_len: usize,
    /// The datagram was longer than the slot.
    pub truncated: bool,
}

/// Anonymous private memory from mmap: zero pages that become resident only when written,
/// whatever malloc would do (from a reused heap, calloc would clear and touch every page).
struct Area {
    ptr: *mut u8,
    len: usize,
}

impl Area {
    fn new(len: usize) -> Result<Self, i32> {
        if len == 0 {
            return Ok(Area {
                ptr: std::ptr::NonNull::<u8>::dangling().as_ptr(),
                len: 0,
            });
        }
        // SAFETY: a fresh anonymous private mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(last_errno());
        }
        Ok(Area {
            ptr: ptr.cast(),
            len,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a readable mapping of `len` bytes (or dangling with len 0) owned
        // by this value until drop.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `bytes`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: the mapping made in `new`, unmapped once; nothing refers to it after
            // drop (the headers pointing into it are dropped with the same RecvSlots).
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
        }
    }
}
