//! `OutputMessage` / `InputMessage` (GIO's `GOutputMessage` / `GInputMessage`), built to be
//! reused call after call: each holds its buffer exports and pre-built iovecs, an
//! `InputMessage` also its sender-address storage and control buffer, so a batch call
//! allocates nothing per message beyond the result objects Python asks for (the sender
//! address is converted lazily, and cached while it does not change).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use socket2::SockAddr;

use crate::address::{ip_from_py, sockaddr_from_py, sockaddr_to_py};
use crate::cmsg::{self, ControlBuf, SendMeta};
use crate::control::ip::{inet_address, tclass_value};
use crate::io::message::recv_msghdr;
use crate::sys::cmsg::{RecvMeta, METADATA_SPACE};
use crate::sys::mmsg::NameBuf;
use crate::sys::os;
use crate::vectors::{InVecs, OutVecs};

/// One datagram to send with `Socket.send_messages` (GIO's `GOutputMessage`):
/// `OutputMessage(address=None, vectors=(), control_messages=None, *, segment_size=0,
/// source=None, traffic_class=None)`. The keywords set UDP metadata without control-message
/// objects: the GSO segment size, the source address (packet info) and the traffic class
/// (ECN/DSCP). `bytes_sent` is filled by `send_messages`. Attributes may be reassigned
/// between calls.
#[pyclass(module = "giosocket", skip_from_py_object)]
pub struct OutputMessage {
    address_obj: Option<Py<PyAny>>,
    pub(crate) address: Option<SockAddr>,
    vectors_obj: Py<PyAny>,
    pub(crate) vecs: OutVecs,
    control_obj: Vec<Py<PyAny>>,
    pub(crate) meta: SendMeta,
    bytes_sent: AtomicUsize,
}

fn segment_size_arg(value: i64) -> PyResult<u16> {
    u16::try_from(value).map_err(|_| {
        PyValueError::new_err(format!(
            "segment_size must be in range(0, 65536), not {value}"
        ))
    })
}

fn source_arg(source: Option<&Bound<'_, PyAny>>) -> PyResult<Option<std::net::IpAddr>> {
    source.filter(|s| !s.is_none()).map(ip_from_py).transpose()
}

fn tclass_arg(value: Option<i64>) -> PyResult<Option<u8>> {
    value.map(tclass_value).transpose()
}

impl OutputMessage {
    /// The control message objects (empty if none).
    pub(crate) fn control<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>> {
        self.control_obj
            .iter()
            .map(|c| c.bind(py).clone())
            .collect()
    }

    /// Whether control messages or metadata keywords are attached.
    pub(crate) fn has_control(&self) -> bool {
        !self.control_obj.is_empty() || self.meta.is_set()
    }

    /// Record the bytes sent by the last `send_messages`.
    pub(crate) fn set_bytes_sent(&self, n: usize) {
        self.bytes_sent.store(n, Relaxed);
    }
}

/// An `OutputMessage`'s vectors as given (None: an empty tuple) and their held buffers.
fn out_vectors(
    vectors: Option<&Bound<'_, PyAny>>,
    py: Python<'_>,
) -> PyResult<(Py<PyAny>, OutVecs)> {
    Ok(match vectors {
        Some(v) if !v.is_none() => (v.clone().unbind(), OutVecs::new(v)?),
        _ => (PyTuple::empty(py).into_any().unbind(), OutVecs::empty()),
    })
}

/// An `OutputMessage`'s destination as given (None kept as None) and converted.
fn out_address(
    address: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<Py<PyAny>>, Option<SockAddr>)> {
    let address = address.filter(|a| !a.is_none());
    let native = address.map(sockaddr_from_py).transpose()?;
    Ok((address.map(|a| a.clone().unbind()), native))
}

