//! Native reference loops for `python benches/run.py`: the "machine limit" each Python path
//! is compared to. Private (`_giosocket._bench_*`), not part of the public API, and compiled only
//! with the cargo feature `bench` (on by default for checkouts; release wheels leave it off, see
//! .ci/build-wheels).
//!
//! Every loop runs pure Rust syscalls on an fd the caller owns and keeps open, with the GIL
//! released; no Python runs inside. The fds must be in blocking mode: a receive timeout set with
//! `SO_RCVTIMEO` ends a receive loop (EAGAIN) instead of blocking forever. EINTR re-attaches,
//! runs the signal handlers (Ctrl-C raises) and resumes. These are benchmark helpers, not I/O
//! primitives, so they block in the kernel directly instead of going through the wait engine.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use socket2::SockAddr;

use crate::address::sockaddr_from_py;
use crate::cancellable::Cancellable;
use crate::error::os_error;
use crate::sys;

/// Linux `UDP_SEGMENT` (linux/udp.h): the GSO segment size, as a `SOL_UDP` cmsg.
const UDP_SEGMENT: libc::c_int = 103;
/// Largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65507;
/// Largest batch (messages per sendmmsg/recvmmsg, segments per GSO send).
const MAX_BATCH: usize = 1024;
/// Largest stream chunk.
const MAX_CHUNK: usize = 16 << 20;
/// The clock is read every this many calls.
const CHECK_EVERY: u32 = 8;

/// What one call of a loop did: `Some((packets, bytes))`, or `None` once the loop is complete
/// (end of stream, byte total reached).
type Step = Result<Option<(u64, u64)>, i32>;

/// Result of a run handed to Python: (calls or packets, bytes, elapsed seconds, CPU seconds
/// of the looping thread).
type Totals = (u64, u64, f64, f64);

/// CPU time consumed so far by the calling thread, in seconds.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the live timespec; this clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn check_fd(fd: i64) -> PyResult<RawFd> {
    RawFd::try_from(fd)
        .ok()
        .filter(|f| *f >= 0)
        .ok_or_else(|| PyValueError::new_err(format!("invalid file descriptor {fd}")))
}

fn check_range(name: &str, value: i64, lo: usize, hi: usize) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be in {lo}..={hi}, not {value}")))
}

