//! The `Socket` pyclass: state and lifecycle (create/bind/listen/accept/connect/close).
//! Options and properties live in `options.rs`, data transfer in `io/`; every blocking call
//! goes through [`Socket::io`] and the wait engine.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use socket2::SockAddr;

use crate::address::{sockaddr_from_py, sockaddr_to_py};
use crate::cancellable::{self, Cancellable};
use crate::enums::{self, Kind};
use crate::error::{self, Code};
use crate::lifecycle::{FdGuard, SocketFd};
use crate::sys;
use crate::wait::{self, Budget};

/// GIO socket types.
pub const TYPE_STREAM: i32 = 1;
/// GIO socket types.
pub const TYPE_DATAGRAM: i32 = 2;
/// GIO socket types.
pub const TYPE_SEQPACKET: i32 = 3;

/// Buffers at least this large are copied with the GIL released.
pub const DETACH_ABOVE: usize = 64 * 1024;

/// GIO's `GSocket`: the OS fd is always non-blocking and close-on-exec; blocking mode is
/// emulated by the wait engine. Safe to share between threads.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct Socket {
    pub(crate) fd: SocketFd,
    pub(crate) family: i32,
    pub(crate) stype: i32,
    pub(crate) protocol: AtomicI32,
    pub(crate) blocking: AtomicBool,
    pub(crate) timeout_ns: AtomicU64,
    pub(crate) listen_backlog: AtomicI32,
    connected_read: AtomicBool,
    connected_write: AtomicBool,
    pub(crate) connect_pending: AtomicBool,
}

fn native_type(stype: i32) -> PyResult<i32> {
    match stype {
        TYPE_STREAM => Ok(libc::SOCK_STREAM),
        TYPE_DATAGRAM => Ok(libc::SOCK_DGRAM),
        TYPE_SEQPACKET => Ok(libc::SOCK_SEQPACKET),
        other => Err(PyValueError::new_err(format!(
            "invalid SocketType {other}: use STREAM, DATAGRAM or SEQPACKET"
        ))),
    }
}

impl Socket {
    fn with_fd(fd: RawFd, family: i32, stype: i32, protocol: i32, connected: bool) -> Socket {
        Socket {
            fd: SocketFd::new(fd),
            family,
            stype,
            protocol: AtomicI32::new(protocol),
            blocking: AtomicBool::new(true),
            timeout_ns: AtomicU64::new(0),
            listen_backlog: AtomicI32::new(10),
            connected_read: AtomicBool::new(connected),
            connected_write: AtomicBool::new(connected),
            connect_pending: AtomicBool::new(false),
        }
    }

    /// Common set-up of every new fd: non-blocking, close-on-exec, TCP_NODELAY on streams.
    fn prepare_fd(fd: RawFd, stype: i32) {
        sys::set_nonblock_cloexec(fd);
        if stype == TYPE_STREAM {
            // GIO ignores errors (e.g. on UNIX stream sockets).
            let _ = sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
        }
    }

    /// Create a new socket (GIO's `g_socket_new`).
    pub fn create(py: Python<'_>, family: i32, stype: i32, protocol: i32) -> PyResult<Socket> {
        if family <= 0 {
            return Err(error::error(
                py,
                Code::InvalidArgument,
                "Unable to create socket: Unknown family was specified",
            ));
        }
        if protocol == -1 {
            return Err(error::error(
                py,
                Code::InvalidArgument,
                "Unable to create socket: Unknown protocol was specified",
            ));
        }
        let ntype = native_type(stype)?;
        // SAFETY: plain syscall; result checked.
        let fd = unsafe {
            libc::socket(
                family,
                ntype | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                protocol,
            )
        };
        if fd < 0 {
            return Err(error::os_error(
                py,
                error::last_errno(),
                "Unable to create socket",
            ));
        }
        Self::prepare_fd(fd, stype);
        Ok(Self::with_fd(fd, family, stype, protocol, false))
    }

