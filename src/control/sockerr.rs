//! `SocketErrorMessage`: an error from the socket's error queue (IP_RECVERR /
//! IPV6_RECVERR), read with `receive_message(..., flags=MSG_ERRQUEUE)` once
//! `Socket.set_receive_errors(True)` is on. For ICMP errors it names the node that reported
//! the error ("port unreachable from 192.0.2.1") instead of a bare errno on the next call.

use pyo3::prelude::*;
use socket2::SockAddr;

use super::SocketControlMessage;
use crate::address::{sockaddr_from_py, sockaddr_to_py};
use crate::error::{self, code_from_errno};
use crate::sys::cmsg::{as_bytes, sockaddr_bytes, ExtendedError};
use crate::sys::os;

/// The `SO_EE_ORIGIN_*` constants, exported as `giosocket.SO_EE_ORIGIN_*`.
pub const ORIGINS: &[(&str, u8)] = &[
    ("SO_EE_ORIGIN_NONE", os::SO_EE_ORIGIN_NONE),
    ("SO_EE_ORIGIN_LOCAL", os::SO_EE_ORIGIN_LOCAL),
    ("SO_EE_ORIGIN_ICMP", os::SO_EE_ORIGIN_ICMP),
    ("SO_EE_ORIGIN_ICMP6", os::SO_EE_ORIGIN_ICMP6),
    ("SO_EE_ORIGIN_TXSTATUS", os::SO_EE_ORIGIN_TXSTATUS),
];

/// Add the `SO_EE_ORIGIN_*` constants to the module.
pub fn add_origins(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for (name, value) in ORIGINS {
        m.add(*name, *value)?;
    }
    Ok(())
}

/// What an ICMP (v4 or v6) type/code pair means, in words.
fn icmp_text(origin: u8, icmp_type: u8, code: u8) -> String {
    let known = match (origin, icmp_type, code) {
        (os::SO_EE_ORIGIN_ICMP, 3, 0) => "network unreachable",
        (os::SO_EE_ORIGIN_ICMP, 3, 1) => "host unreachable",
        (os::SO_EE_ORIGIN_ICMP, 3, 2) => "protocol unreachable",
        (os::SO_EE_ORIGIN_ICMP, 3, 3) => "port unreachable",
        (os::SO_EE_ORIGIN_ICMP, 3, 4) => "fragmentation needed",
        (os::SO_EE_ORIGIN_ICMP, 3, 13) => "communication administratively prohibited",
        (os::SO_EE_ORIGIN_ICMP, 11, _) => "time exceeded",
        (os::SO_EE_ORIGIN_ICMP6, 1, 0) => "no route to destination",
        (os::SO_EE_ORIGIN_ICMP6, 1, 1) => "communication administratively prohibited",
        (os::SO_EE_ORIGIN_ICMP6, 1, 3) => "address unreachable",
        (os::SO_EE_ORIGIN_ICMP6, 1, 4) => "port unreachable",
        (os::SO_EE_ORIGIN_ICMP6, 2, _) => "packet too big",
        (os::SO_EE_ORIGIN_ICMP6, 3, _) => "time exceeded",
        (os::SO_EE_ORIGIN_LOCAL, _, _) => "local error",
        _ => "",
    };
    if known.is_empty() {
        format!("error (origin {origin}, type {icmp_type}, code {code})")
    } else {
        known.to_string()
    }
}

/// One entry of the socket error queue (IP_RECVERR / IPV6_RECVERR), e.g. an ICMP error.
///
/// `SocketErrorMessage(errno, origin, type, code, info=0, offender=None)`. `errno` and the matching `error` (a `giosocket.Error`, e.g.
/// CONNECTION_REFUSED for an ICMP port unreachable), `origin` (`SO_EE_ORIGIN_*`), `type`
/// and `code` (ICMP's for ICMP origins), `info` (e.g. the path MTU), `offender` (the node
/// that reported it) and `original_destination` (where the failed datagram was going).
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct SocketErrorMessage {
    errno: i32,
    origin: u8,
    icmp_type: u8,
    code: u8,
    info: u32,
    offender: Option<SockAddr>,
    original_destination: Option<SockAddr>,
}

fn header(origin: u8) -> SocketControlMessage {
    if origin == os::SO_EE_ORIGIN_ICMP6 {
        SocketControlMessage::header(os::IPPROTO_IPV6, os::IPV6_RECVERR)
    } else {
        SocketControlMessage::header(os::IPPROTO_IP, os::IP_RECVERR)
    }
}

