//! The native receive path of the asyncio transport (`giosocket._transport`): one
//! non-blocking recvmmsg into reusable slots returning `(bytes, address)` pairs as asyncio
//! reports them (None when nothing is queued). Sending is `send_queue.rs`.
//! The per-datagram work (headers, GRO splitting, address conversion, bytes objects) happens
//! here so that the transport's Python only calls the protocol.

use std::collections::HashMap;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::address::sockaddr_to_py;
use crate::io::batch::conclude_value;
use crate::socket::Socket;
use crate::sys::cmsg::{RecvMeta, METADATA_SPACE};
use crate::sys::mmsg::{Dir, NameBuf, RecvSlots};
use crate::sys::os;

/// The kernel's most messages per sendmmsg/recvmmsg call (UIO_MAXIOV).
const MAX_MESSAGES: usize = 1024;
/// Senders remembered with their converted address (cleared when full).
const CACHE_LIMIT: usize = 4096;

/// Reusable receive slots for `Socket._receive_datagrams`: one area of `count` slots of
/// `slot_size` bytes (pages are touched only as datagrams land in them), sender and control
/// storage, and the senders' converted addresses.
#[pyclass(module = "giosocket._giosocket", name = "_DatagramSlots")]
pub struct DatagramSlots {
    /// The buffers and their headers (built once; a receive re-arms what it used). Each slot
    /// has a metadata buffer (GRO segment sizes), or none (UNIX sockets: no fds).
    ring: RecvSlots,
    senders: Senders,
    truncated: usize,
}

/// How senders become what the protocol gets: the connected peer, or the converter's result
/// for each new sender address (remembered; the last one is checked before the map, since a
/// batch mostly comes from one sender).
struct Senders {
    convert: Py<PyAny>,
    peer: Option<Py<PyAny>>,
    cache: HashMap<Vec<u8>, Py<PyAny>>,
    last: Option<LastSender>,
}

/// The last sender's address bytes (a copy: no allocation when the sender changes) and what
/// the protocol got for it.
struct LastSender {
    key: [u8; 128],
    len: usize,
    addr: Py<PyAny>,
}

impl LastSender {
    fn new(py: Python<'_>, raw: &[u8], addr: &Py<PyAny>) -> Option<Self> {
        let mut key = [0u8; 128];
        key.get_mut(..raw.len())?.copy_from_slice(raw);
        Some(LastSender {
            key,
            len: raw.len(),
            addr: addr.clone_ref(py),
        })
    }

    fn is(&self, raw: &[u8]) -> bool {
        &self.key[..self.len] == raw
    }
}

#[pymethods]
impl DatagramSlots {
    /// Slots for up to `count` datagrams of `slot_size` bytes; `convert(address)` turns a
    /// sender's `SocketAddress` into what the protocol gets (called once per sender); `peer`,
    /// when given, is every datagram's sender (connected endpoints); `control` receives the
    /// metadata (GRO segment sizes).
    #[new]
    #[pyo3(signature = (count, slot_size, convert, peer = None, control = true))]
    fn new(
        py: Python<'_>,
        count: usize,
        slot_size: usize,
        convert: Py<PyAny>,
        peer: Option<Py<PyAny>>,
        control: bool,
    ) -> PyResult<Self> {
        if !(1..=MAX_MESSAGES).contains(&count) {
            return Err(PyValueError::new_err(format!(
                "count must be in range(1, {}), not {count}",
                MAX_MESSAGES + 1
            )));
        }
        if count.checked_mul(slot_size).is_none() || !(1..=1 << 24).contains(&slot_size) {
            return Err(PyValueError::new_err(format!(
                "invalid slot_size {slot_size}"
            )));
        }
        Ok(DatagramSlots {
            ring: RecvSlots::new(count, slot_size, if control { METADATA_SPACE } else { 0 })
                .map_err(|errno| crate::error::os_error(py, errno, "mapping the receive slots"))?,
            senders: Senders {
                convert,
                peer,
                cache: HashMap::new(),
                last: None,
            },
            truncated: 0,
        })
    }

    /// How many datagrams of the last receive were truncated (reported as `(None, addr)`).
    #[getter]
    fn truncated(&self) -> usize {
        self.truncated
    }
}

