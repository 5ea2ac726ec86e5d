//! UDP packet metadata as control messages (beyond GIO): `PacketInfoMessage` (IP_PKTINFO /
//! IPV6_PKTINFO), `TrafficClassMessage` (IP_TOS / IPV6_TCLASS), `TimestampMessage`
//! (SCM_TIMESTAMPNS) and `DropCountMessage` (SO_RXQ_OVFL). Each is received when the
//! matching `Socket.set_receive_*` switch is on; the first two can also be sent.

use std::net::{IpAddr, Ipv4Addr};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::SocketControlMessage;
use crate::address::{ip_from_py, InetAddress};
use crate::sys::cmsg::{self as codec, as_bytes};
use crate::sys::os;

/// An IPv4 address, also from a v4-mapped IPv6 one.
pub fn as_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    }
}

/// An `InetAddress` object for `ip`.
pub fn inet_address(py: Python<'_>, ip: IpAddr) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, InetAddress { ip })?.into_any())
}

fn pktinfo_header(v6: bool) -> SocketControlMessage {
    if v6 {
        SocketControlMessage::header(os::IPPROTO_IPV6, os::IPV6_PKTINFO)
    } else {
        SocketControlMessage::header(os::IPPROTO_IP, os::IP_PKTINFO)
    }
}

/// Packet info (IP_PKTINFO / IPV6_PKTINFO): a datagram's destination and interface.
///
/// `PacketInfoMessage(source=None, interface_index=0)`: sent, it chooses the source address
/// and/or the outgoing interface of a datagram; received (`set_receive_packet_info`), it
/// tells the address the datagram was sent to (`destination`) and the interface it arrived
/// on. A received message sent back with a reply makes the reply leave from that address.
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct PacketInfoMessage {
    source: Option<IpAddr>,
    destination: Option<IpAddr>,
    interface_index: u32,
    v6: bool,
}

impl PacketInfoMessage {
    fn init(
        source: Option<IpAddr>,
        destination: Option<IpAddr>,
        interface_index: u32,
        v6: bool,
    ) -> PyClassInitializer<Self> {
        PyClassInitializer::from(pktinfo_header(v6)).add_subclass(PacketInfoMessage {
            source,
            destination,
            interface_index,
            v6,
        })
    }

    /// A received message (`spec_dst` is IPv4's local reply address; IPv6 has none).
    pub fn create(
        py: Python<'_>,
        destination: IpAddr,
        spec_dst: Option<IpAddr>,
        interface_index: u32,
        v6: bool,
    ) -> PyResult<Bound<'_, Self>> {
        let source = spec_dst.or(Some(destination));
        Bound::new(
            py,
            Self::init(source, Some(destination), interface_index, v6),
        )
    }

    /// (source, interface index) to send.
    pub fn send_parts(&self) -> (Option<IpAddr>, u32) {
        (self.source, self.interface_index)
    }

    fn payload(&self) -> Vec<u8> {
        if self.v6 {
            let src = match self.source {
                Some(IpAddr::V6(a)) => Some(a),
                Some(IpAddr::V4(a)) => Some(a.to_ipv6_mapped()),
                None => None,
            };
            as_bytes(&codec::pktinfo_v6(src, self.interface_index)).to_vec()
        } else {
            let mut info = codec::pktinfo_v4(self.source.and_then(as_v4), self.interface_index);
            if let Some(d) = self.destination.and_then(as_v4) {
                info.ipi_addr.s_addr = u32::from_ne_bytes(d.octets());
            }
            as_bytes(&info).to_vec()
        }
    }
}

#[pymethods]
impl PacketInfoMessage {
    /// `PacketInfoMessage(source=None, interface_index=0)`; `source` is an InetAddress or a
    /// numeric string. Its family picks IP_PKTINFO or IPV6_PKTINFO; without a source the
    /// destination of the send picks it.
    #[new]
    #[pyo3(signature = (source = None, interface_index = 0))]
    fn py_new(
        source: Option<&Bound<'_, PyAny>>,
        interface_index: i64,
    ) -> PyResult<PyClassInitializer<Self>> {
        let source = source
            .filter(|s| !s.is_none())
            .map(ip_from_py)
            .transpose()?;
        let index = u32::try_from(interface_index).map_err(|_| {
            PyValueError::new_err(format!(
                "interface_index must be in range(0, 2**32), not {interface_index}"
            ))
        })?;
        let v6 = matches!(source, Some(IpAddr::V6(a)) if a.to_ipv4_mapped().is_none());
        Ok(Self::init(source, None, index, v6))
    }

