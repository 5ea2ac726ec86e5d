//! The native reference loops behind `python benches/run.py` (the glue is `crate::bench`):
//! UDP `sendto` / `sendmmsg` / GSO send, `recv` / `recvmmsg` receive (optionally decoding each
//! datagram's control messages: packet info, traffic class, UDP_GRO sizes), stream send and
//! receive, an echo peer and a ping-pong client, each repeated by a [`Run`] that also reads the
//! thread's CPU clock. Raw fds in, counts / bytes / seconds or an errno out; knows nothing of
//! Python. The fds must be in blocking mode: a receive timeout (`SO_RCVTIMEO`, EAGAIN) ends a
//! run instead of blocking forever.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use socket2::SockAddr;

use super::cmsg::{self, ControlBuf, RecvMeta, METADATA_SPACE};
use super::count;

/// Largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65507;
/// Largest batch (messages per sendmmsg/recvmmsg, segments per GSO send).
pub const MAX_BATCH: usize = 1024;
/// Largest GSO batch (segments per send).
pub const MAX_GSO_BATCH: usize = 128;
/// Largest stream chunk.
pub const MAX_CHUNK: usize = 16 << 20;
/// The clock is read every this many calls.
const CHECK_EVERY: u32 = 8;

/// What one call of a loop did: `Some((packets, bytes))`, or `None` once the loop is complete
/// (end of stream, byte total reached).
pub type Step = Result<Option<(u64, u64)>, i32>;

/// What a run did: (calls or packets, bytes, elapsed seconds, CPU seconds of the looping
/// thread).
pub type Totals = (u64, u64, f64, f64);

/// CPU time consumed so far by the calling thread, in seconds.
pub fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the live timespec; this clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// "release" or "debug": how the crate was compiled.
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// A loop's state: the step it repeats plus the buffers the step's raw pointers point into.
pub trait Looper {
    /// One syscall (or one exchange for the stream loops).
    fn step(&mut self) -> Step;
}

/// Why [`Run::resume`] returned without an error.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pause {
    /// The run is over: time limit, packet limit, loop complete, stopped, or a receive timed
    /// out (EAGAIN).
    Finished,
    /// A signal interrupted a call (EINTR): handle it, then resume.
    Interrupted,
}

/// A looper repeated until a time limit, a packet limit (0 = none), its own end, a stop
/// request or a receive timeout, counting packets and bytes. Created on the thread that loops
/// (its CPU clock is read there).
pub struct Run<L> {
    looper: L,
    cpu: f64,
    start: Instant,
    deadline: Instant,
    max_packets: u64,
    packets: u64,
    bytes: u64,
    /// When the clock was last read: the end of the measured time.
    last: Instant,
}

impl<L: Looper> Run<L> {
    /// Start the clocks for `looper`, to run at most `limit` and `max_packets` (0 = no limit).
    pub fn new(looper: L, limit: Duration, max_packets: u64) -> Self {
        let cpu = thread_cpu();
        let start = Instant::now();
        Run {
            looper,
            cpu,
            start,
            deadline: start + limit,
            max_packets,
            packets: 0,
            bytes: 0,
            last: start,
        }
    }

    /// Repeat the step (ENOBUFS is retried) until the run is over or a call is interrupted;
    /// `stop()` is asked with every clock check. Err(errno) when a call failed otherwise.
    pub fn resume(&mut self, stop: impl Fn() -> bool) -> Result<Pause, i32> {
        let mut calls = 0u32;
        loop {
            match self.looper.step() {
                Ok(Some((p, b))) => {
                    self.packets += p;
                    self.bytes += b;
                }
                Ok(None) => {
                    self.last = Instant::now();
                    return Ok(Pause::Finished);
                }
                Err(libc::ENOBUFS) => {}
                // EINTR / EAGAIN (a receive timed out): `last` stays at the last clock check.
                Err(libc::EINTR) => return Ok(Pause::Interrupted),
                Err(libc::EAGAIN) => return Ok(Pause::Finished),
                Err(errno) => {
                    self.last = Instant::now();
                    return Err(errno);
                }
            }
            if self.max_packets != 0 && self.packets >= self.max_packets {
                self.last = Instant::now();
                return Ok(Pause::Finished);
            }
            calls = calls.wrapping_add(1);
            if calls.is_multiple_of(CHECK_EVERY) {
                self.last = Instant::now();
                if self.last >= self.deadline || stop() {
                    return Ok(Pause::Finished);
                }
            }
        }
    }

    /// What the run did so far (CPU seconds up to now).
    pub fn totals(&self) -> Totals {
        (
            self.packets,
            self.bytes,
            (self.last - self.start).as_secs_f64(),
            thread_cpu() - self.cpu,
        )
    }
}

