//! The asyncio transport's readiness callback (`giosocket._transport`): the transport
//! registers a `_DatagramReader` with `loop.add_reader`, so a wake-up goes from the loop to
//! one recvmmsg and the protocol's `datagram_received` calls with no Python frame between.
//!
//! Around the delivery the send queue is told (`begin_delivery` / `end_delivery`): replies
//! sent meanwhile leave together when it ends, a reply to a lone datagram at once. What is
//! unusual goes back to the transport's Python: a receive error (`error_received`, or
//! `_fatal_error` for what is not an OSError), a truncated datagram (`_report_truncated`,
//! in its place), a protocol callback raising (`_callback_failed`), a pause in mid-batch
//! (`_keep` the rest), and the flush after the delivery (`_flush`). No borrow is held while
//! Python runs, so callbacks may pause, close or send.

use pyo3::exceptions::{PyException, PyOSError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3::{intern, PyTraverseError, PyVisit};

use crate::io::datagrams::{as_list, receive, DatagramSlots};
use crate::io::send_queue::SendQueue;
use crate::socket::Socket;

/// The transport's readiness callback; see the module documentation.
#[pyclass(module = "giosocket._giosocket", name = "_DatagramReader")]
pub struct DatagramReader {
    sock: Py<Socket>,
    slots: Py<DatagramSlots>,
    queue: Py<SendQueue>,
    /// The transport (for the unusual cases), None once the garbage collector cleared it.
    transport: Option<Py<PyAny>>,
    protocol: Py<PyAny>,
    /// The protocol has `datagrams_received(batch)`: one call per wake-up.
    batched: bool,
    /// Reading is paused or the transport closes: deliver nothing more.
    #[pyo3(get, set)]
    stopped: bool,
}

/// What one wake-up needs, taken out of the reader so that no borrow outlives it.
struct Parts {
    sock: Py<Socket>,
    slots: Py<DatagramSlots>,
    queue: Py<SendQueue>,
    transport: Py<PyAny>,
    protocol: Py<PyAny>,
    batched: bool,
}

#[pymethods]
impl DatagramReader {
    /// A reader receiving on `sock` into `slots` for `transport` (its `_report_truncated`,
    /// `_keep`, `_callback_failed`, `_fatal_error`, `_flush` and `is_closing`) and `protocol`,
    /// telling `queue` about each delivery.
    #[new]
    fn new(
        py: Python<'_>,
        sock: Py<Socket>,
        slots: Py<DatagramSlots>,
        queue: Py<SendQueue>,
        transport: Py<PyAny>,
        protocol: Py<PyAny>,
    ) -> PyResult<Self> {
        let batched = has_batch_callback(py, &protocol)?;
        Ok(DatagramReader {
            sock,
            slots,
            queue,
            transport: Some(transport),
            protocol,
            batched,
            stopped: true,
        })
    }

    /// Deliver to `protocol` from now on (`datagrams_received` if it has one).
    fn set_protocol(&mut self, py: Python<'_>, protocol: Py<PyAny>) -> PyResult<()> {
        self.batched = has_batch_callback(py, &protocol)?;
        self.protocol = protocol;
        Ok(())
    }

    /// One wake-up: receive what is queued (up to the slots) and deliver it.
    fn __call__(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let Some(parts) = Self::parts(slf)? else {
            return Ok(());
        };
        let transport = parts.transport.bind(py);
        let (batch, truncated) = match receive(parts.sock.get(), py, parts.slots.bind(py)) {
            Ok(Some(got)) => got,
            Ok(None) => return Ok(()),
            Err(err) if err.is_instance_of::<PyOSError>(py) => {
                let protocol = parts.protocol.bind(py);
                protocol.call_method1(intern!(py, "error_received"), (err.into_value(py),))?;
                return Ok(());
            }
            Err(err) if !err.is_instance_of::<PyException>(py) => return Err(err),
            Err(err) => {
                let message = "Fatal read error on datagram transport";
                transport
                    .call_method1(intern!(py, "_fatal_error"), (err.into_value(py), message))?;
                return Ok(());
            }
        };
        let lone = batch.len() == 1;
        // Everything that may fail before a callback runs comes before begin_delivery.
        let batch = if parts.batched {
            // the truncated ones are reported first; the rest is one batch
            let whole = batch.into_iter().filter(|(data, _)| data.is_some());
            Err(as_list(py, whole.collect())?)
        } else {
            Ok(batch)
        };
        let deferred = parts.queue.bind(py).try_borrow_mut()?.begin_delivery(lone);
        let delivered = match batch {
            Err(whole) => Self::deliver_batch(py, &parts, whole, truncated),
            Ok(batch) => Self::deliver_each(slf, &parts, batch),
        };
        let flush = parts
            .queue
            .bind(py)
            .try_borrow_mut()?
            .end_delivery(deferred);
        let flushed = if flush {
            transport.call_method0(intern!(py, "_flush")).map(drop)
        } else {
            Ok(())
        };
        delivered.and(flushed)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.sock)?;
        visit.call(&self.slots)?;
        visit.call(&self.queue)?;
        visit.call(&self.transport)?;
        visit.call(&self.protocol)?;
        Ok(())
    }

    fn __clear__(&mut self) {
        self.transport = None;
        self.stopped = true;
    }
}