fn control_objs(messages: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Py<PyAny>>> {
    let list = cmsg::message_list(messages)?;
    list.iter().try_for_each(cmsg::check_message)?;
    Ok(list.into_iter().map(Bound::unbind).collect())
}

#[pymethods]
impl OutputMessage {
    /// `OutputMessage(address=None, vectors=(), control_messages=None, *, segment_size=0,
    /// source=None, traffic_class=None)`.
    #[new]
    #[pyo3(signature = (address = None, vectors = None, control_messages = None, *,
                        segment_size = 0, source = None, traffic_class = None))]
    #[allow(clippy::too_many_arguments)]
    fn py_new(
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        vectors: Option<&Bound<'_, PyAny>>,
        control_messages: Option<&Bound<'_, PyAny>>,
        segment_size: i64,
        source: Option<&Bound<'_, PyAny>>,
        traffic_class: Option<i64>,
    ) -> PyResult<Self> {
        let (address_obj, address) = out_address(address)?;
        let (vectors_obj, vecs) = out_vectors(vectors, py)?;
        let meta = SendMeta {
            segment_size: segment_size_arg(segment_size)?,
            source: source_arg(source)?,
            traffic_class: tclass_arg(traffic_class)?,
        };
        Ok(OutputMessage {
            address_obj,
            address,
            vectors_obj,
            vecs,
            control_obj: control_objs(control_messages)?,
            meta,
            bytes_sent: AtomicUsize::new(0),
        })
    }

    /// UDP GSO segment size to send with (0 = none).
    #[getter(segment_size)]
    fn prop_segment_size(&self) -> u16 {
        self.meta.segment_size
    }

    #[setter(segment_size)]
    fn prop_set_segment_size(&mut self, value: i64) -> PyResult<()> {
        self.meta.segment_size = segment_size_arg(value)?;
        Ok(())
    }

    /// Source address to send from (packet info; None = the kernel's choice).
    #[getter(source)]
    fn prop_source(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.meta.source.map(|ip| inet_address(py, ip)).transpose()
    }

    #[setter(source)]
    fn prop_set_source(&mut self, source: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.meta.source = source_arg(source)?;
        Ok(())
    }

    /// Traffic class byte (ECN in the low two bits) to send with (None = the socket's).
    #[getter(traffic_class)]
    fn prop_traffic_class(&self) -> Option<u8> {
        self.meta.traffic_class
    }

    #[setter(traffic_class)]
    fn prop_set_traffic_class(&mut self, value: Option<i64>) -> PyResult<()> {
        self.meta.traffic_class = tclass_arg(value)?;
        Ok(())
    }

    /// Destination (None = the connected peer).
    #[getter(address)]
    fn prop_address(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.address_obj.as_ref().map(|a| a.clone_ref(py))
    }

    #[setter(address)]
    fn prop_set_address(&mut self, address: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        (self.address_obj, self.address) = out_address(address)?;
        Ok(())
    }

    /// The vectors (as given).
    #[getter(vectors)]
    fn prop_vectors(&self, py: Python<'_>) -> Py<PyAny> {
        self.vectors_obj.clone_ref(py)
    }

    #[setter(vectors)]
    fn prop_set_vectors(&mut self, vectors: &Bound<'_, PyAny>) -> PyResult<()> {
        (self.vectors_obj, self.vecs) = out_vectors(Some(vectors), vectors.py())?;
        Ok(())
    }

    /// The control messages to send with the datagram.
    #[getter(control_messages)]
    fn prop_control_messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.control_obj.iter().map(|c| c.clone_ref(py)))
    }

    #[setter(control_messages)]
    fn prop_set_control_messages(&mut self, messages: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.control_obj = control_objs(messages)?;
        Ok(())
    }

    /// Bytes sent by the last `send_messages` call (0 if this message was not sent).
    #[getter(bytes_sent)]
    fn prop_bytes_sent(&self) -> usize {
        self.bytes_sent.load(Relaxed)
    }

    #[setter(bytes_sent)]
    fn prop_set_bytes_sent(&self, value: usize) {
        self.bytes_sent.store(value, Relaxed);
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(a) = &self.address_obj {
            visit.call(a)?;
        }
        visit.call(&self.vectors_obj)?;
        for c in &self.control_obj {
            visit.call(c)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.address_obj = None;
        self.control_obj.clear();
        // The held buffers stay valid: `vecs` keeps its own references.
        self.vectors_obj = Python::attach(|py| py.None());
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.OutputMessage size={} control_messages={} bytes_sent={}>",
            self.vecs.total(),
            self.control_obj.len(),
            self.bytes_sent.load(Relaxed)
        )
    }
}