/// `send(fd, buf, MSG_NOSIGNAL)`: the bytes sent.
fn send(fd: RawFd, buf: &[u8]) -> Result<usize, i32> {
    // SAFETY: `buf` is a live slice of `buf.len()` readable bytes.
    count(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) })
}

/// `recv(fd, buf, 0)`: the bytes received (0 = end of stream).
fn recv(fd: RawFd, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: `buf` is a live slice of `buf.len()` writable bytes.
    count(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// `recvmmsg(fd, hdrs, MSG_WAITFORONE)`: the messages received.
fn recvmmsg(fd: RawFd, hdrs: &mut [libc::mmsghdr]) -> Result<usize, i32> {
    // SAFETY: `hdrs` is a live slice of headers whose pointers target writable storage owned
    // by the caller (the receivers below), alive for the call.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            hdrs.as_mut_ptr(),
            hdrs.len() as libc::c_uint,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    count(n as isize)
}

/// A zeroed `mmsghdr` (null pointers, zero lengths).
fn empty_mmsghdr() -> libc::mmsghdr {
    // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
    unsafe { std::mem::zeroed() }
}

/// A UDP send loop's syscall.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SendMode {
    /// One `sendto` per call.
    SendTo,
    /// `sendmmsg` of `batch` messages per call.
    SendMmsg,
    /// One `sendmsg` of `batch` segments per call (`UDP_SEGMENT` cmsg).
    Gso,
}

/// UDP send loops: `sendto`, `sendmmsg` of `batch` messages, or one GSO send of `batch`
/// segments (`UDP_SEGMENT` cmsg).
pub struct UdpSender {
    fd: RawFd,
    mode: SendMode,
    size: usize,
    batch: usize,
    payload: Vec<u8>,
    addr: Option<Box<SockAddr>>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    cmsg: Vec<u64>,
}

// SAFETY: the raw pointers inside `iovs`/`hdrs` point into heap storage owned by the same
// struct (`payload`, the boxed address, `iovs`, `cmsg`), which moves with it and is never
// shared; only one thread uses the struct at a time.
unsafe impl Send for UdpSender {}

impl UdpSender {
    /// Datagrams of `size` bytes to `addr` (None = the connected peer) on `fd`. For
    /// [`SendMode::Gso`] the caller keeps `size * batch <= MAX_DATAGRAM` and
    /// `batch <= MAX_GSO_BATCH`.
    pub fn new(
        fd: RawFd,
        addr: Option<SockAddr>,
        mode: SendMode,
        size: usize,
        batch: usize,
    ) -> Self {
        let total = if mode == SendMode::Gso {
            size * batch
        } else {
            size
        };
        let mut s = UdpSender {
            fd,
            mode,
            size,
            batch,
            payload: (0..total).map(|i| (i % 251) as u8).collect(),
            addr: addr.map(Box::new),
            iovs: Vec::new(),
            hdrs: Vec::new(),
            cmsg: Vec::new(),
        };
        let (name, namelen) = s.name();
        let base = s.payload.as_mut_ptr();
        match mode {
            SendMode::SendTo => {}
            SendMode::SendMmsg => {
                s.iovs = (0..batch)
                    .map(|_| libc::iovec {
                        iov_base: base.cast(),
                        iov_len: size,
                    })
                    .collect();
                s.hdrs = s
                    .iovs
                    .iter_mut()
                    .map(|iov| {
                        let mut h = empty_mmsghdr();
                        h.msg_hdr.msg_name = name;
                        h.msg_hdr.msg_namelen = namelen;
                        h.msg_hdr.msg_iov = iov;
                        h.msg_hdr.msg_iovlen = 1;
                        h
                    })
                    .collect();
            }
            SendMode::Gso => {
                s.iovs = vec![libc::iovec {
                    iov_base: base.cast(),
                    iov_len: total,
                }];
                let space = cmsg::space(2);
                s.cmsg = vec![0u64; space.div_ceil(8)];
                let mut h = empty_mmsghdr();
                h.msg_hdr.msg_name = name;
                h.msg_hdr.msg_namelen = namelen;
                h.msg_hdr.msg_iov = s.iovs.as_mut_ptr();
                h.msg_hdr.msg_iovlen = 1;
                h.msg_hdr.msg_control = s.cmsg.as_mut_ptr().cast();
                h.msg_hdr.msg_controllen = space;
                // SAFETY: msg_control points at `space` zeroed, 8-aligned bytes we own, enough
                // for one cmsg carrying a u16, so FIRSTHDR is non-null and DATA is in bounds.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = cmsg::UDP_SEGMENT;
                    (*c).cmsg_len = cmsg::len(2);
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size as u16);
                }
                s.hdrs = vec![h];
            }
        }
        s
    }

    /// The destination for `msg_name`: null when sending to the connected peer.
    fn name(&self) -> (*mut libc::c_void, libc::socklen_t) {
        match &self.addr {
            Some(a) => (a.as_ptr() as *mut libc::c_void, a.len()),
            None => (std::ptr::null_mut(), 0),
        }
    }
}

