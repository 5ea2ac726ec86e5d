//! Control-message (cmsg) encoding for `sendmsg` and decoding for `recvmsg`.
//!
//! Encoding turns `SocketControlMessage` objects into one aligned control buffer: built-in
//! classes are serialized natively, Python subclasses through their `get_level()`,
//! `get_msg_type()` and `serialize()` methods. Decoding walks a received control buffer with
//! bounds checks (a truncated buffer, MSG_CTRUNC, is fine), takes ownership of every
//! SCM_RIGHTS descriptor first (so an error half-way can never leak one), then builds the
//! Python objects: registered user classes first, then the built-ins, else a generic
//! `SocketControlMessage` carrying level, type and raw data.

use std::mem::size_of;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::buffer::ReadBuf;
use crate::control::creds::{parse_ucred, UnixCredentialsMessage};
use crate::control::fd::UnixFDMessage;
use crate::control::udp::{self, UdpSegmentMessage, UDP_GRO, UDP_SEGMENT};
use crate::control::{self, SocketControlMessage};
use crate::error::{self, Code};
use crate::vectors::type_name;

const HDR: usize = size_of::<libc::cmsghdr>();

/// `CMSG_ALIGN`.
const fn align(n: usize) -> usize {
    (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1)
}

/// `CMSG_LEN(n)`.
const fn cmsg_len(n: usize) -> usize {
    align(HDR) + n
}

/// `CMSG_SPACE(n)`.
const fn cmsg_space(n: usize) -> usize {
    align(HDR) + align(n)
}

/// Control buffer size that fits SCM_MAX_FD descriptors plus credentials and a few more.
pub const RECV_SPACE: usize = 2048;

/// Control data that fits here is stored inline (no allocation): a UDP_SEGMENT or
/// credentials message, or a few descriptors.
const INLINE_WORDS: usize = 8;

/// An aligned control buffer (storage for `msg_control`). Small ones live inline, so the
/// buffer must stay in place while a `msghdr` points at it.
pub struct ControlBuf {
    store: Store,
    len: usize,
}

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

    /// The first `len` bytes.
    pub fn bytes(&self, len: usize) -> &[u8] {
        let len = len.min(self.len);
        // SAFETY: the storage holds at least `self.len` initialised bytes; u8 has no alignment.
        unsafe { std::slice::from_raw_parts(self.words_ptr().cast::<u8>(), len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        let ptr = self.ptr().cast::<u8>();
        if ptr.is_null() {
            return &mut [];
        }
        // SAFETY: as `bytes`, with exclusive access.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }
}

/// One control message ready to encode.
struct Part {
    level: i32,
    msg_type: i32,
    data: Payload,
}

/// A control message payload: small built-in ones stay inline (no allocation).
enum Payload {
    Inline([u8; 16], usize),
    Heap(Vec<u8>),
}

impl Payload {
    fn inline(bytes: &[u8]) -> Self {
        let mut buf = [0u8; 16];
        match buf.get_mut(..bytes.len()) {
            Some(head) => {
                head.copy_from_slice(bytes);
                Payload::Inline(buf, bytes.len())
            }
            None => Payload::Heap(bytes.to_vec()),
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Inline(buf, len) => &buf[..*len],
            Payload::Heap(v) => v,
        }
    }
}

fn is_exact<T: pyo3::PyTypeInfo>(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type().is(obj.py().get_type::<T>())
}

/// TypeError unless `obj` is a `SocketControlMessage`.
pub fn check_message(obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if obj.is_instance_of::<SocketControlMessage>() {
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "control messages must be SocketControlMessage instances, not '{}'",
        type_name(obj)
    )))
}

