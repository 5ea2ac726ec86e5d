//! The asyncio transport's send queue (`giosocket._transport`). The transport binds its
//! `sendto` to `_SendQueue.sendto`, so a datagram goes from the protocol to the queue with no
//! Python frame: the data is kept (bytes) or copied (bytearray, memoryview), the destination
//! converted (numeric tuples here, anything else by the transport's `_destination`), and the
//! datagram joins the queue's open run or starts one. Consecutive datagrams of one size to
//! one destination form a run that leaves as one UDP GSO message.
//!
//! What happens next is the transport's choice, made by calling its methods (as the reader
//! does): `call_soon(transport._flush_soon)` once per loop iteration, `_flush()` above the
//! high-water mark, `_maybe_pause_protocol()` when it is held. `send()` hands the runs to the
//! kernel (one sendmmsg of up to 1024 runs; a lone datagram is one sendto) until the queue is
//! empty or the socket buffer is full. A datagram the kernel refuses goes to `_report(exc)`;
//! a refused GSO run is retried datagram by datagram; `_warn_lost_send()` logs datagrams sent
//! after the loss. No borrow of the queue is held while Python runs, so these may send again.

use std::collections::VecDeque;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyMemoryView, PyString, PyTuple};
use pyo3::{intern, PyTraverseError, PyVisit};
use socket2::SockAddr;

use crate::address::{sockaddr_from_py, sockaddr_from_tuple};
use crate::engine::Budget;
use crate::io::batch::conclude_value;
use crate::io::message::msghdr;
use crate::socket::Socket;
use crate::sys::cmsg::{self as codec, ControlBuf, Encoder, UDP_SEGMENT};
use crate::sys::mmsg::Dir;
use crate::sys::os;

/// The kernel's most messages per sendmmsg call (UIO_MAXIOV).
const MAX_MESSAGES: usize = 1024;
/// The kernel's most segments in one UDP GSO message (older kernels).
const GSO_SEGMENTS: usize = 64;
/// A GSO message's payload stays under the IP length limit for both families.
const GSO_BYTES: usize = 65000;
/// asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES.
const WARN_AFTER_LOST: usize = 5;

/// Queued datagrams that leave as one message: several only with one size (the last may be
/// shorter) and one destination.
struct Run {
    dest: Option<SockAddr>,
    size: usize,
    datas: Vec<Py<PyBytes>>,
}

impl Run {
    fn bytes(&self, py: Python<'_>) -> usize {
        self.datas.iter().map(|d| d.bind(py).as_bytes().len()).sum()
    }
}

/// The transport's datagram queue and `sendto`; see the module documentation.
#[pyclass(module = "giosocket._giosocket", name = "_SendQueue")]
pub struct SendQueue {
    sock: Py<Socket>,
    runs: VecDeque<Run>,
    /// How many more datagrams the last run takes (0: the next starts a run).
    room: usize,
    queued: usize,
    /// Above this many queued bytes the protocol is paused (held) or the queue flushed.
    #[pyo3(get, set)]
    high_water: usize,
    /// The largest datagram that may be a GSO segment (0: no GSO).
    #[pyo3(get, set)]
    gso_limit: usize,
    /// A flush will come without `sendto`'s help (scheduled, or a delivery is under way).
    #[pyo3(get, set)]
    deferred: bool,
    /// The transport is flushing or waits for the socket to be writable: only queue.
    #[pyo3(get, set)]
    held: bool,
    /// Delivering a lone datagram: a reply has nothing to batch with and goes at once.
    direct: bool,
    /// 0 while open; after `lose()`, 1 + the datagrams discarded since.
    lost: usize,
    /// The endpoint's `remote_addr` (every datagram goes there), if any.
    remote: Option<Py<PyAny>>,
    /// The socket is connected: datagrams go without an address.
    connected: bool,
    /// The last address object converted and its conversion (the same immutable object
    /// again, as a reply to what a protocol was given, skips the conversion).
    last: Option<(Py<PyAny>, SockAddr)>,
    /// The transport, its loop's `call_soon` and its `_flush_soon` (looked up once: it is
    /// scheduled every loop iteration that sends); None once the garbage collector cleared
    /// the queue.
    transport: Option<(Py<PyAny>, Py<PyAny>, Py<PyAny>)>,
}

