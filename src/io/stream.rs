//! send / send_to / receive / receive_from and their `_into`, `_with_blocking`, `_bytes` forms.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use socket2::SockAddr;

use crate::address::{sockaddr_from_py, sockaddr_to_py};
use crate::buffer::{BytesOut, ReadBuf, SendPtr, WriteBuf};
use crate::cancellable::{self, Cancellable};
use crate::error::last_errno;
use crate::socket::{Socket, DETACH_ABOVE};
use crate::sys;
use crate::wait::Budget;

const SEND_CONTEXT: &str = "Error sending data";
const RECV_CONTEXT: &str = "Error receiving data";

fn size_arg(size: i64) -> PyResult<usize> {
    usize::try_from(size)
        .map_err(|_| PyValueError::new_err(format!("size must be >= 0, not {size}")))
}

impl Socket {
    /// send/sendto `data` (MSG_NOSIGNAL) within `budget`.
    pub(crate) fn send_raw(
        &self,
        py: Python<'_>,
        data: &[u8],
        to: Option<&SockAddr>,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<usize> {
        let ptr = SendPtr(data.as_ptr() as *mut u8);
        let len = data.len();
        self.io(
            py,
            libc::POLLOUT,
            budget,
            cancellable,
            SEND_CONTEXT,
            len >= DETACH_ABOVE,
            move |fd| {
                let (name, namelen) = to.map_or((std::ptr::null(), 0), |a| {
                    (a.as_ptr().cast::<libc::sockaddr>(), a.len())
                });
                // SAFETY: `ptr`/`len` describe the caller's held buffer; `name` is null or a live sockaddr.
                sys::count(unsafe {
                    libc::sendto(fd, ptr.get().cast(), len, libc::MSG_NOSIGNAL, name, namelen)
                })
            },
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
    ) -> PyResult<(usize, Option<SockAddr>)> {
        self.io(
            py,
            libc::POLLIN,
            budget,
            cancellable,
            RECV_CONTEXT,
            len >= DETACH_ABOVE,
            move |fd| {
                if !want_from {
                    // SAFETY: `ptr`/`len` describe writable memory held by the caller.
                    let n = sys::count(unsafe { libc::recv(fd, ptr.get().cast(), len, 0) })?;
                    return Ok((n, None));
                }
                // SAFETY: as above; socket2 provides zeroed storage + its size for the sender.
                let result = unsafe {
                    SockAddr::try_init(|storage, addrlen| {
                        let n =
                            libc::recvfrom(fd, ptr.get().cast(), len, 0, storage.cast(), addrlen);
                        if n < 0 {
                            Err(std::io::Error::from_raw_os_error(last_errno()))
                        } else {
                            Ok(n as usize)
                        }
                    })
                };
                match result {
                    Ok((n, addr)) if addr.len() == 0 => Ok((n, None)),
                    Ok((n, addr)) => Ok((n, Some(addr))),
                    Err(e) => Err(e.raw_os_error().unwrap_or(libc::EIO)),
                }
            },
        )
    }

    fn receive_new_bytes(
        &self,
        py: Python<'_>,
        size: i64,
        want_from: bool,
        budget: Budget,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<(Py<PyBytes>, Option<SockAddr>)> {
        let out = BytesOut::new(py, size_arg(size)?)?;
        let (n, from) = self.recv_raw(py, out.ptr(), out.len(), want_from, budget, cancellable)?;
        Ok((out.finish(py, n)?, from))
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
        let data = ReadBuf::new(buffer)?;
        self.send_raw(
            py,
            data.as_slice(),
            None,
            self.default_budget(),
            cancellable::from_arg(&cancellable),
        )
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
        let to = address.map(sockaddr_from_py).transpose()?;
        let data = ReadBuf::new(buffer)?;
        self.send_raw(
            py,
            data.as_slice(),
            to.as_ref(),
            self.default_budget(),
            cancellable::from_arg(&cancellable),
        )
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
        let data = ReadBuf::new(buffer)?;
        self.send_raw(
            py,
            data.as_slice(),
            None,
            Budget::from_blocking(blocking),
            cancellable::from_arg(&cancellable),
        )
    }

    /// Receive up to `size` bytes (b"" at end of stream).
    #[pyo3(signature = (size, cancellable = None))]
    fn receive(
        &self,
        py: Python<'_>,
        size: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Py<PyBytes>> {
        Ok(self
            .receive_new_bytes(
                py,
                size,
                false,
                self.default_budget(),
                cancellable::from_arg(&cancellable),
            )?
            .0)
    }

    /// Receive into a writable buffer; returns the number of bytes written.
    #[pyo3(signature = (buffer, cancellable = None))]
    fn receive_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let out = WriteBuf::new(buffer)?;
        Ok(self
            .recv_raw(
                py,
                out.ptr(),
                out.len(),
                false,
                self.default_budget(),
                cancellable::from_arg(&cancellable),
            )?
            .0)
    }

    /// Receive up to `size` bytes and the sender's address (None when the OS gives none).
    #[pyo3(signature = (size, cancellable = None))]
    fn receive_from(
        &self,
        py: Python<'_>,
        size: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<(Py<PyBytes>, Option<Py<PyAny>>)> {
        let (data, from) = self.receive_new_bytes(
            py,
            size,
            true,
            self.default_budget(),
            cancellable::from_arg(&cancellable),
        )?;
        Ok((data, self.address_obj(py, from)?))
    }

    /// Receive into a writable buffer; returns (bytes written, sender).
    #[pyo3(signature = (buffer, cancellable = None))]
    fn receive_from_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<(usize, Option<Py<PyAny>>)> {
        let out = WriteBuf::new(buffer)?;
        let (n, from) = self.recv_raw(
            py,
            out.ptr(),
            out.len(),
            true,
            self.default_budget(),
            cancellable::from_arg(&cancellable),
        )?;
        Ok((n, self.address_obj(py, from)?))
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
        Ok(self
            .receive_new_bytes(
                py,
                size,
                false,
                Budget::from_blocking(blocking),
                cancellable::from_arg(&cancellable),
            )?
            .0)
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
        Ok(self
            .receive_new_bytes(
                py,
                size,
                false,
                Budget::from_timeout_us(timeout_us),
                cancellable::from_arg(&cancellable),
            )?
            .0)
    }

    /// Like `receive_bytes`, also returning the sender.
    #[pyo3(signature = (size, timeout_us, cancellable = None))]
    fn receive_bytes_from(
        &self,
        py: Python<'_>,
        size: i64,
        timeout_us: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<(Py<PyBytes>, Option<Py<PyAny>>)> {
        let (data, from) = self.receive_new_bytes(
            py,
            size,
            true,
            Budget::from_timeout_us(timeout_us),
            cancellable::from_arg(&cancellable),
        )?;
        Ok((data, self.address_obj(py, from)?))
    }
}