impl Looper for UdpSender {
    fn step(&mut self) -> Step {
        let size = self.size as u64;
        match self.mode {
            SendMode::SendTo => {
                let (name, namelen) = self.name();
                // SAFETY: payload holds `size` bytes; name is null or a live boxed sockaddr.
                let n = unsafe {
                    libc::sendto(
                        self.fd,
                        self.payload.as_ptr().cast(),
                        self.size,
                        0,
                        name.cast(),
                        namelen,
                    )
                };
                count(n).map(|n| Some((1, n as u64)))
            }
            SendMode::SendMmsg => {
                // SAFETY: `hdrs` holds `batch` headers whose pointers target our own storage.
                let n = unsafe {
                    libc::sendmmsg(self.fd, self.hdrs.as_mut_ptr(), self.batch as u32, 0)
                };
                count(n as isize).map(|m| Some((m as u64, m as u64 * size)))
            }
            SendMode::Gso => {
                // SAFETY: the header's iov, name and control point at our own live storage.
                let n = unsafe { libc::sendmsg(self.fd, &self.hdrs[0].msg_hdr, 0) };
                count(n).map(|n| Some(((n as u64).div_ceil(size.max(1)), n as u64)))
            }
        }
    }
}

/// UDP receive loops: `recv` one datagram per call, or `recvmmsg` up to `batch` (with
/// `MSG_WAITFORONE` and the senders' addresses, like `receive_messages`).
pub struct UdpReceiver {
    fd: RawFd,
    size: usize,
    buf: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    /// Empty for `recv` (batch 1).
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: as for UdpSender: the pointers target heap storage owned by the struct itself.
unsafe impl Send for UdpReceiver {}

impl UdpReceiver {
    /// Receive into `size`-byte buffers, `batch` per call (1 = `recv`, more = `recvmmsg`).
    pub fn new(fd: RawFd, size: usize, batch: usize) -> Self {
        let mut r = UdpReceiver {
            fd,
            size,
            buf: vec![0u8; size * batch],
            // SAFETY: sockaddr_storage is plain data; zeroed is valid.
            names: vec![unsafe { std::mem::zeroed() }; batch],
            iovs: Vec::new(),
            hdrs: Vec::new(),
        };
        if batch > 1 {
            r.iovs = r
                .buf
                .chunks_exact_mut(size)
                .map(|chunk| libc::iovec {
                    iov_base: chunk.as_mut_ptr().cast(),
                    iov_len: size,
                })
                .collect();
            r.hdrs = r
                .iovs
                .iter_mut()
                .zip(r.names.iter_mut())
                .map(|(iov, name)| {
                    let mut h = empty_mmsghdr();
                    h.msg_hdr.msg_iov = iov;
                    h.msg_hdr.msg_name = (name as *mut libc::sockaddr_storage).cast();
                    h.msg_hdr.msg_iovlen = 1;
                    h
                })
                .collect();
        }
        r
    }