/// What `sendto` asks of the transport once the datagram is queued.
enum Then {
    Nothing,
    Schedule,
    Flush,
    Pause,
}

/// One step of `send`.
enum Step {
    /// The socket buffer is full.
    Blocked,
    /// Runs left (or a GSO run was split to be retried).
    Progress,
    /// The head datagram was refused: for `report`.
    Refused(PyErr),
}

#[pymethods]
impl SendQueue {
    /// A queue sending on `sock` for `transport` (its `_report`, `_flush`,
    /// `_maybe_pause_protocol`, `_flush_soon`, `_destination` and `_warn_lost_send`; see the
    /// module documentation), scheduling with `call_soon`. `remote`: the endpoint's
    /// remote_addr; `connected`: send without addresses.
    #[new]
    #[pyo3(signature = (sock, transport, call_soon, *, gso_limit, high_water, remote, connected))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        sock: Py<Socket>,
        transport: Py<PyAny>,
        call_soon: Py<PyAny>,
        gso_limit: usize,
        high_water: usize,
        remote: Option<Py<PyAny>>,
        connected: bool,
    ) -> PyResult<Self> {
        let flush_soon = transport.getattr(py, intern!(py, "_flush_soon"))?;
        Ok(SendQueue {
            sock,
            runs: VecDeque::new(),
            room: 0,
            queued: 0,
            high_water,
            gso_limit: gso_limit.min(usize::from(u16::MAX)),
            deferred: false,
            held: false,
            direct: false,
            lost: 0,
            remote,
            connected,
            last: None,
            transport: Some((transport, call_soon, flush_soon)),
        })
    }

    /// Queue one datagram (copied now unless it is bytes) to `addr` (None: the connected
    /// peer), as asyncio's `DatagramTransport.sendto`: empty data is ignored; with a
    /// remote_addr, `addr` must be None or it; after `lose()` the datagram is discarded (with
    /// a warning after a few).
    #[pyo3(signature = (data, addr = None))]
    fn sendto(
        slf: &Bound<'_, Self>,
        data: &Bound<'_, PyAny>,
        addr: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let data = owned_bytes(data)?;
        let size = data.as_bytes().len();
        if size == 0 {
            return Ok(());
        }
        let (remote, connected, lost) = {
            let q = slf.try_borrow()?;
            let remote = q.remote.as_ref().map(|r| r.clone_ref(py));
            (remote, q.connected, q.lost)
        };
        let mut addr = addr.filter(|a| !a.is_none());
        if let Some(remote) = remote {
            if let Some(a) = &addr {
                if a.ne(&remote)? {
                    return Err(PyValueError::new_err(format!(
                        "Invalid address: must be None or {}",
                        remote.bind(py).str()?
                    )));
                }
            }
            addr = Some(remote.into_bound(py));
        }
        if lost > 0 {
            slf.try_borrow_mut()?.lost += 1;
            if lost >= WARN_AFTER_LOST {
                let transport = slf.try_borrow()?.transport(py)?;
                transport.call_method0(py, intern!(py, "_warn_lost_send"))?;
            }
            return Ok(());
        }
        let dest = match addr {
            Some(a) if !connected => Some(Self::destination(slf, &a)?),
            _ => None,
        };
        let direct = {
            let mut q = slf.try_borrow_mut()?;
            let direct = q.direct && !q.held && q.runs.is_empty();
            q.direct = false; // a second reply would be batched with later ones
            direct
        };
        if direct {
            // A reply to a lone received datagram (ping-pong): nothing to coalesce it with,
            // so it goes at once, as asyncio's own transport sends when its buffer is empty.
            let sock = slf.try_borrow()?.sock.clone_ref(py);
            match sock.get().send_raw(
                py,
                data.as_bytes(),
                dest.as_ref(),
                Budget::NonBlocking,
                None,
            ) {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => {} // the socket buffer is full: queued below
                Err(err) if err.is_instance_of::<PyOSError>(py) => {
                    // as asyncio: that datagram is reported, not retried
                    return Self::report(slf, err);
                }
                Err(err) => return Err(err),
            }
        }
        let then = slf.try_borrow_mut()?.push(dest, size, data.unbind());
        let method = match then {
            Then::Nothing => return Ok(()),
            Then::Pause => intern!(py, "_maybe_pause_protocol"),
            Then::Flush => intern!(py, "_flush"),
            Then::Schedule => {
                let (_, call_soon, flush_soon) = slf.try_borrow()?.callbacks(py)?;
                call_soon.call1(py, (flush_soon,))?;
                return Ok(());
            }
        };
        let transport = slf.try_borrow()?.transport(py)?;
        transport.call_method0(py, method)?;
        Ok(())
    }

    /// Hand the runs to the kernel until the queue is empty or the socket buffer is full;
    /// refused datagrams go to `report`. Raises only what is not an OSError.
    fn send(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        loop {
            let step = {
                let mut q = slf.try_borrow_mut()?;
                if q.runs.is_empty() {
                    return Ok(());
                }
                q.step(py)?
            };
            match step {
                Step::Blocked => return Ok(()),
                Step::Progress => {}
                Step::Refused(err) => Self::report(slf, err)?,
            }
        }
    }

    /// Start delivering received datagrams (`lone`: just one): returns the `deferred` flag to
    /// give back to `end_delivery`; a flush comes when the delivery ends.
    pub(crate) fn begin_delivery(&mut self, lone: bool) -> bool {
        self.direct = lone && self.runs.is_empty();
        std::mem::replace(&mut self.deferred, true)
    }

    /// End a delivery: restores `deferred`; True when the transport should flush now
    /// (datagrams wait, it is not held and not lost).
    pub(crate) fn end_delivery(&mut self, deferred: bool) -> bool {
        self.deferred = deferred;
        self.direct = false;
        !self.runs.is_empty() && !self.held && self.lost == 0
    }

    /// The connection is lost: drop the queue; later datagrams are discarded.
    fn lose(&mut self) {
        self.runs.clear();
        self.room = 0;
        self.queued = 0;
        self.lost = self.lost.max(1);
    }

    /// Bytes queued and not yet taken by the kernel.
    #[getter]
    fn queued_bytes(&self) -> usize {
        self.queued
    }

    /// How many runs (future messages) are queued.
    fn __len__(&self) -> usize {
        self.runs.len()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.sock)?;
        visit.call(&self.remote)?;
        if let Some((addr, _)) = &self.last {
            visit.call(addr)?;
        }
        if let Some((transport, call_soon, flush_soon)) = &self.transport {
            visit.call(transport)?;
            visit.call(call_soon)?;
            visit.call(flush_soon)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.transport = None;
        self.remote = None;
        self.last = None;
        self.lose();
    }
}