    /// The source address to send from (received: the local address to reply from).
    #[getter(source)]
    fn prop_source(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.source.map(|ip| inet_address(py, ip)).transpose()
    }

    /// The address the datagram was sent to (received messages; None when constructed).
    #[getter(destination)]
    fn prop_destination(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.destination.map(|ip| inet_address(py, ip)).transpose()
    }

    /// The interface index (arrival interface when received, outgoing when sent; 0 = any).
    #[getter(interface_index)]
    fn prop_interface_index(&self) -> u32 {
        self.interface_index
    }

    fn __repr__(&self) -> String {
        let show = |ip: Option<IpAddr>| ip.map_or("None".to_string(), |i| i.to_string());
        format!(
            "<giosocket.PacketInfoMessage source={} destination={} interface_index={}>",
            show(self.source),
            show(self.destination),
            self.interface_index
        )
    }
}

fn tclass_header(v6: bool) -> SocketControlMessage {
    if v6 {
        SocketControlMessage::header(os::IPPROTO_IPV6, os::IPV6_TCLASS)
    } else {
        SocketControlMessage::header(os::IPPROTO_IP, os::IP_TOS)
    }
}

/// Check a traffic class value (0..=255).
pub fn tclass_value(value: i64) -> PyResult<u8> {
    u8::try_from(value).map_err(|_| {
        PyValueError::new_err(format!(
            "traffic class must be in range(0, 256), not {value}"
        ))
    })
}

/// The IPv4 TOS / IPv6 traffic class byte of a datagram (ECN + DSCP).
///
/// `TrafficClassMessage(value)`: ECN in the low two
/// bits (`ecn`: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE), DSCP in the upper six (`dscp`). Sent,
/// it sets IP_TOS / IPV6_TCLASS for that datagram (the destination picks which); received
/// with `set_receive_traffic_class(True)`.
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct TrafficClassMessage {
    value: u8,
    v6: bool,
}

impl TrafficClassMessage {
    /// A received message.
    pub fn create(py: Python<'_>, value: u8, v6: bool) -> PyResult<Bound<'_, Self>> {
        Bound::new(
            py,
            PyClassInitializer::from(tclass_header(v6))
                .add_subclass(TrafficClassMessage { value, v6 }),
        )
    }

    /// The byte to send.
    pub fn value(&self) -> u8 {
        self.value
    }

    fn payload(&self) -> Vec<u8> {
        if self.v6 {
            i32::from(self.value).to_ne_bytes().to_vec()
        } else {
            vec![self.value]
        }
    }
}

#[pymethods]
impl TrafficClassMessage {
    /// `TrafficClassMessage(value)` with 0 <= value <= 255 (e.g. 2 = ECT(0)).
    #[new]
    fn py_new(value: i64) -> PyResult<PyClassInitializer<Self>> {
        let value = tclass_value(value)?;
        Ok(PyClassInitializer::from(tclass_header(false))
            .add_subclass(TrafficClassMessage { value, v6: false }))
    }

    /// The whole byte (DSCP << 2 | ECN).
    #[getter(value)]
    fn prop_value(&self) -> u8 {
        self.value
    }

    /// The ECN codepoint (`value & 3`).
    #[getter(ecn)]
    fn prop_ecn(&self) -> u8 {
        self.value & 3
    }

