//! Native reference loops for `python benches/run.py`: the "machine limit" each Python path
//! is compared to. Private (`_giosocket._bench_*`), not part of the public API, and compiled only
//! with the cargo feature `bench` (on by default for checkouts; release wheels leave it off, see
//! .ci/build-wheels).
//!
//! The loops themselves are `crate::sys::bench` (pure Rust syscalls on an fd the caller owns and
//! keeps open); this glue checks the arguments, runs a loop with the GIL released (no Python runs
//! inside) and converts its result. The fds must be in blocking mode: a receive timeout set with
//! `SO_RCVTIMEO` ends a receive loop (EAGAIN) instead of blocking forever. EINTR re-attaches,
//! runs the signal handlers (Ctrl-C raises) and resumes. These are benchmark helpers, not I/O
//! primitives, so they block in the kernel directly instead of going through the wait engine.

use std::os::fd::RawFd;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::address::sockaddr_from_py;
use crate::cancellable::Cancellable;
use crate::error::os_error;
use crate::sys::bench::{
    Looper, Pause, Run, SendMode, Stream, StreamKind, Totals, UdpMetaReceiver, UdpReceiver,
    UdpSender, MAX_BATCH, MAX_CHUNK, MAX_DATAGRAM, MAX_GSO_BATCH,
};

fn check_fd(fd: i64) -> PyResult<RawFd> {
    RawFd::try_from(fd)
        .ok()
        .filter(|f| *f >= 0)
        .ok_or_else(|| PyValueError::new_err(format!("invalid file descriptor {fd}")))
}

fn check_range(name: &str, value: i64, lo: usize, hi: usize) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be in {lo}..={hi}, not {value}")))
}

fn check_seconds(seconds: f64) -> PyResult<Duration> {
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(PyValueError::new_err(format!(
            "seconds must be in (0, 3600], not {seconds}"
        )));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn check_count(name: &str, value: i64) -> PyResult<u64> {
    u64::try_from(value).map_err(|_| PyValueError::new_err(format!("{name} must be >= 0")))
}

/// Run `looper` until its time `limit` elapses, `max_packets` (0 = no limit) are done, it is
/// complete, `stop` is cancelled, or a receive times out (EAGAIN). GIL released throughout,
/// except to run signal handlers after EINTR.
fn drive<L: Looper + Send>(
    py: Python<'_>,
    looper: L,
    limit: Duration,
    max_packets: u64,
    stop: Option<&Cancellable>,
    context: &str,
) -> PyResult<Totals> {
    let mut run = Run::new(looper, limit, max_packets);
    let stopped = || stop.is_some_and(|s| s.cancelled());
    loop {
        match py.detach(|| run.resume(stopped)) {
            Ok(Pause::Finished) => return Ok(run.totals()),
            Ok(Pause::Interrupted) => py.check_signals()?,
            Err(errno) => return Err(os_error(py, errno, context)),
        }
    }
}

/// Native UDP send loop: mode "sendto", "sendmmsg" (`batch` per call) or "gso" (`batch`
/// segments of `size` per call). Returns (packets, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_udp_send")]
#[pyo3(signature = (fd, address, size, mode, batch = 1, seconds = 1.0, max_packets = 0, stop = None))]
#[allow(clippy::too_many_arguments)]
pub fn bench_udp_send(
    py: Python<'_>,
    fd: i64,
    address: Option<&Bound<'_, PyAny>>,
    size: i64,
    mode: &str,
    batch: i64,
    seconds: f64,
    max_packets: i64,
    stop: Option<Bound<'_, Cancellable>>,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let size = check_range("size", size, 1, MAX_DATAGRAM)?;
    let batch = check_range("batch", batch, 1, MAX_BATCH)?;
    let limit = check_seconds(seconds)?;
    let max_packets = check_count("max_packets", max_packets)?;
    let mode = match mode {
        "sendto" => SendMode::SendTo,
        "sendmmsg" => SendMode::SendMmsg,
        "gso" if size * batch <= MAX_DATAGRAM && batch <= MAX_GSO_BATCH => SendMode::Gso,
        "gso" => {
            return Err(PyValueError::new_err(
                "gso needs size * batch <= 65507 and batch <= 128",
            ))
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "mode must be 'sendto', 'sendmmsg' or 'gso', not {other:?}"
            )))
        }
    };
    let addr = address.map(sockaddr_from_py).transpose()?;
    let looper = UdpSender::new(fd, addr, mode, size, batch);
    let stop = stop.as_ref().map(|s| s.get());
    drive(py, looper, limit, max_packets, stop, "Error sending data")
}

/// Native UDP receive loop: mode "recv" (one datagram per call) or "recvmmsg" (`batch` per
/// call, `MSG_WAITFORONE`). `size` = buffer per datagram. Returns (packets, bytes, seconds,
/// CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_udp_recv")]
#[pyo3(signature = (fd, size, mode, batch = 1, seconds = 1.0, max_packets = 0, stop = None))]
#[allow(clippy::too_many_arguments)]
pub fn bench_udp_recv(
    py: Python<'_>,
    fd: i64,
    size: i64,
    mode: &str,
    batch: i64,
    seconds: f64,
    max_packets: i64,
    stop: Option<Bound<'_, Cancellable>>,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let size = check_range("size", size, 1, 1 << 16)?;
    let batch = match mode {
        "recv" => 1,
        "recvmmsg" => check_range("batch", batch, 2, MAX_BATCH)?,
        other => {
            return Err(PyValueError::new_err(format!(
                "mode must be 'recv' or 'recvmmsg', not {other:?}"
            )))
        }
    };
    let limit = check_seconds(seconds)?;
    let max_packets = check_count("max_packets", max_packets)?;
    let looper = UdpReceiver::new(fd, size, batch);
    let stop = stop.as_ref().map(|s| s.get());
    drive(py, looper, limit, max_packets, stop, "Error receiving data")
}