    /// Wrap an fd we now own, reading its family/type/protocol/connected state (GIO's
    /// `g_socket_details_from_fd`). On error the fd is NOT closed (ownership not taken).
    pub fn from_fd(py: Python<'_>, fd: RawFd) -> PyResult<Socket> {
        let context = "creating GSocket from fd";
        let so_type = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)
            .map_err(|e| error::os_error(py, e, context))?;
        let stype = match so_type {
            libc::SOCK_STREAM => TYPE_STREAM,
            libc::SOCK_DGRAM => TYPE_DATAGRAM,
            libc::SOCK_SEQPACKET => TYPE_SEQPACKET,
            _ => 0,
        };
        let family = match sys::getsockname(fd) {
            Ok(addr) if addr.len() as usize >= 2 => addr.family() as i32,
            Ok(_) => sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)
                .map_err(|e| error::os_error(py, e, context))?,
            Err(e) => return Err(error::os_error(py, e, context)),
        };
        let (family, protocol) = match family {
            libc::AF_INET | libc::AF_INET6 => (
                family,
                match stype {
                    TYPE_STREAM => libc::IPPROTO_TCP,
                    TYPE_DATAGRAM => libc::IPPROTO_UDP,
                    TYPE_SEQPACKET => libc::IPPROTO_SCTP,
                    _ => 0,
                },
            ),
            libc::AF_UNIX => (family, 0),
            _ => (0, 0),
        };
        let connected = family != 0 && sys::getpeername(fd).is_ok();
        Self::prepare_fd(fd, stype);
        Ok(Self::with_fd(fd, family, stype, protocol, connected))
    }

    /// Enter an operation (CLOSED once closed).
    pub(crate) fn enter(&self, py: Python<'_>) -> PyResult<FdGuard<'_>> {
        self.fd.enter().ok_or_else(|| error::closed(py))
    }

    /// The socket's per-wait timeout (None = none).
    pub(crate) fn per_wait(&self) -> Option<Duration> {
        match self.timeout_ns.load(Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// The budget of a call that follows the socket's blocking mode (non-blocking while an
    /// asyncio coroutine drives this socket on this thread, see `aio.rs`).
    pub(crate) fn default_budget(&self) -> Budget {
        Budget::from_blocking(self.blocking.load(Relaxed) && !crate::aio::forced_nonblocking(self))
    }

    /// The one I/O loop: run `op` (a non-blocking syscall returning `Err(errno)`); on EINTR run
    /// signal handlers and retry; on EAGAIN wait for `events` within `budget`, then retry.
    /// `detach` releases the GIL around the syscall itself (large copies).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn io<T, F>(
        &self,
        py: Python<'_>,
        events: i16,
        budget: Budget,
        cancellable: Option<&Cancellable>,
        context: &str,
        detach: bool,
        mut op: F,
    ) -> PyResult<T>
    where
        F: FnMut(RawFd) -> Result<T, i32> + Send,
        T: Send,
    {
        cancellable::check(py, cancellable)?;
        let guard = self.enter(py)?;
        loop {
            let fd = guard.fd;
            let result = if detach { py.detach(|| op(fd)) } else { op(fd) };
            match result {
                Ok(value) => return Ok(value),
                Err(libc::EINTR) => py.check_signals()?,
                Err(libc::EAGAIN) if budget.blocks() => {
                    wait::wait(py, &guard, events, budget, self.per_wait(), cancellable)?;
                }
                Err(errno) => return Err(error::os_error(py, errno, context)),
            }
        }
    }

    fn set_connected(&self, value: bool) {
        self.connected_read.store(value, Relaxed);
        self.connected_write.store(value, Relaxed);
    }

    /// Finish a pending connect: the socket's SO_ERROR as a Python error, else connected.
    pub(crate) fn check_connect(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        let value = sys::getsockopt_int(guard.fd, libc::SOL_SOCKET, libc::SO_ERROR)
            .map_err(|e| error::os_error(py, e, "Unable to get pending error"))?;
        if value != 0 {
            return Err(error::os_error(py, value, ""));
        }
        self.connect_pending.store(false, Relaxed);
        self.set_connected(true);
        Ok(true)
    }
}

/// Every `IOCondition` bit (IN | PRI | OUT | ERR | HUP | NVAL); they equal the poll bits.
const ALL_CONDITIONS: i64 = 0x3f;

/// An `IOCondition` as poll events; ValueError for bits that are not `IOCondition`s.
fn poll_events(condition: i64) -> PyResult<i16> {
    if condition & !ALL_CONDITIONS != 0 {
        return Err(PyValueError::new_err(format!(
            "invalid IOCondition {condition}: only IN, PRI, OUT, ERR, HUP and NVAL exist"
        )));
    }
    // Lossless: 0 <= condition <= 0x3f.
    Ok(condition as i16)
}

#[pymethods]
impl Socket {
    /// `Socket(family, type, protocol=SocketProtocol.DEFAULT)`; a member of the wrong enum
    /// (e.g. a `SocketType` as family) raises TypeError, plain ints are taken as given.
    #[new]
    #[pyo3(signature = (family, r#type, protocol = None), text_signature = "(family, type, protocol=0)")]
    fn py_new(
        py: Python<'_>,
        family: &Bound<'_, PyAny>,
        r#type: &Bound<'_, PyAny>,
        protocol: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (family, stype, protocol) = crate::enum_arg::socket_args(family, r#type, protocol)?;
        Socket::create(py, family, stype, protocol)
    }

    /// GIO's `g_socket_new(family, type, protocol)`.
    #[staticmethod]
    #[pyo3(signature = (family, r#type, protocol = None), text_signature = "(family, type, protocol=0)")]
    fn new(
        py: Python<'_>,
        family: &Bound<'_, PyAny>,
        r#type: &Bound<'_, PyAny>,
        protocol: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (family, stype, protocol) = crate::enum_arg::socket_args(family, r#type, protocol)?;
        Socket::create(py, family, stype, protocol)
    }

    /// Wrap an existing socket fd, taking ownership (on success only).
    #[staticmethod]
    fn new_from_fd(py: Python<'_>, fd: i64) -> PyResult<Self> {
        let fd = RawFd::try_from(fd)
            .ok()
            .filter(|f| *f >= 0)
            .ok_or_else(|| PyValueError::new_err(format!("invalid file descriptor {fd}")))?;
        Socket::from_fd(py, fd)
    }

    /// The socket itself (`with Socket(...) as s:` closes it on the way out).
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Close the socket; exceptions propagate.
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let family = match self.family {
            libc::AF_INET => "IPV4",
            libc::AF_INET6 => "IPV6",
            libc::AF_UNIX => "UNIX",
            _ => "INVALID",
        };
        let stype = match self.stype {
            TYPE_STREAM => "STREAM",
            TYPE_DATAGRAM => "DATAGRAM",
            TYPE_SEQPACKET => "SEQPACKET",
            _ => "INVALID",
        };
        if self.fd.is_closed() {
            format!("<giosocket.Socket [closed] family={family} type={stype}>")
        } else {
            format!(
                "<giosocket.Socket fd={} family={family} type={stype} protocol={}>",
                self.fd.raw(),
                self.protocol.load(Relaxed)
            )
        }
    }

    /// The OS file descriptor (-1 once closed).
    fn fileno(&self) -> RawFd {
        self.fd.raw()
    }

    /// The OS file descriptor (-1 once closed).
    fn get_fd(&self) -> RawFd {
        self.fd.raw()
    }

    /// The OS file descriptor (-1 once closed).
    #[getter(fd)]
    fn prop_fd(&self) -> RawFd {
        self.fd.raw()
    }

    /// Bind to a local address. `allow_reuse` sets SO_REUSEADDR (and SO_REUSEPORT on
    /// datagram sockets), as GIO.
    fn bind(
        &self,
        py: Python<'_>,
        address: &Bound<'_, PyAny>,
        allow_reuse: bool,
    ) -> PyResult<bool> {
        let guard = self.enter(py)?;
        let addr = sockaddr_from_py(address)?;
        let _ = sys::setsockopt_int(
            guard.fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            allow_reuse as i32,
        );
        let reuseport = allow_reuse && self.stype == TYPE_DATAGRAM;
        let _ = sys::setsockopt_int(
            guard.fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            reuseport as i32,
        );
        // SAFETY: `addr` is a valid sockaddr of `len()` bytes.
        if unsafe { libc::bind(guard.fd, addr.as_ptr().cast(), addr.len()) } < 0 {
            let errno = error::last_errno();
            let shown = sockaddr_to_py(py, &addr)?
                .map(|a| a.bind(py).str().map(|s| s.to_string()))
                .transpose()?
                .unwrap_or_default();
            return Err(error::os_error(
                py,
                errno,
                &format!("Error binding to address {shown}"),
            ));
        }
        Ok(true)
    }

    /// Start listening (backlog from `listen_backlog`, default 10).
    fn listen(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        // SAFETY: plain syscall on our open fd.
        if unsafe { libc::listen(guard.fd, self.listen_backlog.load(Relaxed)) } < 0 {
            return Err(error::os_error(py, error::last_errno(), "could not listen"));
        }
        Ok(true)
    }

    /// Accept a connection; blocks in blocking mode (WOULD_BLOCK otherwise).
    #[pyo3(signature = (cancellable = None))]
    fn accept(
        &self,
        py: Python<'_>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Socket> {
        let fd = self.io(
            py,
            libc::POLLIN,
            self.default_budget(),
            cancellable::from_arg(&cancellable),
            "Error accepting connection",
            false,
            |fd| {
                // SAFETY: null address pointers are allowed; flags make the new fd non-blocking + CLOEXEC.
                let new = unsafe {
                    libc::accept4(
                        fd,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    )
                };
                if new < 0 {
                    Err(error::last_errno())
                } else {
                    Ok(new)
                }
            },
        )?;
        match Socket::from_fd(py, fd) {
            Ok(sock) => {
                sock.protocol.store(self.protocol.load(Relaxed), Relaxed);
                Ok(sock)
            }
            Err(e) => {
                // SAFETY: `fd` came from accept4 and is owned by nobody else.
                unsafe { libc::close(fd) };
                Err(e)
            }
        }
    }

    /// Connect to `address`. In non-blocking mode an in-progress connect raises PENDING;
    /// finish it with `condition_wait(OUT)` + `check_connect_result()`.
    #[pyo3(signature = (address, cancellable = None))]
    fn connect(
        &self,
        py: Python<'_>,
        address: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<bool> {
        let addr: SockAddr = sockaddr_from_py(address)?;
        let cancel = cancellable::from_arg(&cancellable);
        cancellable::check(py, cancel)?;
        let guard = self.enter(py)?;
        loop {
            // SAFETY: `addr` is a valid sockaddr of `len()` bytes.
            if unsafe { libc::connect(guard.fd, addr.as_ptr().cast(), addr.len()) } == 0 {
                break;
            }
            match error::last_errno() {
                libc::EINTR => py.check_signals()?,
                libc::EINPROGRESS => {
                    if self.default_budget().blocks() {
                        wait::wait(
                            py,
                            &guard,
                            libc::POLLOUT,
                            Budget::Forever,
                            self.per_wait(),
                            cancel,
                        )?;
                        drop(guard);
                        return self.check_connect(py);
                    }
                    self.connect_pending.store(true, Relaxed);
                    return Err(error::error(py, Code::Pending, "Connection in progress"));
                }
                errno => return Err(error::os_error(py, errno, "")),
            }
        }
        self.set_connected(true);
        Ok(true)
    }

    /// Finish a non-blocking connect: raise the connect error (SO_ERROR) if any.
    fn check_connect_result(&self, py: Python<'_>) -> PyResult<bool> {
        self.check_connect(py)
    }

    /// Close the socket (idempotent). Wakes operations blocked in other threads (they raise
    /// CLOSED); the fd is released once the last of them returns.
    fn close(&self, py: Python<'_>) -> PyResult<bool> {
        let failed = self.fd.close();
        self.set_connected(false);
        match failed {
            Some(errno) => Err(error::os_error(py, errno, "Error closing socket")),
            None => Ok(true),
        }
    }

    /// Shut down reading and/or writing.
    fn shutdown(
        &self,
        py: Python<'_>,
        shutdown_read: bool,
        shutdown_write: bool,
    ) -> PyResult<bool> {
        let guard = self.enter(py)?;
        let how = match (shutdown_read, shutdown_write) {
            (false, false) => return Ok(true),
            (true, true) => libc::SHUT_RDWR,
            (true, false) => libc::SHUT_RD,
            (false, true) => libc::SHUT_WR,
        };
        // SAFETY: plain syscall on our open fd.
        if unsafe { libc::shutdown(guard.fd, how) } != 0 {
            return Err(error::os_error(
                py,
                error::last_errno(),
                "Unable to shutdown socket",
            ));
        }
        if shutdown_read {
            self.connected_read.store(false, Relaxed);
        }
        if shutdown_write {
            self.connected_write.store(false, Relaxed);
        }
        Ok(true)
    }

    /// Whether `close()` was called.
    fn is_closed(&self) -> bool {
        self.fd.is_closed()
    }

    /// Whether the socket is connected (until shut down both ways, or closed).
    fn is_connected(&self) -> bool {
        self.connected_read.load(Relaxed) || self.connected_write.load(Relaxed)
    }

    /// Whether this socket can talk to IPv4 peers (IPv4, or IPv6 without IPV6_V6ONLY).
    fn speaks_ipv4(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        match self.family {
            libc::AF_INET => Ok(true),
            libc::AF_INET6 => {
                Ok(
                    sys::getsockopt_int(guard.fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
                        .map(|v| v == 0)
                        .unwrap_or(false),
                )
            }
            _ => Ok(false),
        }
    }

    /// Poll once, without blocking: which of `condition` (plus ERR/HUP) holds now.
    fn condition_check(&self, py: Python<'_>, condition: i64) -> PyResult<Py<PyAny>> {
        let events = poll_events(condition)?;
        let guard = self.enter(py)?;
        let mut pfd = libc::pollfd {
            fd: guard.fd,
            events,
            revents: 0,
        };
        loop {
            // SAFETY: one live pollfd, zero timeout.
            let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
            if rc >= 0 || error::last_errno() != libc::EINTR {
                break;
            }
        }
        enums::make(py, Kind::Condition, pfd.revents as i32)
    }

    /// Wait until `condition` holds (bounded by the socket timeout: TIMED_OUT).
    #[pyo3(signature = (condition, cancellable = None))]
    fn condition_wait(
        &self,
        py: Python<'_>,
        condition: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<bool> {
        self.condition_timed_wait(py, condition, -1, cancellable)
    }

    /// Wait up to `timeout_us` µs (-1 = forever) until `condition` holds.
    #[pyo3(signature = (condition, timeout_us, cancellable = None))]
    fn condition_timed_wait(
        &self,
        py: Python<'_>,
        condition: i64,
        timeout_us: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<bool> {
        let events = poll_events(condition)?;
        let cancel = cancellable::from_arg(&cancellable);
        cancellable::check(py, cancel)?;
        let guard = self.enter(py)?;
        wait::wait(
            py,
            &guard,
            events,
            Budget::from_timeout_us(timeout_us),
            self.per_wait(),
            cancel,
        )?;
        Ok(true)
    }

    /// Bytes readable now: FIONREAD on streams; size of the next datagram on datagram sockets.
    fn get_available_bytes(&self, py: Python<'_>) -> PyResult<isize> {
        let guard = self.enter(py)?;
        if self.stype == TYPE_DATAGRAM {
            // SAFETY: MSG_TRUNC with a zero-length buffer only reports the datagram's size.
            let n = unsafe {
                libc::recv(
                    guard.fd,
                    std::ptr::null_mut(),
                    0,
                    libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let errno = error::last_errno();
                if errno == libc::EAGAIN {
                    return Ok(0);
                }
                return Err(error::os_error(py, errno, "Error reading available bytes"));
            }
            return Ok(n);
        }
        let mut avail: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int into `avail`.
        if unsafe { libc::ioctl(guard.fd, libc::FIONREAD, &mut avail) } < 0 {
            return Err(error::os_error(
                py,
                error::last_errno(),
                "Error reading available bytes",
            ));
        }
        Ok(avail as isize)
    }
}