impl SocketErrorMessage {
    fn init(me: SocketErrorMessage) -> PyClassInitializer<Self> {
        PyClassInitializer::from(header(me.origin)).add_subclass(me)
    }

    /// A received message; `original_destination` is the `msg_name` of the error read.
    pub fn create(
        py: Python<'_>,
        ee: ExtendedError,
        original_destination: Option<SockAddr>,
    ) -> PyResult<Bound<'_, Self>> {
        Bound::new(
            py,
            Self::init(SocketErrorMessage {
                errno: ee.errno,
                origin: ee.origin,
                icmp_type: ee.icmp_type,
                code: ee.code,
                info: ee.info,
                offender: ee.offender,
                original_destination,
            }),
        )
    }

    fn describe(&self) -> String {
        let what = icmp_text(self.origin, self.icmp_type, self.code);
        match self.offender.as_ref().and_then(|a| a.as_socket()) {
            Some(a) => format!("{what} from {}", a.ip()),
            None => what,
        }
    }
}

#[pymethods]
impl SocketErrorMessage {
    /// `SocketErrorMessage(errno, origin, type, code, info=0, offender=None)`.
    #[new]
    #[pyo3(signature = (errno, origin, r#type, code, info = 0, offender = None))]
    fn py_new(
        errno: i32,
        origin: u8,
        r#type: u8,
        code: u8,
        info: u32,
        offender: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let offender = offender
            .filter(|o| !o.is_none())
            .map(sockaddr_from_py)
            .transpose()?;
        Ok(Self::init(SocketErrorMessage {
            errno,
            origin,
            icmp_type: r#type,
            code,
            info,
            offender,
            original_destination: None,
        }))
    }

    /// The error number (e.g. `errno.ECONNREFUSED`).
    #[getter(errno)]
    fn prop_errno(&self) -> i32 {
        self.errno
    }

    /// Where the error came from: one of `giosocket.SO_EE_ORIGIN_*`.
    #[getter(origin)]
    fn prop_origin(&self) -> u8 {
        self.origin
    }

    /// The ICMP type (ICMP origins), else the kernel's `ee_type`.
    #[getter(r#type)]
    fn prop_type(&self) -> u8 {
        self.icmp_type
    }

    /// The ICMP code (ICMP origins), else the kernel's `ee_code`.
    #[getter(code)]
    fn prop_code(&self) -> u8 {
        self.code
    }

    /// Extra information (`ee_info`: the next-hop MTU for "fragmentation needed").
    #[getter(info)]
    fn prop_info(&self) -> u32 {
        self.info
    }

    /// The node that reported the error (None if unknown).
    #[getter(offender)]
    fn prop_offender(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.offender {
            Some(a) => sockaddr_to_py(py, a),
            None => Ok(None),
        }
    }

    /// The destination of the datagram that failed (None if unknown).
    #[getter(original_destination)]
    fn prop_original_destination(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.original_destination {
            Some(a) => sockaddr_to_py(py, a),
            None => Ok(None),
        }
    }

    /// The matching `giosocket.Error` (code from the errno, message naming the offender).
    #[getter(error)]
    fn prop_error(&self, py: Python<'_>) -> Py<PyAny> {
        let message = format!("{}: {}", self.describe(), error::strerror(self.errno));
        let err = error::gio_error(py, code_from_errno(self.errno), message, Some(self.errno));
        err.into_value(py).into_any()
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.SocketErrorMessage errno={} origin={} type={} code={} ({})>",
            self.errno,
            self.origin,
            self.icmp_type,
            self.code,
            self.describe()
        )
    }
}

impl SocketErrorMessage {
    fn payload(&self) -> Vec<u8> {
        let ee = os::sock_extended_err {
            ee_errno: self.errno as u32,
            ee_origin: self.origin,
            ee_type: self.icmp_type,
            ee_code: self.code,
            ee_pad: 0,
            ee_info: self.info,
            ee_data: 0,
        };
        let mut out = as_bytes(&ee).to_vec();
        match &self.offender {
            Some(a) => out.extend_from_slice(sockaddr_bytes(a)),
            // AF_UNSPEC: no offender.
            None => out.extend_from_slice(&[0u8; 16]),
        }
        out
    }
}

super::payload_methods!(
    SocketErrorMessage,
    "Size of the serialized data (`sock_extended_err` plus the offender address).",
    "The native `sock_extended_err` followed by the offender's `sockaddr`."
);