/// Level, type and payload of one control message object.
fn part(obj: &Bound<'_, PyAny>) -> PyResult<Part> {
    let py = obj.py();
    check_message(obj)?;
    if is_exact::<UdpSegmentMessage>(obj) {
        if !udp::gso_supported() {
            return Err(error::error(
                py,
                Code::NotSupported,
                "UDP segmentation offload (UDP_SEGMENT) is not supported by this kernel",
            ));
        }
        let m = obj.cast::<UdpSegmentMessage>()?;
        return Ok(Part {
            level: libc::SOL_UDP,
            msg_type: UDP_SEGMENT,
            data: Payload::inline(&m.get().payload()),
        });
    }
    if is_exact::<UnixFDMessage>(obj) {
        let m = obj.cast::<UnixFDMessage>()?;
        return Ok(Part {
            level: libc::SOL_SOCKET,
            msg_type: libc::SCM_RIGHTS,
            data: Payload::Heap(m.get().payload()?),
        });
    }
    if is_exact::<UnixCredentialsMessage>(obj) {
        let m = obj.cast::<UnixCredentialsMessage>()?;
        return Ok(Part {
            level: libc::SOL_SOCKET,
            msg_type: libc::SCM_CREDENTIALS,
            data: Payload::inline(&m.get().payload(py)),
        });
    }
    if is_exact::<SocketControlMessage>(obj) {
        let m = obj.cast::<SocketControlMessage>()?;
        let (level, msg_type, data) = m.get().parts();
        return Ok(Part {
            level,
            msg_type,
            data: Payload::Heap(data.to_vec()),
        });
    }
    // A Python subclass: ask its methods.
    let level: i32 = obj.call_method0("get_level")?.extract()?;
    let msg_type: i32 = obj.call_method0("get_msg_type")?.extract()?;
    let payload = obj.call_method0("serialize")?;
    let data = ReadBuf::new(&payload)
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "{}.serialize() must return bytes, not '{}'",
                type_name(obj),
                type_name(&payload)
            ))
        })?
        .as_slice()
        .to_vec();
    Ok(Part {
        level,
        msg_type,
        data: Payload::Heap(data),
    })
}

/// The control message objects of `messages` (None, one message, or a sequence of them).
pub fn message_list<'py>(messages: Option<&Bound<'py, PyAny>>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let Some(messages) = messages else {
        return Ok(Vec::new());
    };
    if messages.is_none() {
        return Ok(Vec::new());
    }
    if messages.is_instance_of::<SocketControlMessage>() {
        return Ok(vec![messages.clone()]);
    }
    if let Ok(list) = messages.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = messages.cast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    messages
        .try_iter()
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "control messages must be a sequence of SocketControlMessage, not '{}'",
                type_name(messages)
            ))
        })?
        .collect()
}

/// Encode control message objects into one aligned buffer (empty if there are none).
pub fn encode(messages: &[Bound<'_, PyAny>]) -> PyResult<ControlBuf> {
    match messages {
        [] => Ok(ControlBuf::empty()),
        [one] => Ok(write(&[part(one)?])),
        many => Ok(write(&many.iter().map(part).collect::<PyResult<Vec<_>>>()?)),
    }
}

/// Encode the control messages given to a send call (None, one message, or a sequence),
/// without collecting a one-element list first.
pub fn encode_arg(messages: Option<&Bound<'_, PyAny>>) -> PyResult<ControlBuf> {
    if let Some(m) = messages {
        if let Ok(list) = m.cast::<PyList>() {
            if list.len() == 1 {
                return Ok(write(&[part(&list.get_item(0)?)?]));
            }
        } else if m.is_instance_of::<SocketControlMessage>() {
            return Ok(write(&[part(m)?]));
        }
    }
    encode(&message_list(messages)?)
}

fn write(parts: &[Part]) -> ControlBuf {
    let total = parts.iter().map(|p| cmsg_space(p.data.len())).sum();
    let mut buf = ControlBuf::with_len(total);
    let bytes = buf.bytes_mut();
    let mut off = 0;
    for p in parts {
        let hdr = libc::cmsghdr {
            cmsg_len: cmsg_len(p.data.len()) as _,
            cmsg_level: p.level,
            cmsg_type: p.msg_type,
        };
        // SAFETY: `off + HDR <= total` by construction (each part reserves cmsg_space); the
        // write is unaligned-safe.
        unsafe {
            std::ptr::write_unaligned(bytes.as_mut_ptr().add(off).cast::<libc::cmsghdr>(), hdr)
        };
        let start = off + align(HDR);
        bytes[start..start + p.data.len()].copy_from_slice(p.data.as_slice());
        off += cmsg_space(p.data.len());
    }
    buf
}

/// One received control message, its fds (SCM_RIGHTS) already owned.
struct Raw<'a> {
    level: i32,
    msg_type: i32,
    data: &'a [u8],
    fds: Vec<OwnedFd>,
}

