//! Control-message (cmsg) glue between Python objects and the codec in `sys::cmsg`.
//!
//! Encoding turns `SocketControlMessage` objects (and `OutputMessage`'s metadata keywords)
//! into one aligned control buffer: built-in classes are serialized natively, Python
//! subclasses through their `get_level()`, `get_msg_type()` and `serialize()` methods, and
//! raw data of the kinds the crate knows is checked before it can reach the kernel.
//! Decoding walks a received control buffer (a truncated one, MSG_CTRUNC, is fine), takes
//! ownership of every SCM_RIGHTS descriptor first (so an error half-way can never leak one),
//! then builds the Python objects: registered user classes first, then the built-ins, else a
//! generic `SocketControlMessage` carrying level, type and raw data.

use std::net::IpAddr;
use std::os::fd::{IntoRawFd, OwnedFd};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use socket2::SockAddr;

use crate::buffer::ReadBuf;
use crate::control::creds::{parse_ucred, UnixCredentialsMessage};
use crate::control::fd::UnixFDMessage;
use crate::control::ip::{
    as_v4, DropCountMessage, PacketInfoMessage, TimestampMessage, TrafficClassMessage,
};
use crate::control::sockerr::SocketErrorMessage;
use crate::control::udp::{self, UdpSegmentMessage};
use crate::control::{self, SocketControlMessage};
use crate::error::{self, Code};
pub use crate::sys::cmsg::ControlBuf;
use crate::sys::cmsg::{self as codec, Cmsg, Encoder, UDP_GRO, UDP_SEGMENT};
use crate::sys::os;
use crate::vectors::type_name;

/// Control buffer size that fits SCM_MAX_FD descriptors plus credentials and a few more.
pub const RECV_SPACE: usize = 2048;

/// Which IP family's control messages a send needs (IPv4 ones also serve v4-mapped
/// destinations of a dual-stack socket, as the kernel routes those through IPv4).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An IPv4 (or v4-mapped) destination, or an IPv4 socket's connected peer.
    V4,
    /// An IPv6 destination.
    V6,
    /// An IPv6 socket's connected peer: either family.
    Either,
}

/// The target of a send to `dest` (None: the connected peer) on a socket of `family`.
pub fn target(dest: Option<&SockAddr>, family: i32) -> Target {
    match dest.and_then(|d| d.as_socket()) {
        Some(std::net::SocketAddr::V4(_)) => Target::V4,
        Some(std::net::SocketAddr::V6(a)) if a.ip().to_ipv4_mapped().is_some() => Target::V4,
        Some(std::net::SocketAddr::V6(_)) => Target::V6,
        None if family == os::AF_INET6 => Target::Either,
        None => Target::V4,
    }
}

/// Per-datagram metadata given as `OutputMessage` keywords (no message objects).
#[derive(Clone, Copy, Default)]
pub struct SendMeta {
    /// GSO segment size (0 = none).
    pub segment_size: u16,
    /// Source address (IP_PKTINFO / IPV6_PKTINFO).
    pub source: Option<IpAddr>,
    /// Traffic class byte (IP_TOS / IPV6_TCLASS).
    pub traffic_class: Option<u8>,
}

