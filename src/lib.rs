//! giosocket's native module: GLib's GSocket for Python. Registration only; each concern
//! lives in its own module (see DESIGN.md).

mod address;
mod aio;
mod bench;
mod buffer;
mod cancellable;
mod cmsg;
mod connection;
mod control;
mod credentials;
mod enums;
mod error;
mod io;
mod lifecycle;
mod messages;
mod metadata;
mod multicast;
mod options;
mod socket;
mod sys;
mod vectors;
mod wait;

use pyo3::prelude::*;

#[pymodule]
fn _giosocket(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<cancellable::Cancellable>()?;
    m.add_class::<address::InetAddress>()?;
    m.add_class::<address::SocketAddress>()?;
    m.add_class::<address::InetSocketAddress>()?;
    m.add_class::<address::UnixSocketAddress>()?;
    m.add_class::<socket::Socket>()?;
    m.add_class::<credentials::Credentials>()?;
    m.add_class::<aio::InFlight>()?;
    m.add_function(wrap_pyfunction!(error::py_io_error_from_errno, m)?)?;
    // Private benchmark helpers: set as attributes so they stay out of `__all__`.
    for f in [
        wrap_pyfunction!(bench::bench_udp_send, m)?,
        wrap_pyfunction!(bench::bench_udp_recv, m)?,
        wrap_pyfunction!(bench::bench_udp_recv_meta, m)?,
        wrap_pyfunction!(bench::bench_stream_send, m)?,
        wrap_pyfunction!(bench::bench_stream_recv, m)?,
        wrap_pyfunction!(bench::bench_echo, m)?,
        wrap_pyfunction!(bench::bench_pingpong, m)?,
        wrap_pyfunction!(bench::bench_build_profile, m)?,
    ] {
        m.setattr(
            f.getattr("__name__")?
                .cast_into::<pyo3::types::PyString>()?,
            &f,
        )?;
    }
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