fn stream_run(
    py: Python<'_>,
    fd: i64,
    kind: StreamKind,
    chunk: i64,
    total: u64,
    seconds: f64,
    max_packets: u64,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let chunk = check_range("chunk", chunk, 1, MAX_CHUNK)?;
    let limit = check_seconds(seconds)?;
    let looper = Stream::new(fd, kind, chunk, total);
    let context = match kind {
        StreamKind::Send => "Error sending data",
        _ => "Error receiving data",
    };
    drive(py, looper, limit, max_packets, None, context)
}

/// Native stream sender: send `total_bytes` in `chunk`-byte calls. Returns (calls, bytes,
/// seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_stream_send")]
#[pyo3(signature = (fd, total_bytes, chunk = 262144, seconds = 60.0))]
pub fn bench_stream_send(
    py: Python<'_>,
    fd: i64,
    total_bytes: i64,
    chunk: i64,
    seconds: f64,
) -> PyResult<Totals> {
    let total = check_count("total_bytes", total_bytes)?;
    stream_run(py, fd, StreamKind::Send, chunk, total, seconds, 0)
}

/// Native stream receiver: receive `total_bytes` (or to end of stream) in calls of at most
/// `chunk` bytes. Returns (calls, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_stream_recv")]
#[pyo3(signature = (fd, total_bytes, chunk = 262144, seconds = 60.0))]
pub fn bench_stream_recv(
    py: Python<'_>,
    fd: i64,
    total_bytes: i64,
    chunk: i64,
    seconds: f64,
) -> PyResult<Totals> {
    let total = check_count("total_bytes", total_bytes)?;
    stream_run(py, fd, StreamKind::Recv, chunk, total, seconds, 0)
}

/// Native echo server on a connected stream: send back whatever arrives until end of stream
/// (or a receive timeout). Returns (messages, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_echo")]
#[pyo3(signature = (fd, size = 65536, seconds = 60.0))]
pub fn bench_echo(py: Python<'_>, fd: i64, size: i64, seconds: f64) -> PyResult<Totals> {
    stream_run(py, fd, StreamKind::Echo, size, 0, seconds, 0)
}

/// Native ping-pong client: send `size` bytes, wait for the `size`-byte echo, repeat. Returns
/// (round trips, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_pingpong")]
#[pyo3(signature = (fd, size = 1, seconds = 1.0, max_packets = 0))]
pub fn bench_pingpong(
    py: Python<'_>,
    fd: i64,
    size: i64,
    seconds: f64,
    max_packets: i64,
) -> PyResult<Totals> {
    let max = check_count("max_packets", max_packets)?;
    stream_run(py, fd, StreamKind::PingPong, size, 0, seconds, max)
}

/// "release" or "debug": how the extension was compiled (the harness warns on debug builds).
#[pyfunction]
#[pyo3(name = "_bench_build_profile")]
pub fn bench_build_profile() -> &'static str {
    crate::sys::bench::build_profile()
}

/// Native UDP metadata receive loop (see `UdpMetaReceiver`): `batch` datagrams of up to `size`
/// bytes per `recvmmsg`, with a decoded control buffer per datagram when `control`. Returns
/// (packets, bytes, seconds, CPU seconds).
#[pyfunction]
#[pyo3(name = "_bench_udp_recv_meta")]
#[pyo3(signature = (fd, size, batch, control, seconds = 1.0, max_packets = 0))]
pub fn bench_udp_recv_meta(
    py: Python<'_>,
    fd: i64,
    size: i64,
    batch: i64,
    control: bool,
    seconds: f64,
    max_packets: i64,
) -> PyResult<Totals> {
    let fd = check_fd(fd)?;
    let size = check_range("size", size, 1, 1 << 16)?;
    let batch = check_range("batch", batch, 2, MAX_BATCH)?;
    let limit = check_seconds(seconds)?;
    let max_packets = check_count("max_packets", max_packets)?;
    let looper = UdpMetaReceiver::new(fd, size, batch, control);
    drive(py, looper, limit, max_packets, None, "Error receiving data")
}

/// Adds the loops to the module as attributes (private names, so they stay out of `__all__`).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(bench_udp_send, m)?,
        wrap_pyfunction!(bench_udp_recv, m)?,
        wrap_pyfunction!(bench_udp_recv_meta, m)?,
        wrap_pyfunction!(bench_stream_send, m)?,
        wrap_pyfunction!(bench_stream_recv, m)?,
        wrap_pyfunction!(bench_echo, m)?,
        wrap_pyfunction!(bench_pingpong, m)?,
        wrap_pyfunction!(bench_build_profile, m)?,
    ] {
        m.setattr(
            f.getattr("__name__")?
                .cast_into::<pyo3::types::PyString>()?,
            &f,
        )?;
    }
    Ok(())
}
