//! The `Socket` pyclass: state and lifecycle (create/bind/listen/accept/connect/close).
//! Options and properties live in `options.rs`, data transfer in `io/`; every blocking call
//! goes through [`Socket::io`] and the wait engine.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use socket2::SockAddr;

use crate::address::{sockaddr_from_py, sockaddr_to_py};
use crate::cancellable::{self, Cancellable};
use crate::engine::{self, Budget};
use crate::enums;
use crate::error::{self, Code};
use crate::lifecycle::{FdGuard, SocketFd};
use crate::sys::{self, errno, net, poll};

/// GIO socket types.
pub const TYPE_STREAM: i32 = 1;
/// GIO socket types.
pub const TYPE_DATAGRAM: i32 = 2;
/// GIO socket types.
pub const TYPE_SEQPACKET: i32 = 3;

/// GIO's `GSocket`: the OS fd is always non-blocking and close-on-exec; blocking mode is
/// emulated by the wait engine. Safe to share between threads.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct Socket {
    pub(crate) fd: Arc<SocketFd>,
    pub(crate) family: i32,
    pub(crate) stype: i32,
    pub(crate) protocol: AtomicI32,
    pub(crate) blocking: AtomicBool,
    pub(crate) timeout_ns: AtomicU64,
    pub(crate) listen_backlog: AtomicI32,
    connected_read: AtomicBool,
    connected_write: AtomicBool,
    pub(crate) connect_pending: AtomicBool,
    /// The address given to the last `connect` (GIO keeps it as the remote address, even
    /// while the connect is pending); cleared when the connect fails or the socket closes.
    pub(crate) remote: Mutex<Option<SockAddr>>,
    /// A GLib source of this socket timed out (`create_source`): the next I/O call raises
    /// TIMED_OUT once, as GIO's `check_timeout`.
    pub(crate) timed_out: AtomicBool,
    /// The asyncio loop registration while the socket is used from a loop (see `aio.rs`).
    pub(crate) aio: Mutex<Option<Py<PyAny>>>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        crate::finalize::warn_if_unclosed(&self.fd);
        // A socket dropped while registered with an event loop: let the loop unregister it
        // (and release the fd) as `close()` would.
        let registered = self.aio.get_mut().is_ok_and(|slot| slot.is_some());
        if registered {
            Python::attach(|py| self.close_registration(py));
        }
    }
}

fn native_type(stype: i32) -> PyResult<i32> {
    match stype {
        TYPE_STREAM => Ok(net::SOCK_STREAM),
        TYPE_DATAGRAM => Ok(net::SOCK_DGRAM),
        TYPE_SEQPACKET => Ok(net::SOCK_SEQPACKET),
        other => Err(PyValueError::new_err(format!(
            "invalid SocketType {other}: use STREAM, DATAGRAM or SEQPACKET"
        ))),
    }
}

impl Socket {
    fn with_fd(fd: RawFd, family: i32, stype: i32, protocol: i32, connected: bool) -> Socket {
        Socket {
            fd: Arc::new(SocketFd::new(fd)),
            aio: Mutex::new(None),
            timed_out: AtomicBool::new(false),
            family,
            stype,
            protocol: AtomicI32::new(protocol),
            blocking: AtomicBool::new(true),
            timeout_ns: AtomicU64::new(0),
            listen_backlog: AtomicI32::new(10),
            connected_read: AtomicBool::new(connected),
            connected_write: AtomicBool::new(connected),
            connect_pending: AtomicBool::new(false),
            remote: Mutex::new(None),
        }
    }

