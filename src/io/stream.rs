//! send / send_to / receive / receive_from and their `_into`, `_with_blocking`, `_bytes` forms,
//! plus the private non-blocking twins (`_try_*`) the asyncio coroutines call: the same code
//! with a non-blocking budget, returning None where the sync form raises WOULD_BLOCK.
//!
//! The GIL is released around every send and receive syscall, as the stdlib does, so other
//! Python threads run while the kernel copies.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use socket2::SockAddr;

use crate::address::{sockaddr_from_py, sockaddr_to_py};
use crate::buffer::{with_writable, BytesOut, ReadBuf, SendPtr};
use crate::cancellable::{self, Cancellable};
use crate::engine::{or_would_block, Budget};
use crate::socket::Socket;
use crate::sys::{net, poll};

const SEND_CONTEXT: &str = "Error sending data";
const RECV_CONTEXT: &str = "Error receiving data";

/// Received bytes and the sender (None when the OS gives none).
type BytesFrom = (Py<PyBytes>, Option<Py<PyAny>>);

fn size_arg(size: i64) -> PyResult<usize> {
    usize::try_from(size)
        .map_err(|_| PyValueError::new_err(format!("size must be >= 0, not {size}")))
}

impl Socket {
    /// send/sendto `data` (MSG_NOSIGNAL) within `budget`; None when it would block.
    pub(crate) fn send_raw(
        &self,
        py: Python<'_>,
        data: &[u8],
        to: Option<&SockAddr>,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<usize>> {
        let ptr = SendPtr(data.as_ptr() as *mut u8);
        let len = data.len();
        self.io_value(
            py,
            poll::OUT,
            budget,
            cancellable,
            SEND_CONTEXT,
            true,
            move |fd| net::send_to(fd, ptr.get(), len, to),
        )
    }

    /// recv/recvfrom into `ptr[..len]` within `budget`; the sender when `want_from`.
    pub(crate) fn recv_raw(
        &self,
        py: Python<'_>,
        ptr: SendPtr,
        len: usize,
        want_from: bool,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<(usize, Option<SockAddr>)>> {
        self.io_value(
            py,
            poll::IN,
            budget,
            cancellable,
            RECV_CONTEXT,
            true,
            move |fd| {
                if want_from {
                    net::recv_from(fd, ptr.get(), len)
                } else {
                    net::recv(fd, ptr.get(), len, 0).map(|n| (n, None))
                }
            },
        )
    }

    fn send_buffer(
        &self,
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        buffer: &Bound<'_, PyAny>,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<usize>> {
        let to = address.map(sockaddr_from_py).transpose()?;
        let data = ReadBuf::new(buffer)?;
        self.send_raw(py, data.as_slice(), to.as_ref(), budget, cancellable)
    }

    fn receive_new_bytes(
        &self,
        py: Python<'_>,
        size: i64,
        want_from: bool,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<BytesFrom>> {
        let out = BytesOut::new(py, size_arg(size)?)?;
        match self.recv_raw(py, out.ptr(), out.len(), want_from, budget, cancellable)? {
            Some((n, from)) => Ok(Some((out.finish(py, n)?, self.address_obj(py, from)?))),
            None => Ok(None),
        }
    }

    fn receive_buffer(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        want_from: bool,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<(usize, Option<Py<PyAny>>)>> {
        with_writable(buffer, |ptr, len| {
            match self.recv_raw(py, ptr, len, want_from, budget, cancellable)? {
                Some((n, from)) => Ok(Some((n, self.address_obj(py, from)?))),
                None => Ok(None),
            }
        })
    }

    fn address_obj(&self, py: Python<'_>, from: Option<SockAddr>) -> PyResult<Option<Py<PyAny>>> {
        match from {
            Some(addr) => sockaddr_to_py(py, &addr),
            None => Ok(None),
        }
    }
}

#[pymethods]
impl Socket {
    /// Send `buffer` on a connected socket; returns the bytes sent (may be fewer on streams).
    #[pyo3(signature = (buffer, cancellable = None))]
    fn send(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let cancel = cancellable::from_arg(&cancellable);
        let sent = self.send_buffer(py, None, buffer, self.default_budget(), cancel)?;
        or_would_block(py, sent, SEND_CONTEXT)
    }

    /// Send `buffer` to `address` (None = the connected peer).
    #[pyo3(signature = (address, buffer, cancellable = None))]
    fn send_to(
        &self,
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let cancel = cancellable::from_arg(&cancellable);
        let sent = self.send_buffer(py, address, buffer, self.default_budget(), cancel)?;
        or_would_block(py, sent, SEND_CONTEXT)
    }

    /// Send with an explicit blocking mode for this call.
    #[pyo3(signature = (buffer, blocking, cancellable = None))]
    fn send_with_blocking(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        blocking: bool,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let cancel = cancellable::from_arg(&cancellable);
        let budget = Budget::from_blocking(blocking);
        let sent = self.send_buffer(py, None, buffer, budget, cancel)?;
        or_would_block(py, sent, SEND_CONTEXT)
    }

    /// Receive up to `size` bytes (b"" at end of stream).
    #[pyo3(signature = (size, cancellable = None))]
    fn receive(
        &self,
        py: Python<'_>,
        size: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Py<PyBytes>> {
        let cancel = cancellable::from_arg(&cancellable);
        let got = self.receive_new_bytes(py, size, false, self.default_budget(), cancel)?;
        Ok(or_would_block(py, got, RECV_CONTEXT)?.0)
    }

    /// Receive into a writable buffer; returns the number of bytes written.
    #[pyo3(signature = (buffer, cancellable = None))]
    fn receive_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let cancel = cancellable::from_arg(&cancellable);
        let got = self.receive_buffer(py, buffer, false, self.default_budget(), cancel)?;
        Ok(or_would_block(py, got, RECV_CONTEXT)?.0)
    }

    /// Receive up to `size` bytes and the sender's address (None when the OS gives none).
    #[pyo3(signature = (size, cancellable = None))]
    fn receive_from(
        &self,
        py: Python<'_>,
        size: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<BytesFrom> {
        let cancel = cancellable::from_arg(&cancellable);
        let got = self.receive_new_bytes(py, size, true, self.default_budget(), cancel)?;
        or_would_block(py, got, RECV_CONTEXT)
    }

    /// Receive into a writable buffer; returns (bytes written, sender).
    #[pyo3(signature = (buffer, cancellable = None))]
    fn receive_from_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<(usize, Option<Py<PyAny>>)> {
        let cancel = cancellable::from_arg(&cancellable);
        let got = self.receive_buffer(py, buffer, true, self.default_budget(), cancel)?;
        or_would_block(py, got, RECV_CONTEXT)
    }

    /// Receive with an explicit blocking mode for this call.
    #[pyo3(signature = (size, blocking, cancellable = None))]
    fn receive_with_blocking(
        &self,
        py: Python<'_>,
        size: i64,
        blocking: bool,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Py<PyBytes>> {
        let cancel = cancellable::from_arg(&cancellable);
        let budget = Budget::from_blocking(blocking);
        let got = self.receive_new_bytes(py, size, false, budget, cancel)?;
        Ok(or_would_block(py, got, RECV_CONTEXT)?.0)
    }

    /// Receive up to `size` bytes waiting at most `timeout_us` µs (-1 forever, 0 never).
    #[pyo3(signature = (size, timeout_us, cancellable = None))]
    fn receive_bytes(
        &self,
        py: Python<'_>,
        size: i64,
        timeout_us: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Py<PyBytes>> {
        let cancel = cancellable::from_arg(&cancellable);
        let budget = Budget::from_timeout_us(timeout_us);
        let got = self.receive_new_bytes(py, size, false, budget, cancel)?;
        Ok(or_would_block(py, got, RECV_CONTEXT)?.0)
    }

    /// Like `receive_bytes`, also returning the sender.
    #[pyo3(signature = (size, timeout_us, cancellable = None))]
    fn receive_bytes_from(
        &self,
        py: Python<'_>,
        size: i64,
        timeout_us: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<BytesFrom> {
        let cancel = cancellable::from_arg(&cancellable);
        let budget = Budget::from_timeout_us(timeout_us);
        let got = self.receive_new_bytes(py, size, true, budget, cancel)?;
        or_would_block(py, got, RECV_CONTEXT)
    }

    // ---- non-blocking twins for the asyncio coroutines: None where it would block ----

    /// `send` without blocking: the bytes sent, or None if it would block.
    #[pyo3(signature = (buffer, cancellable = None))]
    fn _try_send(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<usize>> {
        let cancel = cancellable::from_arg(&cancellable);
        self.send_buffer(py, None, buffer, Budget::NonBlocking, cancel)
    }

    /// `send_to` without blocking: the bytes sent, or None if it would block.
    #[pyo3(signature = (address, buffer, cancellable = None))]
    fn _try_send_to(
        &self,
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<usize>> {
        let cancel = cancellable::from_arg(&cancellable);
        self.send_buffer(py, address, buffer, Budget::NonBlocking, cancel)
    }

    /// `receive` without blocking: the bytes, or None if it would block.
    #[pyo3(signature = (size, cancellable = None))]
    fn _try_receive(
        &self,
        py: Python<'_>,
        size: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<Py<PyBytes>>> {
        let cancel = cancellable::from_arg(&cancellable);
        let got = self.receive_new_bytes(py, size, false, Budget::NonBlocking, cancel)?;
        Ok(got.map(|(data, _)| data))
    }

    /// `receive_into` without blocking: the count, or None if it would block.
    #[pyo3(signature = (buffer, cancellable = None))]
    fn _try_receive_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<usize>> {
        let cancel = cancellable::from_arg(&cancellable);
        let got = self.receive_buffer(py, buffer, false, Budget::NonBlocking, cancel)?;
        Ok(got.map(|(n, _)| n))
    }

    /// `receive_from` without blocking: (bytes, sender), or None if it would block.
    #[pyo3(signature = (size, cancellable = None))]
    fn _try_receive_from(
        &self,
        py: Python<'_>,
        size: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<BytesFrom>> {
        let cancel = cancellable::from_arg(&cancellable);
        self.receive_new_bytes(py, size, true, Budget::NonBlocking, cancel)
    }
}
