//! asyncio support (GIO's `g_socket_create_source` role): the `Socket.*_async` methods and the
//! two native pieces `giosocket/aio.py` needs.
//!
//! The coroutines themselves live in Python (`giosocket.aio`): they try the socket's ordinary
//! method without blocking and, on WOULD_BLOCK, wait on the running loop's `add_reader` /
//! `add_writer`. Natively this module provides:
//! - [`Socket::_call_nonblocking`]: run one method of this socket as if it were in non-blocking
//!   mode, for this call and this thread only (other threads keep the socket's mode), so every
//!   sync method doubles as the non-blocking step of its coroutine;
//! - [`InFlight`]: keeps the fd open while a coroutine waits (so `close()` from elsewhere
//!   cannot recycle the fd number under the event loop) and exposes the close wake-up fd, so a
//!   coroutine waiting on a socket closed meanwhile wakes up and raises CLOSED.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use pyo3::call::PyCallArgs;
use pyo3::exceptions::PyBlockingIOError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use crate::socket::Socket;

thread_local! {
    /// Address of the socket whose calls on this thread are forced non-blocking (0 = none).
    static NONBLOCKING_FOR: Cell<usize> = const { Cell::new(0) };
}

fn socket_key(socket: &Socket) -> usize {
    socket as *const Socket as usize
}

/// Whether calls on `socket` from this thread must not block (inside `_call_nonblocking`).
pub(crate) fn forced_nonblocking(socket: &Socket) -> bool {
    NONBLOCKING_FOR.with(|key| key.get() == socket_key(socket))
}

static WOULD_BLOCK_MARKER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn marker(py: Python<'_>) -> &Py<PyAny> {
    WOULD_BLOCK_MARKER.get_or_init(py, || {
        PyBlockingIOError::new_err("would block")
            .into_value(py)
            .into_any()
    })
}

/// Inside `_call_nonblocking` on this thread: the cheap error that stands for WOULD_BLOCK
/// (one shared `BlockingIOError` instance that `_call_nonblocking` turns into `None`, so the
/// expected outcome of an asyncio step costs no exception construction). `None` elsewhere.
pub(crate) fn quiet_would_block(py: Python<'_>) -> Option<PyErr> {
    if NONBLOCKING_FOR.with(|key| key.get()) == 0 {
        return None;
    }
    Some(PyErr::from_value(marker(py).bind(py).clone()))
}

fn is_would_block(py: Python<'_>, err: &PyErr) -> bool {
    err.value(py).is(marker(py).bind(py)) || err.is_instance_of::<PyBlockingIOError>(py)
}

/// Restores the previous forced socket when the call ends, even by an exception.
struct Restore(usize);

impl Drop for Restore {
    fn drop(&mut self) {
        NONBLOCKING_FOR.with(|key| key.set(self.0));
    }
}

/// Keeps a socket's fd in flight while an event loop waits on it; released once, by
/// `release()` or when dropped.
#[pyclass(frozen, module = "giosocket._giosocket", name = "_InFlight")]
pub struct InFlight {
    socket: Py<Socket>,
    fd: RawFd,
    wake_fd: RawFd,
    active: AtomicBool,
}

impl InFlight {
    fn end(&self) {
        if self.active.swap(false, SeqCst) {
            let _ = self.socket.get().fd.leave_detached();
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.end();
    }
}

#[pymethods]
impl InFlight {
    /// The socket fd (stays open until `release()`).
    #[getter]
    fn fd(&self) -> RawFd {
        self.fd
    }

    /// An fd that becomes readable when the socket is closed (-1 if unavailable).
    #[getter]
    fn wake_fd(&self) -> RawFd {
        self.wake_fd
    }

    /// End the operation (idempotent); the fd is released here if the socket was closed.
    fn release(&self) {
        self.end();
    }
}

static AIO: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Call `giosocket.aio.<name>(*args)`, returning the coroutine it makes.
fn coroutine<'py>(
    py: Python<'py>,
    name: &str,
    args: impl PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let module = AIO.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        Ok(py.import("giosocket.aio")?.unbind())
    })?;
    module.bind(py).getattr(name)?.call1(args)
}