/// Walk a received control buffer of `buf.len()` valid bytes, taking SCM_RIGHTS fds.
fn walk(buf: &[u8]) -> Vec<Raw<'_>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + HDR <= buf.len() {
        // SAFETY: `off + HDR <= buf.len()`; read_unaligned copies the header out.
        let hdr: libc::cmsghdr =
            unsafe { std::ptr::read_unaligned(buf.as_ptr().add(off).cast::<libc::cmsghdr>()) };
        let clen = hdr.cmsg_len as usize;
        if clen < cmsg_len(0) {
            break;
        }
        let start = off + align(HDR);
        let end = (off + clen).min(buf.len());
        let data = buf.get(start..end.max(start)).unwrap_or(&[]);
        let mut fds = Vec::new();
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            for chunk in data.chunks_exact(size_of::<RawFd>()) {
                let fd = RawFd::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                if fd >= 0 {
                    // SAFETY: the kernel installed this descriptor for us; nothing else owns it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        out.push(Raw {
            level: hdr.cmsg_level,
            msg_type: hdr.cmsg_type,
            data,
            fds,
        });
        off += align(clen);
    }
    out
}

/// Offer one message to the registered classes; Some(obj) if one claimed it.
fn try_registered(
    py: Python<'_>,
    classes: &[Py<pyo3::types::PyType>],
    raw: &Raw<'_>,
) -> PyResult<Option<Py<PyAny>>> {
    let data = PyBytes::new(py, raw.data);
    for cls in classes {
        let made = cls
            .bind(py)
            .call_method1("deserialize", (raw.level, raw.msg_type, &data))?;
        if made.is_none() {
            continue;
        }
        if !made.is_instance_of::<SocketControlMessage>() {
            return Err(PyTypeError::new_err(format!(
                "{}.deserialize() must return a SocketControlMessage or None, not '{}'",
                cls.bind(py).name()?,
                type_name(&made)
            )));
        }
        return Ok(Some(made.unbind()));
    }
    Ok(None)
}

fn builtin(py: Python<'_>, raw: Raw<'_>) -> PyResult<Py<PyAny>> {
    match (raw.level, raw.msg_type) {
        (libc::SOL_SOCKET, libc::SCM_RIGHTS)
            if raw.data.len().is_multiple_of(size_of::<RawFd>()) =>
        {
            Ok(UnixFDMessage::create(py, raw.fds)?.into_any().unbind())
        }
        (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => match parse_ucred(raw.data) {
            Some(cred) => Ok(UnixCredentialsMessage::create(py, &cred)?
                .into_any()
                .unbind()),
            None => generic(py, raw),
        },
        (libc::SOL_UDP, UDP_GRO) | (libc::SOL_UDP, UDP_SEGMENT) if raw.data.len() >= 2 => {
            let size = if raw.data.len() >= 4 {
                i32::from_ne_bytes([raw.data[0], raw.data[1], raw.data[2], raw.data[3]])
            } else {
                u16::from_ne_bytes([raw.data[0], raw.data[1]]) as i32
            };
            match u16::try_from(size) {
                Ok(s) if s > 0 => Ok(UdpSegmentMessage::create(py, s)?.into_any().unbind()),
                _ => generic(py, raw),
            }
        }
        _ => generic(py, raw),
    }
}

fn generic(py: Python<'_>, raw: Raw<'_>) -> PyResult<Py<PyAny>> {
    // Descriptors in a malformed SCM_RIGHTS message are closed when `raw` drops.
    let msg = SocketControlMessage::generic(raw.level, raw.msg_type, raw.data);
    Ok(Py::new(py, msg)?.into_any())
}

/// Decode a received control buffer into control message objects. Descriptors are owned by
/// the resulting `UnixFDMessage`s (or by the user class that claimed them), and closed if
/// decoding fails half-way.
pub fn decode(py: Python<'_>, buf: &[u8]) -> PyResult<Vec<Py<PyAny>>> {
    let raws = walk(buf);
    if raws.is_empty() {
        return Ok(Vec::new());
    }
    let classes = if control::any_registered() {
        control::registered(py)
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(raws.len());
    for raw in raws {
        if !classes.is_empty() {
            if let Some(obj) = try_registered(py, &classes, &raw)? {
                // The user class took the raw descriptor numbers (GIO semantics).
                raw.fds.into_iter().for_each(|fd| {
                    let _ = fd.into_raw_fd();
                });
                out.push(obj);
                continue;
            }
        }
        out.push(builtin(py, raw)?);
    }
    Ok(out)
}
