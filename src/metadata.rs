//! The UDP packet metadata switches (beyond GIO): `set_receive_packet_info`,
//! `set_receive_traffic_class`, `set_receive_timestamps`, `set_receive_drop_count` and
//! `set_receive_errors`. Each turns on one kind of per-datagram control message (see
//! `control::ip` / `control::sockerr`), for IPv4 and IPv6; on a dual-stack IPv6 socket the
//! IPv4 twin is switched too, so v4-mapped traffic carries the same metadata.

use pyo3::prelude::*;

use crate::error::{self, Code};
use crate::socket::{Socket, TYPE_DATAGRAM};
use crate::sys;
use crate::sys::os;

/// One switch: the socket option for each family, and its name in errors.
struct Switch {
    what: &'static str,
    v4: (i32, i32),
    v6: (i32, i32),
}

const PACKET_INFO: Switch = Switch {
    what: "packet info (IP_PKTINFO / IPV6_RECVPKTINFO)",
    v4: (os::IPPROTO_IP, os::IP_PKTINFO),
    v6: (os::IPPROTO_IPV6, os::IPV6_RECVPKTINFO),
};

const TRAFFIC_CLASS: Switch = Switch {
    what: "traffic class (IP_RECVTOS / IPV6_RECVTCLASS)",
    v4: (os::IPPROTO_IP, os::IP_RECVTOS),
    v6: (os::IPPROTO_IPV6, os::IPV6_RECVTCLASS),
};

const TIMESTAMPS: Switch = Switch {
    what: "receive timestamps (SO_TIMESTAMPNS)",
    v4: (os::SOL_SOCKET, os::SO_TIMESTAMPNS),
    v6: (os::SOL_SOCKET, os::SO_TIMESTAMPNS),
};

const DROP_COUNT: Switch = Switch {
    what: "drop counts (SO_RXQ_OVFL)",
    v4: (os::SOL_SOCKET, os::SO_RXQ_OVFL),
    v6: (os::SOL_SOCKET, os::SO_RXQ_OVFL),
};

const ERRORS: Switch = Switch {
    what: "the error queue (IP_RECVERR / IPV6_RECVERR)",
    v4: (os::IPPROTO_IP, os::IP_RECVERR),
    v6: (os::IPPROTO_IPV6, os::IPV6_RECVERR),
};

impl Socket {
    /// Turn `switch` on or off for this socket's family.
    fn set_switch(&self, py: Python<'_>, switch: &Switch, enabled: bool) -> PyResult<bool> {
        let guard = self.enter(py)?;
        let inet = matches!(self.family, os::AF_INET | os::AF_INET6);
        if !inet || self.stype != TYPE_DATAGRAM {
            return Err(error::error(
                py,
                Code::NotSupported,
                format!(
                    "Receiving {} is supported on IPv4/IPv6 datagram (UDP) sockets only",
                    switch.what
                ),
            ));
        }
        let value = i32::from(enabled);
        let context = format!("Unable to set {}", switch.what);
        let (level, name) = if self.family == os::AF_INET6 {
            switch.v6
        } else {
            switch.v4
        };
        sys::setsockopt_int(guard.fd, level, name, value)
            .map_err(|e| error::os_error(py, e, &context))?;
        if self.family == os::AF_INET6 && switch.v4 != switch.v6 {
            let v6_only = sys::getsockopt_int(guard.fd, os::IPPROTO_IPV6, os::IPV6_V6ONLY);
            if v6_only == Ok(0) {
                // v4-mapped traffic on a dual-stack socket takes the IPv4 option.
                sys::setsockopt_int(guard.fd, switch.v4.0, switch.v4.1, value)
                    .map_err(|e| error::os_error(py, e, &context))?;
            }
        }
        Ok(true)
    }
}

#[pymethods]
impl Socket {
    /// Receive each datagram's destination address and arrival interface.
    ///
    /// IP_PKTINFO / IPV6_RECVPKTINFO: `InputMessage.destination` / `interface_index`, or a
    /// `PacketInfoMessage` among the control messages. UDP sockets only (else NOT_SUPPORTED).
    fn set_receive_packet_info(&self, py: Python<'_>, enabled: bool) -> PyResult<bool> {
        self.set_switch(py, &PACKET_INFO, enabled)
    }

    /// Receive each datagram's traffic class byte (ECN + DSCP).
    ///
    /// IP_RECVTOS / IPV6_RECVTCLASS: `InputMessage.traffic_class`, or a
    /// `TrafficClassMessage`. UDP sockets only (else NOT_SUPPORTED).
    fn set_receive_traffic_class(&self, py: Python<'_>, enabled: bool) -> PyResult<bool> {
        self.set_switch(py, &TRAFFIC_CLASS, enabled)
    }

    /// Receive the kernel's receive time of each datagram.
    ///
    /// SO_TIMESTAMPNS: `InputMessage.timestamp_ns`, or a `TimestampMessage`. UDP sockets
    /// only (else NOT_SUPPORTED).
    fn set_receive_timestamps(&self, py: Python<'_>, enabled: bool) -> PyResult<bool> {
        self.set_switch(py, &TIMESTAMPS, enabled)
    }

    /// Receive the socket's running drop counter with each datagram.
    ///
    /// SO_RXQ_OVFL: the kernel attaches it once something was dropped;
    /// `InputMessage.drop_count`, or a `DropCountMessage`. UDP sockets only (else
    /// NOT_SUPPORTED).
    fn set_receive_drop_count(&self, py: Python<'_>, enabled: bool) -> PyResult<bool> {
        self.set_switch(py, &DROP_COUNT, enabled)
    }

    /// Queue ICMP and local errors on the socket's error queue.
    ///
    /// IP_RECVERR / IPV6_RECVERR: read them with `receive_message(...,
    /// flags=MSG_ERRQUEUE)` as `SocketErrorMessage`s. UDP sockets only (else NOT_SUPPORTED).
    fn set_receive_errors(&self, py: Python<'_>, enabled: bool) -> PyResult<bool> {
        self.set_switch(py, &ERRORS, enabled)
    }
}