    /// The DSCP (`value >> 2`).
    #[getter(dscp)]
    fn prop_dscp(&self) -> u8 {
        self.value >> 2
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.TrafficClassMessage value={:#04x} ecn={} dscp={}>",
            self.value,
            self.value & 3,
            self.value >> 2
        )
    }
}

/// When the kernel received a datagram (SO_TIMESTAMPNS).
///
/// `TimestampMessage(ns)`: the time in CLOCK_REALTIME nanoseconds (`ns`) and seconds (`seconds`, a float, as `time.time()`).
/// Received with `set_receive_timestamps(True)`; receive-only.
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct TimestampMessage {
    ns: i64,
}

impl TimestampMessage {
    fn init(ns: i64) -> PyClassInitializer<Self> {
        PyClassInitializer::from(SocketControlMessage::header(
            os::SOL_SOCKET,
            os::SCM_TIMESTAMPNS,
        ))
        .add_subclass(TimestampMessage { ns })
    }

    /// A received message.
    pub fn create(py: Python<'_>, ns: i64) -> PyResult<Bound<'_, Self>> {
        Bound::new(py, Self::init(ns))
    }

    fn payload(&self) -> Vec<u8> {
        let ts = os::timespec {
            tv_sec: self.ns.div_euclid(1_000_000_000) as _,
            tv_nsec: self.ns.rem_euclid(1_000_000_000) as _,
        };
        as_bytes(&ts).to_vec()
    }
}

#[pymethods]
impl TimestampMessage {
    /// `TimestampMessage(ns)`: a timestamp in CLOCK_REALTIME nanoseconds.
    #[new]
    fn py_new(ns: i64) -> PyClassInitializer<Self> {
        Self::init(ns)
    }

    /// Nanoseconds since the epoch (CLOCK_REALTIME).
    #[getter(ns)]
    fn prop_ns(&self) -> i64 {
        self.ns
    }

    /// Seconds since the epoch, as a float (compare with `time.time()`).
    #[getter(seconds)]
    fn prop_seconds(&self) -> f64 {
        self.ns as f64 / 1e9
    }

    fn __repr__(&self) -> String {
        format!("<giosocket.TimestampMessage ns={}>", self.ns)
    }
}

/// The kernel's running count of datagrams dropped for this socket (SO_RXQ_OVFL).
///
/// `DropCountMessage(count)`: the counter, attached after the first drop once
/// `set_receive_drop_count(True)` is on. The difference between two counts is what was lost in between. Receive-only.
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct DropCountMessage {
    count: u32,
}

impl DropCountMessage {
    fn payload(&self) -> [u8; 4] {
        self.count.to_ne_bytes()
    }

    fn init(count: u32) -> PyClassInitializer<Self> {
        PyClassInitializer::from(SocketControlMessage::header(
            os::SOL_SOCKET,
            os::SO_RXQ_OVFL,
        ))
        .add_subclass(DropCountMessage { count })
    }

    /// A received message.
    pub fn create(py: Python<'_>, count: u32) -> PyResult<Bound<'_, Self>> {
        Bound::new(py, Self::init(count))
    }
}

#[pymethods]
impl DropCountMessage {
    /// `DropCountMessage(count)` with 0 <= count < 2**32.
    #[new]
    fn py_new(count: i64) -> PyResult<PyClassInitializer<Self>> {
        let count = u32::try_from(count).map_err(|_| {
            PyValueError::new_err(format!("count must be in range(0, 2**32), not {count}"))
        })?;
        Ok(Self::init(count))
    }

    /// Datagrams dropped for this socket so far (the kernel's counter; it wraps at 2**32).
    #[getter(count)]
    fn prop_count(&self) -> u32 {
        self.count
    }

    fn __repr__(&self) -> String {
        format!("<giosocket.DropCountMessage count={}>", self.count)
    }
}

super::payload_methods!(
    PacketInfoMessage,
    "Size of the serialized data (12 for IPv4, 20 for IPv6).",
    "The native `in_pktinfo` / `in6_pktinfo`."
);

super::payload_methods!(
    TrafficClassMessage,
    "Size of the serialized data (1 for IP_TOS, 4 for IPV6_TCLASS).",
    "The native payload (a byte for IP_TOS, an int for IPV6_TCLASS)."
);

super::payload_methods!(
    TimestampMessage,
    "Size of the serialized data (a `struct timespec`).",
    "The native `struct timespec`."
);

super::payload_methods!(
    DropCountMessage,
    "Size of the serialized data (4).",
    "The counter as a native u32."
);