impl SendMeta {
    /// Whether any field is set.
    pub fn is_set(&self) -> bool {
        self.segment_size != 0 || self.source.is_some() || self.traffic_class.is_some()
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
    Inline([u8; 24], usize),
    Heap(Vec<u8>),
}

impl Payload {
    fn inline(bytes: &[u8]) -> Self {
        let mut buf = [0u8; 24];
        match buf.get_mut(..bytes.len()) {
            Some(head) => {
                head.copy_from_slice(bytes);
                Payload::Inline(buf, bytes.len())
            }
            None => Payload::Heap(bytes.to_vec()),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Inline(buf, len) => buf.get(..*len).unwrap_or(buf),
            Payload::Heap(v) => v,
        }
    }
}

impl Part {
    fn new(level: i32, msg_type: i32, data: &[u8]) -> Self {
        Part {
            level,
            msg_type,
            data: Payload::inline(data),
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

fn gso_part(py: Python<'_>, size: u16) -> PyResult<Part> {
    if !udp::gso_supported() {
        return Err(error::error(
            py,
            Code::NotSupported,
            "UDP segmentation offload (UDP_SEGMENT) is not supported by this kernel",
        ));
    }
    Ok(Part::new(os::SOL_UDP, UDP_SEGMENT, &size.to_ne_bytes()))
}

/// The packet-info message(s) choosing `source` and/or `index` for a send to `target`.
fn pktinfo_parts(
    source: Option<IpAddr>,
    index: u32,
    target: Target,
    out: &mut Vec<Part>,
) -> PyResult<()> {
    let v4_source = source.and_then(as_v4);
    let v4 = match (source, target) {
        (Some(_), Target::V6) if v4_source.is_some() => {
            return Err(PyValueError::new_err(
                "an IPv4 source address cannot be used for a send to an IPv6 destination",
            ))
        }
        (Some(_), Target::V4) if v4_source.is_none() => {
            return Err(PyValueError::new_err(
                "an IPv6 source address cannot be used for a send to an IPv4 destination",
            ))
        }
        (Some(_), _) => v4_source.is_some(),
        (None, t) => t == Target::V4,
    };
    if v4 {
        let info = codec::pktinfo_v4(v4_source, index);
        out.push(Part::new(
            os::IPPROTO_IP,
            os::IP_PKTINFO,
            codec::as_bytes(&info),
        ));
    } else {
        let src = match source {
            Some(IpAddr::V6(a)) => Some(a),
            _ => None,
        };
        let info = codec::pktinfo_v6(src, index);
        out.push(Part::new(
            os::IPPROTO_IPV6,
            os::IPV6_PKTINFO,
            codec::as_bytes(&info),
        ));
    }
    Ok(())
}

/// The traffic-class message(s) for a send to `target` (both families when it may be
/// either: each family's stack ignores the other's).
fn tclass_parts(value: u8, target: Target, out: &mut Vec<Part>) {
    let int = i32::from(value).to_ne_bytes();
    if target != Target::V6 {
        out.push(Part::new(os::IPPROTO_IP, os::IP_TOS, &int));
    }
    if target != Target::V4 {
        out.push(Part::new(os::IPPROTO_IPV6, os::IPV6_TCLASS, &int));
    }
}

/// The parts of `OutputMessage`'s metadata keywords.
fn meta_parts(
    py: Python<'_>,
    meta: &SendMeta,
    target: Target,
    out: &mut Vec<Part>,
) -> PyResult<()> {
    if meta.segment_size != 0 {
        out.push(gso_part(py, meta.segment_size)?);
    }
    if meta.source.is_some() {
        pktinfo_parts(meta.source, 0, target, out)?;
    }
    if let Some(t) = meta.traffic_class {
        tclass_parts(t, target, out);
    }
    Ok(())
}

/// ValueError unless raw control data of a kind the crate knows is well-formed for sending
/// (other kinds go to the kernel as given).
fn check_raw(level: i32, msg_type: i32, data: &[u8]) -> PyResult<()> {
    let int = || codec::read::<i32>(data).filter(|_| data.len() == 4);
    let problem = match (level, msg_type) {
        (os::IPPROTO_IP, os::IP_PKTINFO) if data.len() != 12 => {
            "IP_PKTINFO data must be a 12-byte struct in_pktinfo"
        }
        (os::IPPROTO_IPV6, os::IPV6_PKTINFO) if data.len() != 20 => {
            "IPV6_PKTINFO data must be a 20-byte struct in6_pktinfo"
        }
        (os::IPPROTO_IP, os::IP_TOS)
            if data.len() != 1 && !int().is_some_and(|v| (0..=255).contains(&v)) =>
        {
            "IP_TOS data must be one byte or an int in range(0, 256)"
        }
        (os::IPPROTO_IPV6, os::IPV6_TCLASS) if !int().is_some_and(|v| (-1..=255).contains(&v)) => {
            "IPV6_TCLASS data must be an int in range(-1, 256)"
        }
        (os::SOL_UDP, UDP_SEGMENT) if data.len() != 2 || codec::read::<u16>(data) == Some(0) => {
            "UDP_SEGMENT data must be a non-zero native u16"
        }
        (os::SOL_SOCKET, os::SCM_TIMESTAMPNS)
        | (os::SOL_SOCKET, os::SO_RXQ_OVFL)
        | (os::IPPROTO_IP, os::IP_RECVERR)
        | (os::IPPROTO_IPV6, os::IPV6_RECVERR) => {
            "timestamps, drop counts and socket errors are receive-only control messages"
        }
        _ => return Ok(()),
    };
    Err(PyValueError::new_err(problem))
}

/// Level, type and payload of one control message object, for a send to `target`.
fn parts(obj: &Bound<'_, PyAny>, target: Target, out: &mut Vec<Part>) -> PyResult<()> {
    let py = obj.py();
    check_message(obj)?;
    if is_exact::<UdpSegmentMessage>(obj) {
        let m = obj.cast::<UdpSegmentMessage>()?;
        out.push(gso_part(py, m.get().segment_size())?);
        return Ok(());
    }
    if is_exact::<TrafficClassMessage>(obj) {
        tclass_parts(
            obj.cast::<TrafficClassMessage>()?.get().value(),
            target,
            out,
        );
        return Ok(());
    }
    if is_exact::<PacketInfoMessage>(obj) {
        let (source, index) = obj.cast::<PacketInfoMessage>()?.get().send_parts();
        return pktinfo_parts(source, index, target, out);
    }
    if is_exact::<TimestampMessage>(obj)
        || is_exact::<DropCountMessage>(obj)
        || is_exact::<SocketErrorMessage>(obj)
    {
        return Err(PyValueError::new_err(format!(
            "{} is a receive-only control message",
            type_name(obj)
        )));
    }
    if is_exact::<UnixFDMessage>(obj) {
        let m = obj.cast::<UnixFDMessage>()?;
        out.push(Part {
            level: os::SOL_SOCKET,
            msg_type: os::SCM_RIGHTS,
            data: Payload::Heap(m.get().payload()?),
        });
        return Ok(());
    }
    if is_exact::<UnixCredentialsMessage>(obj) {
        let m = obj.cast::<UnixCredentialsMessage>()?;
        out.push(Part::new(
            os::SOL_SOCKET,
            os::SCM_CREDENTIALS,
            &m.get().payload(py),
        ));
        return Ok(());
    }
    if is_exact::<SocketControlMessage>(obj) {
        let m = obj.cast::<SocketControlMessage>()?;
        let (level, msg_type, data) = m.get().parts();
        check_raw(level, msg_type, data)?;
        out.push(Part {
            level,
            msg_type,
            data: Payload::Heap(data.to_vec()),
        });
        return Ok(());
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
    check_raw(level, msg_type, &data)?;
    out.push(Part {
        level,
        msg_type,
        data: Payload::Heap(data),
    });
    Ok(())
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

/// Encode `OutputMessage` metadata and control message objects for a send to `target`
/// into one aligned buffer (empty if there is nothing).
pub fn encode(
    py: Python<'_>,
    meta: &SendMeta,
    messages: &[Bound<'_, PyAny>],
    target: Target,
) -> PyResult<ControlBuf> {
    if messages.is_empty() && !meta.is_set() {
        return Ok(ControlBuf::empty());
    }
    let mut out = Vec::with_capacity(messages.len() + 3);
    meta_parts(py, meta, target, &mut out)?;
    for m in messages {
        parts(m, target, &mut out)?;
    }
    write(&out)
}

/// Encode the control messages given to a send call (None, one message, or a sequence),
/// without collecting a one-element list first.
pub fn encode_arg(messages: Option<&Bound<'_, PyAny>>, target: Target) -> PyResult<ControlBuf> {
    let mut out = Vec::new();
    if let Some(m) = messages {
        if let Ok(list) = m.cast::<PyList>() {
            if list.len() == 1 {
                parts(&list.get_item(0)?, target, &mut out)?;
                return write(&out);
            }
        } else if m.is_instance_of::<SocketControlMessage>() {
            parts(m, target, &mut out)?;
            return write(&out);
        }
    }
    let list = message_list(messages)?;
    if list.is_empty() {
        return Ok(ControlBuf::empty());
    }
    for m in &list {
        parts(m, target, &mut out)?;
    }
    write(&out)
}

fn write(parts: &[Part]) -> PyResult<ControlBuf> {
    let total = parts
        .iter()
        .map(|p| codec::space(p.data.as_slice().len()))
        .sum();
    let mut buf = ControlBuf::with_len(total);
    let mut enc = Encoder::new(&mut buf);
    for p in parts {
        if !enc.push(p.level, p.msg_type, p.data.as_slice()) {
            return Err(PyValueError::new_err("control messages too large"));
        }
    }
    enc.finish();
    Ok(buf)
}

/// One received control message, its fds (SCM_RIGHTS) already owned.
struct Raw<'a> {
    cmsg: Cmsg<'a>,
    fds: Vec<OwnedFd>,
}

/// Walk a received control buffer, taking SCM_RIGHTS fds.
fn walk(buf: &ControlBuf, len: usize) -> Vec<Raw<'_>> {
    buf.iter(len)
        .map(|cmsg| {
            let fds = if (cmsg.level, cmsg.msg_type) == (os::SOL_SOCKET, os::SCM_RIGHTS) {
                codec::take_fds(cmsg.data)
            } else {
                Vec::new()
            };
            Raw { cmsg, fds }
        })
        .collect()
}

/// Offer one message to the registered classes; Some(obj) if one claimed it.
fn try_registered(
    py: Python<'_>,
    classes: &[Py<pyo3::types::PyType>],
    raw: &Raw<'_>,
) -> PyResult<Option<Py<PyAny>>> {
    let data = PyBytes::new(py, raw.cmsg.data);
    for cls in classes {
        let made = cls
            .bind(py)
            .call_method1("deserialize", (raw.cmsg.level, raw.cmsg.msg_type, &data))?;
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

/// The built-in object for one received message (a generic one when nothing fits).
fn builtin(py: Python<'_>, raw: Raw<'_>, name: Option<&SockAddr>) -> PyResult<Py<PyAny>> {
    let c = raw.cmsg;
    let obj = match (c.level, c.msg_type) {
        (os::SOL_SOCKET, os::SCM_RIGHTS)
            if c.data.len().is_multiple_of(std::mem::size_of::<i32>()) =>
        {
            Some(UnixFDMessage::create(py, raw.fds)?.into_any())
        }
        (os::SOL_SOCKET, os::SCM_CREDENTIALS) => parse_ucred(c.data)
            .map(|cred| UnixCredentialsMessage::create(py, &cred))
            .transpose()?
            .map(Bound::into_any),
        (os::SOL_SOCKET, os::SCM_TIMESTAMPNS) => codec::parse_timestamp(&c)
            .map(|ns| TimestampMessage::create(py, ns))
            .transpose()?
            .map(Bound::into_any),
        (os::SOL_SOCKET, os::SO_RXQ_OVFL) => codec::parse_drop_count(&c)
            .map(|n| DropCountMessage::create(py, n))
            .transpose()?
            .map(Bound::into_any),
        (os::SOL_UDP, UDP_GRO) | (os::SOL_UDP, UDP_SEGMENT) => codec::parse_segment_size(&c)
            .map(|s| UdpSegmentMessage::create(py, s))
            .transpose()?
            .map(Bound::into_any),
        (os::IPPROTO_IP, os::IP_PKTINFO) | (os::IPPROTO_IPV6, os::IPV6_PKTINFO) => {
            let v6 = c.level == os::IPPROTO_IPV6;
            let spec_dst = codec::read::<os::in_pktinfo>(c.data)
                .filter(|_| !v6)
                .map(|p| IpAddr::from(p.ipi_spec_dst.s_addr.to_ne_bytes()));
            codec::parse_pktinfo(&c)
                .map(|(ip, index)| PacketInfoMessage::create(py, ip, spec_dst, index, v6))
                .transpose()?
                .map(Bound::into_any)
        }
        (os::IPPROTO_IP, os::IP_TOS) | (os::IPPROTO_IPV6, os::IPV6_TCLASS) => {
            codec::parse_tclass(&c)
                .map(|v| TrafficClassMessage::create(py, v, c.level == os::IPPROTO_IPV6))
                .transpose()?
                .map(Bound::into_any)
        }
        (os::IPPROTO_IP, os::IP_RECVERR) | (os::IPPROTO_IPV6, os::IPV6_RECVERR) => {
            codec::parse_extended_error(&c)
                .map(|ee| SocketErrorMessage::create(py, ee, name.cloned()))
                .transpose()?
                .map(Bound::into_any)
        }
        _ => None,
    };
    match obj {
        Some(o) => Ok(o.unbind()),
        // Descriptors in a malformed SCM_RIGHTS message are closed when `raw` drops.
        None => Ok(Py::new(
            py,
            SocketControlMessage::generic(c.level, c.msg_type, c.data),
        )?
        .into_any()),
    }
}

/// Decode the first `len` bytes of a received control buffer into control message objects.
/// `name` is the datagram's address (for an error-queue read: the failed datagram's
/// destination). Descriptors are owned by the resulting `UnixFDMessage`s (or by the user
/// class that claimed them), and closed if decoding fails half-way.
pub fn decode(
    py: Python<'_>,
    buf: &ControlBuf,
    len: usize,
    name: Option<&SockAddr>,
) -> PyResult<Vec<Py<PyAny>>> {
    let raws = walk(buf, len);
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
        out.push(builtin(py, raw, name)?);
    }
    Ok(out)
}
