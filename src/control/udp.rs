//! `UdpSegmentMessage`: Linux UDP generic segmentation offload (GSO) on send, and the
//! segment size of a coalesced datagram (GRO) on receive. Beyond GIO.

use std::sync::OnceLock;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::SocketControlMessage;

use crate::sys::cmsg::udp_option_supported;
pub use crate::sys::cmsg::{UDP_GRO, UDP_SEGMENT};
use crate::sys::os;

/// Whether UDP GSO (`UDP_SEGMENT`) is available.
pub fn gso_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| udp_option_supported(UDP_SEGMENT))
}

/// Whether UDP GRO (`UDP_GRO`) is available.
pub fn gro_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| udp_option_supported(UDP_GRO))
}

/// `UdpSegmentMessage(segment_size)`: sent with one large buffer, the kernel splits it into
/// datagrams of `segment_size` bytes (the last may be shorter). Received (with
/// `Socket.set_udp_gro(True)`), it tells the size of the datagrams coalesced into the buffer.
#[pyclass(extends = SocketControlMessage, frozen, module = "giosocket", skip_from_py_object)]
pub struct UdpSegmentMessage {
    segment_size: u16,
}

impl UdpSegmentMessage {
    /// A received GRO segment size (as a UDP_SEGMENT message, so it can be sent on as is).
    pub fn create(py: Python<'_>, size: u16) -> PyResult<Bound<'_, Self>> {
        Bound::new(py, Self::init(size))
    }

    /// A message of `size` with its `SocketControlMessage` base (SOL_UDP, UDP_SEGMENT).
    fn init(size: u16) -> PyClassInitializer<Self> {
        PyClassInitializer::from(SocketControlMessage::header(os::SOL_UDP, UDP_SEGMENT))
            .add_subclass(UdpSegmentMessage { segment_size: size })
    }

    /// The UDP_SEGMENT payload (u16, native order).
    pub fn payload(&self) -> [u8; 2] {
        self.segment_size.to_ne_bytes()
    }

    /// The segment size.
    pub fn segment_size(&self) -> u16 {
        self.segment_size
    }
}

#[pymethods]
impl UdpSegmentMessage {
    /// `UdpSegmentMessage(segment_size)` with 1 <= segment_size <= 65535.
    #[new]
    fn py_new(segment_size: i64) -> PyResult<PyClassInitializer<Self>> {
        let size = u16::try_from(segment_size)
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "segment_size must be in range(1, 65536), not {segment_size}"
                ))
            })?;
        Ok(Self::init(size))
    }

    /// Whether the kernel supports UDP GSO (sending this message).
    #[staticmethod]
    fn is_supported() -> bool {
        gso_supported()
    }

    /// The segment size in bytes.
    fn get_segment_size(&self) -> u16 {
        self.segment_size
    }

    /// The segment size in bytes.
    #[getter(segment_size)]
    fn prop_segment_size(&self) -> u16 {
        self.segment_size
    }

    /// Size of the serialized data (2).
    fn get_size(&self) -> usize {
        2
    }

    /// The segment size as a native u16 (the UDP_SEGMENT payload).
    fn serialize<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.payload())
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.UdpSegmentMessage segment_size={}>",
            self.segment_size
        )
    }
}