impl DatagramReader {
    fn parts(slf: &Bound<'_, Self>) -> PyResult<Option<Parts>> {
        let py = slf.py();
        let r = slf.try_borrow()?;
        let Some(transport) = &r.transport else {
            return Ok(None);
        };
        if r.stopped {
            return Ok(None);
        }
        Ok(Some(Parts {
            sock: r.sock.clone_ref(py),
            slots: r.slots.clone_ref(py),
            queue: r.queue.clone_ref(py),
            transport: transport.clone_ref(py),
            protocol: r.protocol.clone_ref(py),
            batched: r.batched,
        }))
    }

    /// A protocol callback raised `err`: an Exception goes to the loop's handler (asyncio's
    /// rule), anything else (KeyboardInterrupt, SystemExit) propagates.
    fn failed(py: Python<'_>, parts: &Parts, err: PyErr, name: &str) -> PyResult<()> {
        if !err.is_instance_of::<PyException>(py) {
            return Err(err);
        }
        let transport = parts.transport.bind(py);
        transport.call_method1(intern!(py, "_callback_failed"), (err.into_value(py), name))?;
        Ok(())
    }

    /// `datagrams_received(whole)`, after `truncated` reports (`_report_truncated`: EMSGSIZE
    /// to `error_received`); not if those closed the transport.
    fn deliver_batch(
        py: Python<'_>,
        parts: &Parts,
        whole: Bound<'_, PyList>,
        truncated: usize,
    ) -> PyResult<()> {
        let transport = parts.transport.bind(py);
        for _ in 0..truncated {
            transport.call_method0(intern!(py, "_report_truncated"))?;
        }
        if whole.is_empty()
            || (truncated > 0
                && transport
                    .call_method0(intern!(py, "is_closing"))?
                    .is_truthy()?)
        {
            return Ok(());
        }
        let batch = whole;
        let protocol = parts.protocol.bind(py);
        match protocol.call_method1(intern!(py, "datagrams_received"), (batch,)) {
            Ok(_) => Ok(()),
            Err(err) => Self::failed(py, parts, err, "datagrams_received"),
        }
    }

    fn deliver_each(
        slf: &Bound<'_, Self>,
        parts: &Parts,
        batch: Vec<crate::io::datagrams::Datagram<'_>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let mut protocol = parts.protocol.clone_ref(py);
        let mut rest = batch.into_iter();
        while let Some((data, addr)) = rest.next() {
            let Some(data) = data else {
                // truncated: reported in its place (EMSGSIZE to error_received)
                let transport = parts.transport.bind(py);
                transport.call_method0(intern!(py, "_report_truncated"))?;
                continue;
            };
            let called = protocol
                .bind(py)
                .call_method1(intern!(py, "datagram_received"), (data, addr));
            if let Err(err) = called {
                Self::failed(py, parts, err, "datagram_received")?;
            }
            let reader = slf.try_borrow()?;
            // set_protocol() from the callback: the rest goes to the new protocol, as asyncio
            if !reader.protocol.is(&protocol) {
                protocol = reader.protocol.clone_ref(py);
            }
            if reader.stopped {
                drop(reader);
                // paused or closed by the protocol: the transport keeps the rest (if paused)
                let kept = as_list(py, rest.collect())?;
                if !kept.is_empty() {
                    let transport = parts.transport.bind(py);
                    transport.call_method1(intern!(py, "_keep"), (kept,))?;
                }
                break;
            }
        }
        Ok(())
    }
}

fn has_batch_callback(py: Python<'_>, protocol: &Py<PyAny>) -> PyResult<bool> {
    match protocol
        .bind(py)
        .getattr_opt(intern!(py, "datagrams_received"))?
    {
        Some(callback) => Ok(callback.is_callable()),
        None => Ok(false),
    }
}