impl SendQueue {
    /// The transport, its loop's `call_soon` and its `_flush_soon`.
    #[allow(clippy::type_complexity)]
    fn callbacks(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, Py<PyAny>, Py<PyAny>)> {
        match &self.transport {
            Some((transport, call_soon, flush_soon)) => Ok((
                transport.clone_ref(py),
                call_soon.clone_ref(py),
                flush_soon.clone_ref(py),
            )),
            None => Err(PyRuntimeError::new_err(
                "the transport's send queue was cleared",
            )),
        }
    }

    fn transport(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.callbacks(py)?.0)
    }

    /// A refused datagram to the transport's `_report` (which calls `error_received`).
    fn report(slf: &Bound<'_, Self>, err: PyErr) -> PyResult<()> {
        let py = slf.py();
        let transport = slf.try_borrow()?.transport(py)?;
        transport.call_method1(py, intern!(py, "_report"), (err.into_value(py),))?;
        Ok(())
    }

    /// `addr` as a socket address: the last one again, a numeric tuple here, else the
    /// transport's `_destination(addr)`, which returns `(SocketAddress, cacheable)`.
    fn destination(slf: &Bound<'_, Self>, addr: &Bound<'_, PyAny>) -> PyResult<SockAddr> {
        let py = slf.py();
        let transport = {
            let q = slf.try_borrow()?;
            if let Some((obj, dest)) = &q.last {
                if obj.is(addr) {
                    return Ok(dest.clone());
                }
            }
            q.transport(py)?
        };
        let inet = matches!(
            slf.try_borrow()?.sock.get().family,
            os::AF_INET | os::AF_INET6
        );
        let numeric = if inet { numeric(addr) } else { None };
        let (dest, cacheable) = match numeric {
            Some(dest) => (dest, true),
            None => {
                let got = transport.call_method1(py, intern!(py, "_destination"), (addr,))?;
                let (obj, cacheable): (Bound<'_, PyAny>, bool) = got.bind(py).extract()?;
                (sockaddr_from_py(&obj)?, cacheable)
            }
        };
        if cacheable {
            slf.try_borrow_mut()?.last = Some((addr.clone().unbind(), dest.clone()));
        }
        Ok(dest)
    }

    /// Queue `data` (`size` bytes) for `dest`; what the transport must do next.
    fn push(&mut self, dest: Option<SockAddr>, size: usize, data: Py<PyBytes>) -> Then {
        self.queued += size;
        let open = self.room > 0;
        match self.runs.back_mut() {
            Some(run) if open && size <= run.size && run.dest == dest => {
                run.datas.push(data);
                self.room = if size == run.size { self.room - 1 } else { 0 };
            }
            _ => {
                self.room = if size <= self.gso_limit {
                    GSO_SEGMENTS.min(GSO_BYTES / size).saturating_sub(1)
                } else {
                    0
                };
                self.runs.push_back(Run {
                    dest,
                    size,
                    datas: vec![data],
                });
            }
        }
        if self.held {
            if self.queued > self.high_water {
                Then::Pause
            } else {
                Then::Nothing
            }
        } else if self.queued > self.high_water || self.runs.len() >= MAX_MESSAGES {
            Then::Flush
        } else if !self.deferred {
            self.deferred = true;
            Then::Schedule
        } else {
            Then::Nothing
        }
    }

    /// Remove the first `count` runs (sent or refused).
    fn pop(&mut self, py: Python<'_>, count: usize) {
        for run in self.runs.drain(..count.min(self.runs.len())) {
            self.queued = self.queued.saturating_sub(run.bytes(py));
        }
        if self.runs.is_empty() {
            self.room = 0;
        }
    }

    /// One system call from the head of the queue.
    fn step(&mut self, py: Python<'_>) -> PyResult<Step> {
        let sock = self.sock.clone_ref(py);
        let sock = sock.get();
        if self.runs.len() == 1 && self.runs[0].datas.len() == 1 {
            // one datagram (the ping-pong case): a plain send
            let run = &self.runs[0];
            let data = run.datas[0].bind(py).as_bytes();
            return match sock.send_raw(py, data, run.dest.as_ref(), Budget::NonBlocking, None) {
                Ok(None) => Ok(Step::Blocked),
                Ok(Some(_)) => {
                    self.pop(py, 1);
                    Ok(Step::Progress)
                }
                Err(err) => self.refused(py, err),
            };
        }
        match self.send_runs(py, sock) {
            Ok(None) => Ok(Step::Blocked),
            Ok(Some(sent)) => {
                self.pop(py, sent);
                Ok(Step::Progress)
            }
            Err(err) if err.is_instance_of::<PyOSError>(py) && self.runs[0].datas.len() > 1 => {
                // A GSO message refused: learn the limit, retry its datagrams one by one.
                let size = self.runs[0].size;
                self.gso_failed(py, &err, size);
                if let Some(run) = self.runs.pop_front() {
                    for data in run.datas.into_iter().rev() {
                        let size = data.bind(py).as_bytes().len();
                        let dest = run.dest.clone();
                        self.runs.push_front(Run {
                            dest,
                            size,
                            datas: vec![data],
                        });
                    }
                }
                if self.runs.len() == 1 {
                    self.room = 0;
                }
                Ok(Step::Progress)
            }
            Err(err) => self.refused(py, err),
        }
    }

    /// The head datagram failed with `err`: dropped and reported (an OSError), else raised.
    fn refused(&mut self, py: Python<'_>, err: PyErr) -> PyResult<Step> {
        if !err.is_instance_of::<PyOSError>(py) {
            return Err(err);
        }
        self.pop(py, 1);
        Ok(Step::Refused(err))
    }

    fn gso_failed(&mut self, py: Python<'_>, err: &PyErr, size: usize) {
        let errno: i32 = err
            .value(py)
            .getattr("errno")
            .and_then(|e| e.extract())
            .unwrap_or(0);
        if [os::EIO, os::EOPNOTSUPP, os::ENOPROTOOPT].contains(&errno) {
            self.gso_limit = 0; // the device or the kernel cannot segment
        } else if [os::EINVAL, os::EMSGSIZE].contains(&errno) {
            self.gso_limit = self.gso_limit.min(size.saturating_sub(1)); // over the path MTU
        }
        self.room = 0;
    }

    /// One non-blocking sendmmsg of the first runs (at most 1024): how many the kernel took,
    /// None if it would block; raises when the first fails.
    fn send_runs(&self, py: Python<'_>, sock: &Socket) -> PyResult<Option<usize>> {
        let runs: Vec<&Run> = self.runs.iter().take(MAX_MESSAGES).collect();
        let mut iovs: Vec<os::iovec> = Vec::new();
        let mut controls: Vec<ControlBuf> = Vec::with_capacity(runs.len());
        for run in &runs {
            for data in &run.datas {
                let bytes = data.bind(py).as_bytes();
                iovs.push(os::iovec {
                    iov_base: bytes.as_ptr() as *mut os::c_void,
                    iov_len: bytes.len(),
                });
            }
            if run.datas.len() > 1 {
                // Sized for exactly this one message: msg_controllen is the whole buffer.
                let mut control = ControlBuf::with_len(codec::space(2));
                let mut encoder = Encoder::new(&mut control);
                encoder.push(os::SOL_UDP, UDP_SEGMENT, &(run.size as u16).to_ne_bytes());
                controls.push(control);
            } else {
                controls.push(ControlBuf::empty());
            }
        }
        let mut hdrs: Vec<os::mmsghdr> = Vec::with_capacity(runs.len());
        let mut at = 0;
        for (run, control) in runs.iter().zip(controls.iter_mut()) {
            let count = run.datas.len();
            hdrs.push(os::mmsghdr {
                msg_hdr: msghdr(run.dest.as_ref(), &iovs[at..at + count], control),
                msg_len: 0,
            });
            at += count;
        }
        let (done, end) = sock.batch(py, Dir::Send, &mut hdrs, os::MSG_DONTWAIT, None)?;
        conclude_value(done, end)
    }
}