fn check_seconds(seconds: f64) -> PyResult<Duration> {
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(PyValueError::new_err(format!(
            "seconds must be in (0, 3600], not {seconds}"
        )));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn check_count(name: &str, value: i64) -> PyResult<u64> {
    u64::try_from(value).map_err(|_| PyValueError::new_err(format!("{name} must be >= 0")))
}

/// A loop's state: the step it repeats plus the buffers the step's raw pointers point into.
trait Looper {
    /// One syscall.
    fn step(&mut self) -> Step;
}

/// Run `looper` until `limit` elapses, `max_packets` (0 = no limit) are done, the looper says it
/// is complete, `stop` is cancelled, or a receive times out (EAGAIN). GIL released throughout,
/// except to run signal handlers after EINTR.
fn drive<L: Looper + Send>(
    py: Python<'_>,
    looper: &mut L,
    limit: Duration,
    max_packets: u64,
    stop: Option<&Cancellable>,
    context: &str,
) -> PyResult<Totals> {
    let cpu = thread_cpu();
    let start = Instant::now();
    let deadline = start + limit;
    let (mut packets, mut bytes) = (0u64, 0u64);
    let mut last = start;
    loop {
        let outcome = py.detach(|| {
            let mut calls = 0u32;
            loop {
                match looper.step() {
                    Ok(Some((p, b))) => {
                        packets += p;
                        bytes += b;
                    }
                    Ok(None) => {
                        last = Instant::now();
                        return Ok(());
                    }
                    Err(libc::ENOBUFS) => {}
                    // EAGAIN = a receive timed out: `last` stays at the last clock check.
                    Err(errno) => {
                        if errno != libc::EINTR && errno != libc::EAGAIN {
                            last = Instant::now();
                        }
                        return Err(errno);
                    }
                }
                if max_packets != 0 && packets >= max_packets {
                    last = Instant::now();
                    return Ok(());
                }
                calls = calls.wrapping_add(1);
                if calls.is_multiple_of(CHECK_EVERY) {
                    last = Instant::now();
                    if last >= deadline || stop.is_some_and(|s| s.cancelled()) {
                        return Ok(());
                    }
                }
            }
        });
        match outcome {
            Ok(()) => break,
            Err(libc::EINTR) => py.check_signals()?,
            Err(libc::EAGAIN) => break,
            Err(errno) => return Err(os_error(py, errno, context)),
        }
    }
    Ok((
        packets,
        bytes,
        (last - start).as_secs_f64(),
        thread_cpu() - cpu,
    ))
}

/// UDP send loops: `sendto`, `sendmmsg` of `batch` messages, or one GSO send of `batch`
/// segments (`UDP_SEGMENT` cmsg).
struct UdpSender {
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

#[derive(Clone, Copy, PartialEq)]
enum SendMode {
    SendTo,
    SendMmsg,
    Gso,
}

impl UdpSender {
    fn new(fd: RawFd, addr: Option<SockAddr>, mode: SendMode, size: usize, batch: usize) -> Self {
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
                let iov_ptr = s.iovs.as_mut_ptr();
                s.hdrs = (0..batch)
                    .map(|i| {
                        // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
                        let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                        h.msg_hdr.msg_name = name;
                        h.msg_hdr.msg_namelen = namelen;
                        // SAFETY: `i < batch == iovs.len()`, so the offset stays in the vector.
                        h.msg_hdr.msg_iov = unsafe { iov_ptr.add(i) };
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
                // SAFETY: CMSG_SPACE only computes a size.
                let space = unsafe { libc::CMSG_SPACE(2) } as usize;
                s.cmsg = vec![0u64; space.div_ceil(8)];
                // SAFETY: as above, mmsghdr is plain data.
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
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
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(2) as usize;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size as u16);
                }
                s.hdrs = vec![h];
            }
        }
        s
    }

    fn name(&mut self) -> (*mut libc::c_void, libc::socklen_t) {
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
                sys::count(n).map(|n| Some((1, n as u64)))
            }
            SendMode::SendMmsg => {
                // SAFETY: `hdrs` holds `batch` headers whose pointers target our own storage.
                let n = unsafe {
                    libc::sendmmsg(self.fd, self.hdrs.as_mut_ptr(), self.batch as u32, 0)
                };
                sys::count(n as isize).map(|m| Some((m as u64, m as u64 * size)))
            }
            SendMode::Gso => {
                // SAFETY: the header's iov, name and control point at our own live storage.
                let n = unsafe { libc::sendmsg(self.fd, &self.hdrs[0].msg_hdr, 0) };
                sys::count(n).map(|n| Some(((n as u64).div_ceil(size.max(1)), n as u64)))
            }
        }
    }
}