#[pymethods]
impl Socket {
    /// Call `func(*args)` (a method of this socket) as if the socket were non-blocking, for
    /// this call on this thread only; returns None where it would block (WOULD_BLOCK).
    #[pyo3(signature = (func, *args))]
    fn _call_nonblocking<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let result = {
            let previous = NONBLOCKING_FOR.with(|key| key.replace(socket_key(self)));
            let _restore = Restore(previous);
            func.call1(args)
        };
        match result {
            Ok(value) => Ok(Some(value)),
            Err(err) if is_would_block(py, &err) => {
                // The marker is shared: drop any traceback a Python-level `func` attached.
                err.value(py)
                    .setattr(intern!(py, "__traceback__"), py.None())?;
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Enter an operation that waits in an event loop (CLOSED if closed): the fd stays open
    /// until the returned token is released.
    fn _in_flight(slf: &Bound<'_, Self>) -> PyResult<InFlight> {
        let py = slf.py();
        let guard = slf.get().enter(py)?;
        let fd = guard.fd;
        let wake_fd = guard.wake_fd().unwrap_or(-1);
        guard.detach();
        Ok(InFlight {
            socket: slf.clone().unbind(),
            fd,
            wake_fd,
            active: AtomicBool::new(true),
        })
    }
}

/// `Socket.<name>(args..., cancellable=None)` methods that pass the socket, their arguments
/// and the cancellable, in order, to the coroutine function of the same name in
/// `giosocket.aio` and return the coroutine it makes.
/// Each entry: doc comment, then `fn name(arg: Type [= default], ...);` (without `cancellable`).
macro_rules! async_methods {
    ($($(#[doc = $doc:literal])* fn $name:ident($($arg:ident: $ty:ty $(= $default:tt)?),*);)*) => {
        #[pymethods]
        impl Socket {
            $(
                $(#[doc = $doc])*
                #[pyo3(signature = ($($arg $(= $default)?,)* cancellable = None))]
                fn $name<'py>(
                    slf: &Bound<'py, Self>,
                    $($arg: $ty,)*
                    cancellable: Option<&Bound<'py, PyAny>>,
                ) -> PyResult<Bound<'py, PyAny>> {
                    coroutine(slf.py(), stringify!($name), (slf, $($arg,)* cancellable))
                }
            )*
        }
    };
}

async_methods! {
    /// `await condition_wait_async(condition)`: wait until `condition` holds (honours
    /// `timeout` and the cancellable).
    fn condition_wait_async(condition: &Bound<'py, PyAny>);
    /// `await accept_async()`: accept a connection without blocking the event loop.
    fn accept_async();
    /// `await connect_async(address)`: connect without blocking the event loop.
    fn connect_async(address: &Bound<'py, PyAny>);
    /// `await send_async(buffer)`: send once the socket is writable; returns bytes sent.
    fn send_async(buffer: &Bound<'py, PyAny>);
    /// `await send_to_async(address, buffer)`: send to `address` (None = the peer).
    fn send_to_async(address: &Bound<'py, PyAny>, buffer: &Bound<'py, PyAny>);
    /// `await receive_async(size)`: receive up to `size` bytes (b"" at end of stream).
    fn receive_async(size: &Bound<'py, PyAny>);
    /// `await receive_into_async(buffer)`: receive into a writable buffer; returns the count.
    fn receive_into_async(buffer: &Bound<'py, PyAny>);
    /// `await receive_from_async(size)`: receive up to `size` bytes and the sender.
    fn receive_from_async(size: &Bound<'py, PyAny>);
    /// `await send_messages_async(messages, flags=0)`: send a batch once writable; returns
    /// how many messages were sent.
    fn send_messages_async(messages: &Bound<'py, PyAny>, flags: i32 = 0);
    /// `await receive_messages_async(messages, flags=0)`: receive a batch once readable;
    /// returns how many messages arrived.
    fn receive_messages_async(messages: &Bound<'py, PyAny>, flags: i32 = 0);
}