/// `data` as a bytes object the queue may keep: bytes as they are, bytearray and memoryview
/// copied (the caller may change them afterwards), anything else a TypeError.
fn owned_bytes<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = data.cast_exact::<PyBytes>() {
        return Ok(bytes.clone());
    }
    if let Ok(bytes) = data.cast::<PyBytes>() {
        // a subclass: copied, as asyncio's bytes(data) (its methods never run in the queue)
        return Ok(PyBytes::new(data.py(), bytes.as_bytes()));
    }
    if data.is_instance_of::<PyByteArray>() || data.is_instance_of::<PyMemoryView>() {
        let copy = data.py().get_type::<PyBytes>().call1((data,))?;
        return Ok(copy.cast_into::<PyBytes>()?);
    }
    Err(PyTypeError::new_err(format!(
        "data argument must be a bytes-like object, not '{}'",
        data.get_type().name()?
    )))
}

/// A numeric `(host, port)` or `(host, port, flowinfo, scope_id)` tuple converted here (for
/// IPv4 and IPv6 sockets); None for anything else (names, zones, `<broadcast>`, bad values:
/// the transport's `_destination` decides).
fn numeric(addr: &Bound<'_, PyAny>) -> Option<SockAddr> {
    let tuple = addr.cast_exact::<PyTuple>().ok()?;
    if !matches!(tuple.len(), 2 | 4) {
        return None;
    }
    let host = tuple.get_item(0).ok()?;
    let host = host.cast_exact::<PyString>().ok()?.to_str().ok()?;
    if host.contains('%') || host.starts_with('<') {
        return None;
    }
    tuple.get_item(1).ok()?.cast_exact::<PyInt>().ok()?;
    sockaddr_from_tuple(tuple).ok()
}