    /// Common set-up of every new fd: non-blocking, close-on-exec, TCP_NODELAY on streams.
    fn prepare_fd(fd: RawFd, stype: i32) {
        sys::set_nonblock_cloexec(fd);
        if stype == TYPE_STREAM {
            // GIO ignores errors (e.g. on UNIX stream sockets).
            let _ = sys::setsockopt_int(fd, sys::IPPROTO_TCP, sys::TCP_NODELAY, 1);
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
        let fd = net::socket(family, ntype, protocol)
            .map_err(|e| error::os_error(py, e, "Unable to create socket"))?;
        Self::prepare_fd(fd, stype);
        Ok(Self::with_fd(fd, family, stype, protocol, false))
    }

    /// Wrap an fd we now own, reading its family/type/protocol/connected state (GIO's
    /// `g_socket_details_from_fd`). On error the fd is NOT closed (ownership not taken).
    pub fn from_fd(py: Python<'_>, fd: RawFd) -> PyResult<Socket> {
        let context = "creating GSocket from fd";
        let so_type = sys::getsockopt_int(fd, sys::SOL_SOCKET, sys::SO_TYPE)
            .map_err(|e| error::os_error(py, e, context))?;
        let stype = match so_type {
            net::SOCK_STREAM => TYPE_STREAM,
            net::SOCK_DGRAM => TYPE_DATAGRAM,
            net::SOCK_SEQPACKET => TYPE_SEQPACKET,
            _ => 0,
        };
        let family = match sys::getsockname(fd) {
            Ok(addr) if addr.len() as usize >= 2 => addr.family() as i32,
            Ok(_) => sys::getsockopt_int(fd, sys::SOL_SOCKET, sys::SO_DOMAIN)
                .map_err(|e| error::os_error(py, e, context))?,
            Err(e) => return Err(error::os_error(py, e, context)),
        };
        // GIO's g_socket_details_from_fd: the protocol stays UNKNOWN (-1) unless the family
        // and type say which it is.
        let (family, protocol) = match family {
            sys::AF_INET | sys::AF_INET6 => (
                family,
                match stype {
                    TYPE_STREAM => sys::IPPROTO_TCP,
                    TYPE_DATAGRAM => sys::IPPROTO_UDP,
                    TYPE_SEQPACKET => sys::IPPROTO_SCTP,
                    _ => -1,
                },
            ),
            sys::AF_UNIX => (family, 0),
            _ => (0, -1),
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

    /// The budget of a call that follows the socket's blocking mode.
    pub(crate) fn default_budget(&self) -> Budget {
        Budget::from_blocking(self.blocking.load(Relaxed))
    }

    /// Remember (or forget) the address of the last connect.
    fn set_remote(&self, addr: Option<SockAddr>) {
        if let Ok(mut remote) = self.remote.lock() {
            *remote = addr;
        }
    }

    fn set_connected(&self, value: bool) {
        self.connected_read.store(value, Relaxed);
        self.connected_write.store(value, Relaxed);
    }

    /// GIO's `check_timeout`: TIMED_OUT once after a `create_source` timeout.
    #[inline]
    pub(crate) fn check_timed_out(&self, py: Python<'_>) -> PyResult<()> {
        if self.timed_out.load(Relaxed) && self.timed_out.swap(false, Relaxed) {
            return Err(error::timed_out(py));
        }
        Ok(())
    }

    /// Finish a pending connect: the socket's SO_ERROR as a Python error, else connected.
    pub(crate) fn check_connect(&self, py: Python<'_>) -> PyResult<bool> {
        let guard = self.enter(py)?;
        self.check_timed_out(py)?;
        let value = sys::getsockopt_int(guard.fd, sys::SOL_SOCKET, sys::SO_ERROR)
            .map_err(|e| error::os_error(py, e, "Unable to get pending error"))?;
        if value != 0 {
            self.connect_pending.store(false, Relaxed);
            self.set_remote(None);
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
        Self::py_new(py, family, r#type, protocol)
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
            sys::AF_INET => "IPV4",
            sys::AF_INET6 => "IPV6",
            sys::AF_UNIX => "UNIX",
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
            sys::SOL_SOCKET,
            sys::SO_REUSEADDR,
            allow_reuse as i32,
        );
        let reuseport = allow_reuse && self.stype == TYPE_DATAGRAM;
        let _ = sys::setsockopt_int(
            guard.fd,
            sys::SOL_SOCKET,
            sys::SO_REUSEPORT,
            reuseport as i32,
        );
        if let Err(errno) = net::bind(guard.fd, &addr) {
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
        net::listen(guard.fd, self.listen_backlog.load(Relaxed))
            .map_err(|e| error::os_error(py, e, "could not listen"))?;
        Ok(true)
    }

    /// Accept a connection; blocks in blocking mode (WOULD_BLOCK otherwise).
    #[pyo3(signature = (cancellable = None))]
    fn accept(
        &self,
        py: Python<'_>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Socket> {
        self.accept_within(
            py,
            self.default_budget(),
            cancellable::from_arg(&cancellable),
        )
        .and_then(|accepted| engine::or_would_block(py, accepted, ACCEPT_CONTEXT))
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
        match self.start_connect(py, addr, cancel)? {
            Connect::Done => Ok(true),
            Connect::InProgress => self.finish_connect(py, self.default_budget(), cancel),
            Connect::WouldBlock => engine::or_would_block(py, None, ""),
        }
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
        self.set_remote(None);
        self.close_registration(py);
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
        net::shutdown(guard.fd, shutdown_read, shutdown_write)
            .map_err(|e| error::os_error(py, e, "Unable to shutdown socket"))?;
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
            sys::AF_INET => Ok(true),
            sys::AF_INET6 => Ok(
                sys::getsockopt_int(guard.fd, sys::IPPROTO_IPV6, sys::IPV6_V6ONLY)
                    .map(|v| v == 0)
                    .unwrap_or(false),
            ),
            _ => Ok(false),
        }
    }

    /// Poll once, without blocking: which of `condition` (plus ERR/HUP) holds now.
    fn condition_check(&self, py: Python<'_>, condition: i64) -> PyResult<Py<PyAny>> {
        let events = poll_events(condition)?;
        let guard = self.enter(py)?;
        let revents = engine::poll_now(py, guard.fd, events)?;
        Ok(enums::condition(py, revents))
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
        let budget = Budget::from_timeout_us(timeout_us);
        let cancel = cancellable::from_arg(&cancellable);
        let guard = self.enter(py)?;
        cancellable::check(py, cancel)?;
        self.wait_for(py, &guard, events, budget, cancel)?;
        Ok(true)
    }

    /// Bytes readable now: FIONREAD on streams; size of the next datagram on datagram sockets.
    fn get_available_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        let guard = self.enter(py)?;
        let available = if self.stype == TYPE_DATAGRAM {
            net::next_datagram_size(guard.fd)
        } else {
            net::readable_bytes(guard.fd)
        };
        available.map_err(|e| error::os_error(py, e, "Error reading available bytes"))
    }
}

const ACCEPT_CONTEXT: &str = "Error accepting connection";

/// How a connect attempt started.
pub(crate) enum Connect {
    /// Connected at once.
    Done,
    /// Connecting in the background: wait for OUT, then read SO_ERROR.
    InProgress,
    /// EAGAIN (a full UNIX listen backlog): WOULD_BLOCK, or try again when writable (asyncio).
    WouldBlock,
}

impl Socket {
    /// Accept within `budget`: `None` when it would block.
    pub(crate) fn accept_within(
        &self,
        py: Python<'_>,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<Socket>> {
        let Some(fd) = self.io_value(
            py,
            poll::IN,
            budget,
            cancellable,
            ACCEPT_CONTEXT,
            false,
            net::accept,
        )?
        else {
            return Ok(None);
        };
        match Socket::from_fd(py, fd) {
            Ok(sock) => {
                sock.protocol.store(self.protocol.load(Relaxed), Relaxed);
                Ok(Some(sock))
            }
            Err(e) => {
                let _ = net::close(fd);
                Err(e)
            }
        }
    }

    /// Issue `connect(2)` once (GIO remembers `addr` as the remote address first). EINTR
    /// means the connect goes on in the background (CPython's `internal_connect`: issuing
    /// it again would fail with EALREADY). EAGAIN (a full UNIX listen backlog) is reported,
    /// never waited for: GIO's blocking connect fails with WOULD_BLOCK there, and only the
    /// asyncio path retries it.
    pub(crate) fn start_connect(
        &self,
        py: Python<'_>,
        addr: SockAddr,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Connect> {
        let budget = Budget::NonBlocking;
        let result =
            self.io_value(
                py,
                poll::OUT,
                budget,
                cancellable,
                "",
                false,
                |fd| match net::connect(fd, &addr) {
                    Ok(()) => Ok(true),
                    Err(errno::EINPROGRESS) | Err(errno::EINTR) => Ok(false),
                    Err(e) => Err(e),
                },
            );
        // GIO keeps the address even after an immediate failure.
        self.set_remote(Some(addr));
        match result? {
            Some(true) => {
                self.set_connected(true);
                Ok(Connect::Done)
            }
            Some(false) => {
                py.check_signals()?;
                self.connect_pending.store(true, Relaxed);
                Ok(Connect::InProgress)
            }
            None => Ok(Connect::WouldBlock),
        }
    }

    /// After [`Socket::start_connect`] said InProgress: wait for OUT within `budget` and
    /// report the result; non-blocking budgets raise PENDING (GIO).
    pub(crate) fn finish_connect(
        &self,
        py: Python<'_>,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<bool> {
        if !budget.blocks() {
            return Err(error::error(py, Code::Pending, "Connection in progress"));
        }
        {
            let guard = self.enter(py)?;
            self.wait_for(py, &guard, poll::OUT, budget, cancellable)?;
        }
        self.check_connect(py)
    }

    /// The remote address: the one given to connect, else `getpeername`.
    pub(crate) fn remote_address(&self, guard: &FdGuard<'_>) -> Result<SockAddr, i32> {
        if let Some(addr) = self.remote.lock().ok().and_then(|r| r.clone()) {
            return Ok(addr);
        }
        sys::getpeername(guard.fd)
    }
}