impl Senders {
    /// The sender in `name` (`namelen` bytes) as the protocol gets it.
    fn sender(
        &mut self,
        py: Python<'_>,
        name: &NameBuf,
        namelen: os::socklen_t,
    ) -> PyResult<Py<PyAny>> {
        if let Some(peer) = &self.peer {
            return Ok(peer.clone_ref(py));
        }
        if namelen == 0 {
            return Ok(py.None());
        }
        let raw = name.bytes(namelen);
        if let Some(last) = &self.last {
            if last.is(raw) {
                return Ok(last.addr.clone_ref(py));
            }
        }
        if let Some(addr) = self.cache.get(raw) {
            self.last = LastSender::new(py, raw, addr);
            return Ok(addr.clone_ref(py));
        }
        let key = raw.to_vec();
        let addr = match sockaddr_to_py(py, &name.to_sockaddr(namelen))? {
            Some(obj) => self.convert.call1(py, (obj,))?,
            None => py.None(),
        };
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.last = LastSender::new(py, &key, &addr);
        self.cache.insert(key, addr.clone_ref(py));
        Ok(addr)
    }
}

/// A received datagram (None: truncated) and its sender as the protocol gets it.
pub(crate) type Datagram<'py> = (Option<Bound<'py, PyBytes>>, Py<PyAny>);

/// The first `done` received slots as datagrams (GRO slots split into theirs; a truncated
/// one as None, counted in `truncated`).
fn collect<'py>(
    py: Python<'py>,
    ring: &RecvSlots,
    senders: &mut Senders,
    truncated: &mut usize,
    done: usize,
) -> PyResult<Vec<Datagram<'py>>> {
    let mut out = Vec::with_capacity(done);
    for i in 0..done {
        let slot = ring.received(i);
        let addr = senders.sender(py, slot.name, slot.namelen)?;
        if slot.truncated {
            *truncated += 1;
            out.push((None, addr));
            continue;
        }
        let segment = if slot.control_len > 0 {
            usize::from(RecvMeta::decode(slot.control, slot.control_len).segment_size)
        } else {
            0
        };
        if segment > 0 && slot.data.len() > segment {
            for part in slot.data.chunks(segment) {
                out.push((Some(PyBytes::new(py, part)), addr.clone_ref(py)));
            }
        } else {
            out.push((Some(PyBytes::new(py, slot.data)), addr));
        }
    }
    Ok(out)
}

/// One non-blocking recvmmsg (MSG_WAITFORONE) on `sock` into `slots`: the datagrams and how
/// many were truncated, or None if nothing is queued.
pub(crate) fn receive<'py>(
    sock: &Socket,
    py: Python<'py>,
    slots: &Bound<'py, DatagramSlots>,
) -> PyResult<Option<(Vec<Datagram<'py>>, usize)>> {
    let mut guard = slots
        .try_borrow_mut()
        .map_err(|_| PyRuntimeError::new_err("the datagram slots are in use by another call"))?;
    let DatagramSlots {
        ring,
        senders,
        truncated,
    } = &mut *guard;
    let flags = os::MSG_WAITFORONE | os::MSG_DONTWAIT;
    let (done, end) = sock.batch(py, Dir::Recv, ring.headers(), flags, None)?;
    *truncated = 0;
    let Some(done) = conclude_value(done, end)? else {
        ring.rearm(1);
        return Ok(None);
    };
    let out = collect(py, ring, senders, truncated, done);
    ring.rearm(done + 1);
    Ok(Some((out?, *truncated)))
}

/// `(data or None, sender)` tuples, as Python gets a batch.
pub(crate) fn as_list<'py>(
    py: Python<'py>,
    batch: Vec<Datagram<'py>>,
) -> PyResult<Bound<'py, PyList>> {
    let tuples = batch
        .into_iter()
        .map(|(data, addr)| {
            let data = match data {
                Some(bytes) => bytes.into_any(),
                None => py.None().into_bound(py),
            };
            PyTuple::new(py, [data, addr.into_bound(py)])
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, tuples)
}

#[pymethods]
impl Socket {
    /// One non-blocking recvmmsg (MSG_WAITFORONE) into `slots`: a list of `(bytes, address)`
    /// (GRO slots split into their datagrams; a truncated datagram as `(None, address)`), or
    /// None if nothing is queued.
    fn _receive_datagrams<'py>(
        &self,
        py: Python<'py>,
        slots: &Bound<'py, DatagramSlots>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        match receive(self, py, slots)? {
            Some((batch, _)) => Ok(Some(as_list(py, batch)?)),
            None => Ok(None),
        }
    }
}
