//! asyncio support, native side: the `Socket.*_async` methods, the non-blocking attempts the
//! coroutines make, and the per-socket event-loop registration slot.
//!
//! The coroutines live in `giosocket/aio.py` (handed over once at import, see `lib.rs`
//! `_init`). Each first tries its operation with a non-blocking budget (`_try_*`: the value,
//! or None where it would block) and only then waits. The waiting side keeps one
//! registration per socket with its event loop (`_aio_registration` slot below): the socket
//! stays registered while it is used there, the loop's readiness callback performs the
//! waiting operation itself, and `close()` from any thread hands the registration's
//! teardown to the loop. An [`InFlight`] token keeps the fd open while the loop watches it,
//! so the loop never watches a recycled fd number.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::address::sockaddr_from_py;
use crate::cancellable::{self, Cancellable};
use crate::engine::{self, Budget};
use crate::lifecycle::SocketFd;
use crate::socket::{Connect, Socket};
use crate::sys::poll;

/// Keeps a socket's fd in flight while an event loop watches it; released once, by
/// `release()` or when dropped.
#[pyclass(frozen, module = "giosocket._giosocket", name = "_InFlight")]
pub struct InFlight {
    owner: Arc<SocketFd>,
    token: u64,
    fd: RawFd,
    active: AtomicBool,
}

impl InFlight {
    fn end(&self) {
        if self.active.swap(false, SeqCst) {
            let _ = self.owner.leave_detached(self.token);
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

    /// End the operation (idempotent); the fd is released here if the socket was closed.
    fn release(&self) {
        self.end();
    }
}

/// The coroutine functions of `giosocket.aio`, loaded on first use by the loader `_init`
/// was given.
static AIO: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static AIO_LOADER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Remember how to load `giosocket.aio` (called once by `_init`).
pub fn init(py: Python<'_>, loader: &Bound<'_, PyAny>) {
    let _ = AIO_LOADER.set(py, loader.clone().unbind());
}

fn aio_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    AIO.get_or_try_init(py, || {
        let loader = AIO_LOADER.get(py).ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("giosocket was not initialised")
        })?;
        Ok::<_, PyErr>(loader.bind(py).call0()?.cast_into::<PyModule>()?.unbind())
    })
    .map(|m| m.bind(py))
}

impl Socket {
    /// Hand the socket's loop registration its teardown (close from any thread, or drop).
    pub(crate) fn close_registration(&self, py: Python<'_>) {
        let registration = match self.aio.lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None,
        };
        if let Some(registration) = registration {
            if let Err(err) = registration.bind(py).call_method0("socket_closed") {
                err.write_unraisable(py, Some(registration.bind(py)));
            }
        }
    }
}

#[pymethods]
impl Socket {
    /// Enter an operation that waits in an event loop (CLOSED if closed): the fd stays open
    /// until the returned token is released.
    fn _in_flight(&self, py: Python<'_>) -> PyResult<InFlight> {
        let guard = self.enter(py)?;
        let fd = guard.fd;
        let token = guard.detach();
        Ok(InFlight {
            owner: self.fd.clone(),
            token,
            fd,
            active: AtomicBool::new(true),
        })
    }

    /// The socket's event-loop registration (None when it has none).
    fn _aio_registration(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.aio
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|r| r.clone_ref(py)))
    }

    /// Set (or clear, with None) the event-loop registration; returns the previous one. A
    /// closed socket keeps none: CLOSED.
    fn _set_aio_registration(
        &self,
        py: Python<'_>,
        registration: Option<Py<PyAny>>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let mut slot = self
            .aio
            .lock()
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("registration lock"))?;
        if registration.is_some() && self.fd.is_closed() {
            return Err(crate::error::closed(py));
        }
        Ok(std::mem::replace(&mut *slot, registration))
    }

    /// `accept` without blocking: the new socket, or None if it would block.
    #[pyo3(signature = (cancellable = None))]
    fn _try_accept(
        &self,
        py: Python<'_>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<Socket>> {
        self.accept_within(py, Budget::NonBlocking, cancellable::from_arg(&cancellable))
    }

    /// Start a connect without blocking: True when connected at once, False when in
    /// progress (wait for OUT, then `_try_connect_result`), None when it would block.
    #[pyo3(signature = (address, cancellable = None))]
    fn _try_connect(
        &self,
        py: Python<'_>,
        address: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<bool>> {
        let addr = sockaddr_from_py(address)?;
        let cancel = cancellable::from_arg(&cancellable);
        Ok(match self.start_connect(py, addr, cancel)? {
            Connect::Done => Some(true),
            Connect::InProgress => Some(false),
            Connect::WouldBlock => None,
        })
    }

    /// A pending connect's result once the socket is writable: True, the connect error, or
    /// None while still in progress.
    fn _try_connect_result(&self, py: Python<'_>) -> PyResult<Option<bool>> {
        let writable = {
            let guard = self.enter(py)?;
            engine::poll_now(py, guard.fd, poll::OUT)? != 0
        };
        if writable {
            self.check_connect(py).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Whether `condition` holds now: True, or None (as `condition_check` being empty).
    fn _try_condition(&self, py: Python<'_>, condition: i16) -> PyResult<Option<bool>> {
        let guard = self.enter(py)?;
        let revents = engine::poll_now(py, guard.fd, condition)?;
        Ok((revents != 0).then_some(true))
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
                    let py = slf.py();
                    aio_module(py)?
                        .getattr(pyo3::intern!(py, stringify!($name)))?
                        .call1((slf, $($arg,)* cancellable))
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
