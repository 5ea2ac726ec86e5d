//! giosocket's native module: GLib's GSocket for Python. Registration only; each concern
//! lives in its own module (see DESIGN.md).

mod address;
mod aio;
// Native reference loops for benches/run.py; release wheels are built without this feature.
#[cfg(feature = "bench")]
mod bench;
mod buffer;
mod cancellable;
mod cmsg;
mod connection;
mod control;
mod credentials;
mod engine;
mod enum_arg;
mod enums;
mod error;
mod finalize;
mod gsource;
mod io;
mod lifecycle;
mod messages;
mod metadata;
mod multicast;
mod options;
mod socket;
mod sys;
mod vectors;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

/// `_init(...)`: the Python pieces the crate needs, handed over once by
/// `giosocket/__init__.py` (the native module never imports its own package):
/// the error classes and `IOErrorEnum` members, the enum classes, the connection factory,
/// a loader for `giosocket.aio` (imported when a coroutine is first made) and the
/// `create_source` builder (which imports PyGObject only when first called).
#[pyfunction]
#[pyo3(name = "_init", signature = (*, error, error_classes, broken_pipe, codes, enums, create_connection, load_aio, create_source))]
#[allow(clippy::too_many_arguments)]
fn init(
    py: Python<'_>,
    error: &Bound<'_, PyType>,
    error_classes: &Bound<'_, PyDict>,
    broken_pipe: &Bound<'_, PyType>,
    codes: &Bound<'_, PyDict>,
    enums: &Bound<'_, PyDict>,
    create_connection: &Bound<'_, PyAny>,
    load_aio: &Bound<'_, PyAny>,
    create_source: &Bound<'_, PyAny>,
) -> PyResult<()> {
    error::init(py, error, error_classes, broken_pipe, codes)?;
    enums::init(py, enums)?;
    connection::init(py, create_connection);
    aio::init(py, load_aio);
    gsource::init(py, create_source);
    Ok(())
}

#[pymodule]
fn _giosocket(m: &Bound<'_, PyModule>) -> PyResult<()> {
    sys::fork::watch();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(init, m)?)?;
    m.add_class::<cancellable::Cancellable>()?;
    m.add_class::<address::InetAddress>()?;
    m.add_class::<address::SocketAddress>()?;
    m.add_class::<address::InetSocketAddress>()?;
    m.add_class::<address::UnixSocketAddress>()?;
    m.add_class::<address::NativeSocketAddress>()?;
    m.add_class::<socket::Socket>()?;
    m.add_class::<credentials::Credentials>()?;
    m.add_class::<aio::InFlight>()?;
    m.add_class::<io::datagrams::DatagramSlots>()?;
    m.add_class::<io::send_queue::SendQueue>()?;
    m.add_class::<io::datagram_reader::DatagramReader>()?;
    m.add_function(wrap_pyfunction!(error::py_io_error_from_errno, m)?)?;
    m.add_function(wrap_pyfunction!(enums::native_constants, m)?)?;
    #[cfg(feature = "bench")]
    bench::register(m)?;
    m.add_class::<vectors::OutputVector>()?;
    m.add_class::<vectors::InputVector>()?;
    m.add_class::<messages::OutputMessage>()?;
    m.add_class::<messages::InputMessage>()?;
    m.add_class::<control::SocketControlMessage>()?;
    m.add_class::<control::fd::UnixFDMessage>()?;
    m.add_class::<control::creds::UnixCredentialsMessage>()?;
    m.add_class::<control::udp::UdpSegmentMessage>()?;
    m.add_class::<control::ip::PacketInfoMessage>()?;
    m.add_class::<control::ip::TrafficClassMessage>()?;
    m.add_class::<control::ip::TimestampMessage>()?;
    m.add_class::<control::ip::DropCountMessage>()?;
    m.add_class::<control::sockerr::SocketErrorMessage>()?;
    messages::add_flags(m)?;
    control::sockerr::add_origins(m)?;
    Ok(())
}