/// UDP receive loops: `recv` one datagram per call, or `recvmmsg` up to `batch` (with
/// `MSG_WAITFORONE` and the senders' addresses, like `receive_messages`).
struct UdpReceiver {
    fd: RawFd,
    batch: usize,
    size: usize,
    buf: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: as for UdpSender: the pointers target heap storage owned by the struct itself.
unsafe impl Send for UdpReceiver {}

impl UdpReceiver {
    fn new(fd: RawFd, size: usize, batch: usize) -> Self {
        let mut r = UdpReceiver {
            fd,
            batch,
            size,
            buf: vec![0u8; size * batch],
            // SAFETY: sockaddr_storage is plain data; zeroed is valid.
            names: vec![unsafe { std::mem::zeroed() }; batch],
            iovs: Vec::new(),
            hdrs: Vec::new(),
        };
        if batch > 1 {
            let base = r.buf.as_mut_ptr();
            r.iovs = (0..batch)
                .map(|i| libc::iovec {
                    // SAFETY: `i * size < buf.len()`.
                    iov_base: unsafe { base.add(i * size) }.cast(),
                    iov_len: size,
                })
                .collect();
            let iov_ptr = r.iovs.as_mut_ptr();
            let name_ptr = r.names.as_mut_ptr();
            r.hdrs = (0..batch)
                .map(|i| {
                    // SAFETY: plain data, zeroed is a valid empty header.
                    let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                    // SAFETY: `i < batch`, the length of both vectors.
                    unsafe {
                        h.msg_hdr.msg_iov = iov_ptr.add(i);
                        h.msg_hdr.msg_name = name_ptr.add(i).cast();
                    }
                    h.msg_hdr.msg_iovlen = 1;
                    h
                })
                .collect();
        }
        r
    }
}

impl Looper for UdpReceiver {
    fn step(&mut self) -> Step {
        if self.batch == 1 {
            // SAFETY: buf holds `size` writable bytes.
            let n = unsafe { libc::recv(self.fd, self.buf.as_mut_ptr().cast(), self.size, 0) };
            return sys::count(n).map(|n| Some((1, n as u64)));
        }
        for h in &mut self.hdrs {
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        }
        // SAFETY: `hdrs` holds `batch` headers pointing at our own buffers and address slots.
        let n = unsafe {
            libc::recvmmsg(
                self.fd,
                self.hdrs.as_mut_ptr(),
                self.batch as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        let m = sys::count(n as isize)?;
        let bytes: u64 = self.hdrs[..m].iter().map(|h| u64::from(h.msg_len)).sum();
        Ok(Some((m as u64, bytes)))
    }
}

/// Stream loops: send `total` bytes, receive `total` bytes (or to EOF), echo, or ping-pong.
struct Stream {
    fd: RawFd,
    kind: StreamKind,
    buf: Vec<u8>,
    remaining: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum StreamKind {
    Send,
    Recv,
    Echo,
    PingPong,
}

impl Stream {
    fn new(fd: RawFd, kind: StreamKind, chunk: usize, total: u64) -> Self {
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
            // SAFETY: `off < len <= buf.len()`.
            let n = unsafe {
                libc::send(
                    self.fd,
                    self.buf.as_ptr().add(off).cast(),
                    len - off,
                    libc::MSG_NOSIGNAL,
                )
            };
            off += sys::count(n)?;
        }
        Ok(())
    }

    fn recv_exact(&mut self, len: usize) -> Result<bool, i32> {
        let mut off = 0;
        while off < len {
            // SAFETY: `off < len <= buf.len()`.
            let n =
                unsafe { libc::recv(self.fd, self.buf.as_mut_ptr().add(off).cast(), len - off, 0) };
            match sys::count(n)? {
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
                let ptr = self.buf.as_mut_ptr();
                let n = if self.kind == StreamKind::Send {
                    // SAFETY: `want <= buf.len()`.
                    unsafe { libc::send(self.fd, ptr.cast(), want, libc::MSG_NOSIGNAL) }
                } else {
                    // SAFETY: `want <= buf.len()`, writable.
                    unsafe { libc::recv(self.fd, ptr.cast(), want, 0) }
                };
                match sys::count(n)? {
                    0 => Ok(None),
                    n => {
                        self.remaining = self.remaining.saturating_sub(n as u64);
                        Ok(Some((1, n as u64)))
                    }
                }
            }
            StreamKind::Echo => {
                // SAFETY: buf has `len` writable bytes.
                let n = unsafe { libc::recv(self.fd, self.buf.as_mut_ptr().cast(), len, 0) };
                match sys::count(n)? {
                    0 => Ok(None),
                    n => {
                        self.send_all(n)?;
                        Ok(Some((1, n as u64)))
                    }
                }
            }
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

/// Native UDP send loop: mode "sendto", "sendmmsg" (`batch` per call) or "gso" (`batch`
/// segments of `size` per call). Returns (packets, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_udp_send")]
#[pyo3(signature = (fd, address, size, mode, batch = 1, seconds = 1.0, max_packets = 0, stop = None))]
#[allow(clippy::too_many_arguments)]
pub fn bench_udp_send(
    py: Python<'_>,
    fd: i64,
    address: Option<&Bound<'_, PyAny>>,
    size: i64,
    mode: &str,
    batch: i64,
    seconds: f64,
    max_packets: i64,
    stop: Option<Bound<'_, Cancellable>>,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let size = check_range("size", size, 1, MAX_DATAGRAM)?;
    let batch = check_range("batch", batch, 1, MAX_BATCH)?;
    let limit = check_seconds(seconds)?;
    let max_packets = check_count("max_packets", max_packets)?;
    let mode = match mode {
        "sendto" => SendMode::SendTo,
        "sendmmsg" => SendMode::SendMmsg,
        "gso" if size * batch <= MAX_DATAGRAM && batch <= 128 => SendMode::Gso,
        "gso" => {
            return Err(PyValueError::new_err(
                "gso needs size * batch <= 65507 and batch <= 128",
            ))
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "mode must be 'sendto', 'sendmmsg' or 'gso', not {other:?}"
            )))
        }
    };
    let addr = address.map(sockaddr_from_py).transpose()?;
    let mut looper = UdpSender::new(fd, addr, mode, size, batch);
    let stop = stop.as_ref().map(|s| s.get());
    drive(
        py,
        &mut looper,
        limit,
        max_packets,
        stop,
        "Error sending data",
    )
}

/// Native UDP receive loop: mode "recv" (one datagram per call) or "recvmmsg" (`batch` per
/// call, `MSG_WAITFORONE`). `size` = buffer per datagram. Returns (packets, bytes, seconds,
/// CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_udp_recv")]
#[pyo3(signature = (fd, size, mode, batch = 1, seconds = 1.0, max_packets = 0, stop = None))]
#[allow(clippy::too_many_arguments)]
pub fn bench_udp_recv(
    py: Python<'_>,
    fd: i64,
    size: i64,
    mode: &str,
    batch: i64,
    seconds: f64,
    max_packets: i64,
    stop: Option<Bound<'_, Cancellable>>,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let size = check_range("size", size, 1, 1 << 16)?;
    let batch = match mode {
        "recv" => 1,
        "recvmmsg" => check_range("batch", batch, 2, MAX_BATCH)?,
        other => {
            return Err(PyValueError::new_err(format!(
                "mode must be 'recv' or 'recvmmsg', not {other:?}"
            )))
        }
    };
    let limit = check_seconds(seconds)?;
    let max_packets = check_count("max_packets", max_packets)?;
    let mut looper = UdpReceiver::new(fd, size, batch);
    let stop = stop.as_ref().map(|s| s.get());
    drive(
        py,
        &mut looper,
        limit,
        max_packets,
        stop,
        "Error receiving data",
    )
}

fn stream_run(
    py: Python<'_>,
    fd: i64,
    kind: StreamKind,
    chunk: i64,
    total: u64,
    seconds: f64,
    max_packets: u64,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let chunk = check_range("chunk", chunk, 1, MAX_CHUNK)?;
    let limit = check_seconds(seconds)?;
    let mut looper = Stream::new(fd, kind, chunk, total);
    let context = match kind {
        StreamKind::Send => "Error sending data",
        _ => "Error receiving data",
    };
    drive(py, &mut looper, limit, max_packets, None, context)
}

/// Native stream sender: send `total_bytes` in `chunk`-byte calls. Returns (calls, bytes,
/// seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_stream_send")]
#[pyo3(signature = (fd, total_bytes, chunk = 262144, seconds = 60.0))]
pub fn bench_stream_send(
    py: Python<'_>,
    fd: i64,
    total_bytes: i64,
    chunk: i64,
    seconds: f64,
) -> PyResult<Totals> {
    let total = check_count("total_bytes", total_bytes)?;
    stream_run(py, fd, StreamKind::Send, chunk, total, seconds, 0)
}

/// Native stream receiver: receive `total_bytes` (or to end of stream) in calls of at most
/// `chunk` bytes. Returns (calls, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_stream_recv")]
#[pyo3(signature = (fd, total_bytes, chunk = 262144, seconds = 60.0))]
pub fn bench_stream_recv(
    py: Python<'_>,
    fd: i64,
    total_bytes: i64,
    chunk: i64,
    seconds: f64,
) -> PyResult<Totals> {
    let total = check_count("total_bytes", total_bytes)?;
    stream_run(py, fd, StreamKind::Recv, chunk, total, seconds, 0)
}

/// Native echo server on a connected stream: send back whatever arrives until end of stream
/// (or a receive timeout). Returns (messages, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_echo")]
#[pyo3(signature = (fd, size = 65536, seconds = 60.0))]
pub fn bench_echo(py: Python<'_>, fd: i64, size: i64, seconds: f64) -> PyResult<Totals> {
    stream_run(py, fd, StreamKind::Echo, size, 0, seconds, 0)
}

/// Native ping-pong client: send `size` bytes, wait for the `size`-byte echo, repeat. Returns
/// (round trips, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_pingpong")]
#[pyo3(signature = (fd, size = 1, seconds = 1.0, max_packets = 0))]
pub fn bench_pingpong(
    py: Python<'_>,
    fd: i64,
    size: i64,
    seconds: f64,
    max_packets: i64,
) -> PyResult<Totals> {
    let max = check_count("max_packets", max_packets)?;
    stream_run(py, fd, StreamKind::PingPong, size, 0, seconds, max)
}

/// "release" or "debug": how the extension was compiled (the harness warns on debug builds).
#[pyfunction]
#[pyo3(name = "_bench_build_profile")]
pub fn bench_build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// UDP receive loop paying for packet metadata: `recvmmsg` of up to `batch` datagrams with
/// `MSG_WAITFORONE` into `size`-byte buffers, each with a control buffer (when `control`) whose
/// messages are decoded into a `RecvMeta` per datagram, as a C program reading IP_PKTINFO,
/// IP_TOS or UDP_GRO would. Packets are counted as datagrams, GRO buffers split by their segment
/// size. On a non-blocking fd the loop ends when the queue is empty (EAGAIN): a drain.
struct UdpMetaReceiver {
    fd: RawFd,
    inner: UdpReceiver,
    controls: Vec<crate::sys::cmsg::ControlBuf>,
    control: bool,
    checksum: u64,
}

// SAFETY: as for UdpReceiver: every pointer targets heap storage owned by the struct itself.
unsafe impl Send for UdpMetaReceiver {}

impl UdpMetaReceiver {
    fn new(fd: RawFd, size: usize, batch: usize, control: bool) -> Self {
        let mut inner = UdpReceiver::new(fd, size, batch.max(2));
        let mut controls: Vec<_> = (0..inner.hdrs.len())
            .map(|_| crate::sys::cmsg::ControlBuf::with_len(crate::sys::cmsg::METADATA_SPACE))
            .collect();
        if control {
            for (h, c) in inner.hdrs.iter_mut().zip(controls.iter_mut()) {
                h.msg_hdr.msg_control = c.ptr();
            }
        }
        UdpMetaReceiver {
            fd,
            inner,
            controls,
            control,
            checksum: 0,
        }
    }
}

impl Looper for UdpMetaReceiver {
    fn step(&mut self) -> Step {
        let batch = self.inner.hdrs.len();
        for h in &mut self.inner.hdrs {
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            if self.control {
                h.msg_hdr.msg_controllen = crate::sys::cmsg::METADATA_SPACE as _;
            }
        }
        // SAFETY: `hdrs` holds `batch` headers pointing at our own buffers, address slots and
        // control buffers.
        let n = unsafe {
            libc::recvmmsg(
                self.fd,
                self.inner.hdrs.as_mut_ptr(),
                batch as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        let m = sys::count(n as isize)?;
        let (mut packets, mut bytes) = (0u64, 0u64);
        for (h, c) in self.inner.hdrs[..m].iter().zip(&self.controls) {
            let len = u64::from(h.msg_len);
            let meta = if self.control {
                crate::sys::cmsg::RecvMeta::decode(c, h.msg_hdr.msg_controllen as _)
            } else {
                crate::sys::cmsg::RecvMeta::NONE
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

/// Native UDP metadata receive loop (see `UdpMetaReceiver`): `batch` datagrams of up to `size`
/// bytes per `recvmmsg`, with a decoded control buffer per datagram when `control`. Returns
/// (packets, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_udp_recv_meta")]
#[pyo3(signature = (fd, size, batch, control, seconds = 1.0, max_packets = 0))]
pub fn bench_udp_recv_meta(
    py: Python<'_>,
    fd: i64,
    size: i64,
    batch: i64,
    control: bool,
    seconds: f64,
    max_packets: i64,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let size = check_range("size", size, 1, 1 << 16)?;
    let batch = check_range("batch", batch, 2, MAX_BATCH)?;
    let limit = check_seconds(seconds)?;
    let max_packets = check_count("max_packets", max_packets)?;
    let mut looper = UdpMetaReceiver::new(fd, size, batch, control);
    drive(
        py,
        &mut looper,
        limit,
        max_packets,
        None,
        "Error receiving data",
    )
}

/// Adds the loops to the module as attributes (private names, so they stay out of `__all__`).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(bench_udp_send, m)?,
        wrap_pyfunction!(bench_udp_recv, m)?,
        wrap_pyfunction!(bench_udp_recv_meta, m)?,
        wrap_pyfunction!(bench_stream_send, m)?,
        wrap_pyfunction!(bench_stream_recv, m)?,
        wrap_pyfunction!(bench_echo, m)?,
        wrap_pyfunction!(bench_pingpong, m)?,
        wrap_pyfunction!(bench_build_profile, m)?,
    ] {
        m.setattr(
            f.getattr("__name__")?
                .cast_into::<pyo3::types::PyString>()?,
            &f,
        )?;
    }
    Ok(())
}