/// A datagram slot for `Socket.receive_messages` (GIO's `GInputMessage`):
/// `InputMessage(vectors, want_control_messages=False, control_size=2048)`. After a call it
/// holds `bytes_received`, `flags`, `address` and `control_messages` of the datagram received
/// into it. Reuse it: its buffers stay borrowed and its storage is allocated once. While a
/// call uses it, other threads touching it get a RuntimeError (pyo3's borrow check).
///
/// UDP metadata switched on with `Socket.set_receive_*` (and GRO) is decoded natively into
/// plain fields whatever `want_control_messages` says: `segment_size`, `destination`,
/// `interface_index`, `traffic_class`, `timestamp_ns`, `drop_count`.
#[pyclass(module = "giosocket", skip_from_py_object)]
pub struct InputMessage {
    vectors_obj: Py<PyAny>,
    pub(crate) vecs: InVecs,
    pub(crate) name: NameBuf,
    pub(crate) namelen: os::socklen_t,
    pub(crate) control: ControlBuf,
    want_control: bool,
    pub(crate) bytes_received: usize,
    pub(crate) flags: i32,
    pub(crate) control_messages: Vec<Py<PyAny>>,
    meta: RecvMeta,
    cache: Option<(Vec<u8>, Py<PyAny>)>,
    destination_cache: Option<(std::net::IpAddr, Py<PyAny>)>,
}

impl InputMessage {
    /// The receiving `msghdr` for this message. The control buffer is always handed to the
    /// kernel on IP sockets (`inet`), where it can only carry metadata; elsewhere only when
    /// control messages are wanted, so descriptors are never received unasked.
    pub(crate) fn recv_hdr(&mut self, inet: bool) -> os::msghdr {
        let mut hdr = recv_msghdr(&mut self.name, self.vecs.iov(), &mut self.control);
        if !self.want_control && !inet {
            hdr.msg_control = std::ptr::null_mut();
            hdr.msg_controllen = 0;
        }
        hdr
    }

    /// Store the results of one received datagram.
    pub(crate) fn finish(
        &mut self,
        py: Python<'_>,
        bytes: usize,
        flags: i32,
        namelen: os::socklen_t,
        controllen: usize,
    ) -> PyResult<()> {
        self.bytes_received = bytes;
        // The kernel echoes MSG_CMSG_CLOEXEC (an input flag) into msg_flags: hide it.
        self.flags = flags & !os::MSG_CMSG_CLOEXEC;
        self.namelen = namelen;
        if controllen == 0 {
            self.meta = RecvMeta::NONE;
            if !self.control_messages.is_empty() {
                self.control_messages = Vec::new();
            }
            return Ok(());
        }
        self.meta = RecvMeta::decode(&self.control, controllen);
        let old = std::mem::take(&mut self.control_messages);
        drop(old);
        if self.want_control {
            self.control_messages = cmsg::decode(py, &self.control, controllen, None)?;
        }
        Ok(())
    }
}

#[pymethods]
impl InputMessage {
    /// `InputMessage(vectors, want_control_messages=False, control_size=2048)`: `vectors` are
    /// InputVectors or writable buffers (or one writable buffer); `control_size` bytes are
    /// reserved for control messages when they are wanted.
    #[new]
    #[pyo3(signature = (vectors, want_control_messages = false, control_size = 2048))]
    fn py_new(
        vectors: &Bound<'_, PyAny>,
        want_control_messages: bool,
        control_size: usize,
    ) -> PyResult<Self> {
        if control_size > 1 << 20 {
            return Err(PyValueError::new_err("control_size must be at most 1 MiB"));
        }
        let vecs = if vectors.is_none() {
            InVecs::empty()
        } else {
            InVecs::new(vectors)?
        };
        Ok(InputMessage {
            vectors_obj: vectors.clone().unbind(),
            vecs,
            name: NameBuf::new(),
            namelen: 0,
            control: if want_control_messages {
                // As asked: a control buffer too small for what arrives sets MSG_CTRUNC.
                ControlBuf::with_len(control_size)
            } else {
                ControlBuf::with_len(METADATA_SPACE)
            },
            want_control: want_control_messages,
            bytes_received: 0,
            flags: 0,
            control_messages: Vec::new(),
            meta: RecvMeta::NONE,
            cache: None,
            destination_cache: None,
        })
    }

    /// The vectors (as given).
    #[getter(vectors)]
    fn prop_vectors(&self, py: Python<'_>) -> Py<PyAny> {
        self.vectors_obj.clone_ref(py)
    }

    /// Sender of the last datagram received into this message (None if unknown).
    #[getter(address)]
    fn prop_address(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.namelen == 0 {
            return Ok(None);
        }
        let raw = self.name.bytes(self.namelen);
        if let Some((bytes, obj)) = &self.cache {
            if bytes.as_slice() == raw {
                return Ok(Some(obj.clone_ref(py)));
            }
        }
        let addr = self.name.to_sockaddr(self.namelen);
        let obj = sockaddr_to_py(py, &addr)?;
        if let Some(o) = &obj {
            self.cache = Some((raw.to_vec(), o.clone_ref(py)));
        }
        Ok(obj)
    }