    /// One `recvmmsg` into every header, each given a full address slot and (when
    /// `controllen` is not 0) that much control buffer: the messages received.
    fn receive_batch(&mut self, controllen: usize) -> Result<usize, i32> {
        for h in &mut self.hdrs {
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            if controllen != 0 {
                h.msg_hdr.msg_controllen = controllen;
            }
        }
        recvmmsg(self.fd, &mut self.hdrs)
    }
}

impl Looper for UdpReceiver {
    fn step(&mut self) -> Step {
        if self.hdrs.is_empty() {
            let n = recv(self.fd, &mut self.buf[..self.size])?;
            return Ok(Some((1, n as u64)));
        }
        let m = self.receive_batch(0)?;
        let bytes: u64 = self.hdrs[..m].iter().map(|h| u64::from(h.msg_len)).sum();
        Ok(Some((m as u64, bytes)))
    }
}

/// UDP receive loop paying for packet metadata: `recvmmsg` of up to `batch` datagrams with
/// `MSG_WAITFORONE` into `size`-byte buffers, each with a control buffer (when `control`) whose
/// messages are decoded into a `RecvMeta` per datagram, as a C program reading IP_PKTINFO,
/// IP_TOS or UDP_GRO would. Packets are counted as datagrams, GRO buffers split by their segment
/// size. On a non-blocking fd the loop ends when the queue is empty (EAGAIN): a drain.
pub struct UdpMetaReceiver {
    inner: UdpReceiver,
    controls: Vec<ControlBuf>,
    control: bool,
    checksum: u64,
}

// SAFETY: as for UdpReceiver: every pointer targets heap storage owned by the struct itself
// (the control buffers live in `controls`' heap storage, which does not move with the struct).
unsafe impl Send for UdpMetaReceiver {}

impl UdpMetaReceiver {
    /// `batch` (at least 2) datagrams of up to `size` bytes per call, with a control buffer
    /// each when `control`.
    pub fn new(fd: RawFd, size: usize, batch: usize, control: bool) -> Self {
        let mut inner = UdpReceiver::new(fd, size, batch.max(2));
        let mut controls: Vec<_> = (0..inner.hdrs.len())
            .map(|_| ControlBuf::with_len(METADATA_SPACE))
            .collect();
        if control {
            for (h, c) in inner.hdrs.iter_mut().zip(controls.iter_mut()) {
                h.msg_hdr.msg_control = c.ptr();
            }
        }
        UdpMetaReceiver {
            inner,
            controls,
            control,
            checksum: 0,
        }
    }
}

impl Looper for UdpMetaReceiver {
    fn step(&mut self) -> Step {
        let controllen = if self.control { METADATA_SPACE } else { 0 };
        let m = self.inner.receive_batch(controllen)?;
        let (mut packets, mut bytes) = (0u64, 0u64);
        for (h, c) in self.inner.hdrs[..m].iter().zip(&self.controls) {
            let len = u64::from(h.msg_len);
            let meta = if self.control {
                RecvMeta::decode(c, h.msg_hdr.msg_controllen as _)
            } else {
                RecvMeta::NONE
            };
            // Use what was decoded, as a real consumer would.
            self.checksum = self
                .checksum
                .wrapping_add(meta.traffic_class as u64)
                .wrapping_add(u64::from(meta.destination.is_some()));
            let seg = if meta.segment_size > 0 {
                u64::from(meta.segment_size)
            } else {
                len.max(1)
            };
            packets += len.div_ceil(seg).max(1);
            bytes += len;
        }
        Ok(Some((packets, bytes)))
    }
}

/// What a stream loop does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StreamKind {
    /// Send `total` bytes.
    Send,
    /// Receive `total` bytes (or to end of stream).
    Recv,
    /// Send back whatever arrives, until end of stream.
    Echo,
    /// Send a chunk, wait for its echo, repeat.
    PingPong,
}

/// Stream loops: send `total` bytes, receive `total` bytes (or to EOF), echo, or ping-pong.
pub struct Stream {
    fd: RawFd,
    kind: StreamKind,
    buf: Vec<u8>,
    remaining: u64,
}

impl Stream {
    /// A `kind` loop on `fd` in calls of at most `chunk` bytes (`total` for Send / Recv).
    pub fn new(fd: RawFd, kind: StreamKind, chunk: usize, total: u64) -> Self {
        Stream {
            fd,
            kind,
            buf: (0..chunk).map(|i| (i % 251) as u8).collect(),
            remaining: total,
        }
    }

    fn send_all(&self, len: usize) -> Result<(), i32> {
        let mut off = 0;
        while off < len {
            off += send(self.fd, &self.buf[off..len])?;
        }
        Ok(())
    }

    /// Whether `len` bytes arrived before end of stream.
    fn recv_exact(&mut self, len: usize) -> Result<bool, i32> {
        let mut off = 0;
        while off < len {
            match recv(self.fd, &mut self.buf[off..len])? {
                0 => return Ok(false),
                n => off += n,
            }
        }
        Ok(true)
    }
}

impl Looper for Stream {
    fn step(&mut self) -> Step {
        let len = self.buf.len();
        match self.kind {
            StreamKind::Send | StreamKind::Recv => {
                if self.remaining == 0 {
                    return Ok(None);
                }
                let want = len.min(usize::try_from(self.remaining).unwrap_or(len));
                let n = if self.kind == StreamKind::Send {
                    send(self.fd, &self.buf[..want])?
                } else {
                    recv(self.fd, &mut self.buf[..want])?
                };
                match n {
                    0 => Ok(None),
                    n => {
                        self.remaining = self.remaining.saturating_sub(n as u64);
                        Ok(Some((1, n as u64)))
                    }
                }
            }
            StreamKind::Echo => match recv(self.fd, &mut self.buf)? {
                0 => Ok(None),
                n => {
                    self.send_all(n)?;
                    Ok(Some((1, n as u64)))
                }
            },
            StreamKind::PingPong => {
                self.send_all(len)?;
                if self.recv_exact(len)? {
                    Ok(Some((1, len as u64)))
                } else {
                    Ok(None)
                }
            }
        }
    }
}