    /// Bytes received into the vectors by the last call.
    #[getter(bytes_received)]
    fn prop_bytes_received(&self) -> usize {
        self.bytes_received
    }

    /// Output flags of the last call (e.g. `MSG_TRUNC`, `MSG_CTRUNC`).
    #[getter(flags)]
    fn prop_flags(&self) -> i32 {
        self.flags
    }

    /// GRO segment size of the last datagram (0 = not coalesced, or GRO off).
    ///
    /// The buffer holds `bytes_received // segment_size` datagrams of this size, then a
    /// shorter rest.
    #[getter(segment_size)]
    fn prop_segment_size(&self) -> u16 {
        self.meta.segment_size
    }

    /// The address the last datagram was sent to (None unless packet info is on).
    #[getter(destination)]
    fn prop_destination(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some(ip) = self.meta.destination else {
            return Ok(None);
        };
        // A server mostly hears on one address: reuse the object while it does not change.
        if let Some((cached, obj)) = &self.destination_cache {
            if *cached == ip {
                return Ok(Some(obj.clone_ref(py)));
            }
        }
        let obj = inet_address(py, ip)?;
        self.destination_cache = Some((ip, obj.clone_ref(py)));
        Ok(Some(obj))
    }

    /// Index of the interface the last datagram arrived on (0 unless packet info is on).
    #[getter(interface_index)]
    fn prop_interface_index(&self) -> u32 {
        self.meta.interface_index
    }

    /// Traffic class byte of the last datagram (ECN = `& 3`; -1 unless traffic class is on).
    #[getter(traffic_class)]
    fn prop_traffic_class(&self) -> i16 {
        self.meta.traffic_class
    }

    /// Kernel receive time of the last datagram in ns (0 unless timestamps are on).
    #[getter(timestamp_ns)]
    fn prop_timestamp_ns(&self) -> i64 {
        self.meta.timestamp_ns
    }

    /// The socket's drop counter at the last datagram (-1 = none attached).
    ///
    /// The kernel attaches it when drop counts are on and something was dropped before.
    #[getter(drop_count)]
    fn prop_drop_count(&self) -> i64 {
        self.meta.drop_count
    }

    /// Control messages of the last datagram (empty unless `want_control_messages`).
    #[getter(control_messages)]
    fn prop_control_messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.control_messages.iter().map(|c| c.clone_ref(py)))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.vectors_obj)?;
        for c in &self.control_messages {
            visit.call(c)?;
        }
        if let Some((_, addr)) = &self.cache {
            visit.call(addr)?;
        }
        if let Some((_, addr)) = &self.destination_cache {
            visit.call(addr)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.control_messages.clear();
        self.cache = None;
        self.destination_cache = None;
        // The held buffers stay valid: `vecs` keeps its own references.
        self.vectors_obj = Python::attach(|py| py.None());
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.InputMessage size={} bytes_received={} flags={:#x}>",
            self.vecs.total(),
            self.bytes_received,
            self.flags
        )
    }
}

/// The Linux `MSG_*` flags that matter for message calls, exported as `giosocket.MSG_*`.
pub const MSG_FLAGS: &[(&str, i32)] = &[
    ("MSG_OOB", os::MSG_OOB),
    ("MSG_PEEK", os::MSG_PEEK),
    ("MSG_DONTROUTE", os::MSG_DONTROUTE),
    ("MSG_CTRUNC", os::MSG_CTRUNC),
    ("MSG_TRUNC", os::MSG_TRUNC),
    ("MSG_DONTWAIT", os::MSG_DONTWAIT),
    ("MSG_EOR", os::MSG_EOR),
    ("MSG_WAITALL", os::MSG_WAITALL),
    ("MSG_CONFIRM", os::MSG_CONFIRM),
    ("MSG_ERRQUEUE", os::MSG_ERRQUEUE),
    ("MSG_NOSIGNAL", os::MSG_NOSIGNAL),
    ("MSG_MORE", os::MSG_MORE),
    ("MSG_WAITFORONE", os::MSG_WAITFORONE),
    ("MSG_CMSG_CLOEXEC", os::MSG_CMSG_CLOEXEC),
];

/// Add the `MSG_*` constants to the module.
pub fn add_flags(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for (name, value) in MSG_FLAGS {
        m.add(*name, *value)?;
    }
    Ok(())
}
