//! `send_messages` (sendmmsg) and `receive_messages` (recvmmsg) with GIO's semantics:
//! a partial count without error once at least one message went (an error only when none
//! did); a blocking receive waits for all messages unless `MSG_WAITFORONE` is given; the
//! socket timeout and the Cancellable apply across the whole batch. The kernel handles at
//! most `UIO_MAXIOV` (1024) messages per syscall; longer batches loop. Where the syscalls are
//! missing (ENOSYS), or when the environment variable `GIOSOCKET_NO_MMSG=1` is set (to test
//! that path), a sendmsg/recvmsg loop with the same semantics is used.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::cancellable::{self, Cancellable};
use crate::cmsg::{self, ControlBuf};
use crate::engine::or_would_block;
use crate::io::message::{budget_for, msghdr, RECV_CONTEXT, SEND_CONTEXT};
use crate::messages::{InputMessage, OutputMessage};
use crate::socket::Socket;
use crate::sys::mmsg::{Batch, Dir};
use crate::sys::os;
use crate::vectors::type_name;

/// The message objects of a batch call: a list, tuple or iterable of `T` (TypeError naming
/// `call` and `what` otherwise).
fn messages_of<'py, T: pyo3::PyTypeCheck>(
    obj: &Bound<'py, PyAny>,
    call: &str,
    what: &str,
) -> PyResult<Vec<Bound<'py, T>>> {
    let items: Vec<Bound<'py, PyAny>> = if let Ok(list) = obj.cast::<PyList>() {
        list.iter().collect()
    } else if let Ok(tuple) = obj.cast::<PyTuple>() {
        tuple.iter().collect()
    } else {
        obj.try_iter()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "messages must be a sequence of {what}, not '{}'",
                    type_name(obj)
                ))
            })?
            .collect::<PyResult<_>>()?
    };
    items
        .into_iter()
        .map(|item| {
            item.cast_into::<T>().map_err(|e| {
                PyTypeError::new_err(format!(
                    "{call}() takes {what} objects, not '{}'",
                    type_name(&e.into_inner())
                ))
            })
        })
        .collect()
}

/// How a batch loop ended.
pub(crate) enum End {
    /// All done, or stopped early without error (partial count).
    Done,
    /// Failed: raise unless some messages went (GIO), except for `hard` errors (signal
    /// handler exceptions such as KeyboardInterrupt), which always propagate.
    Failed { err: PyErr, hard: bool },
    /// Non-blocking and the next message would block (the count says whether any went).
    WouldBlock,
}

impl Socket {
    /// The shared GIO batch loop over prepared headers: sendmmsg/recvmmsg (`dir`) until every
    /// message is done, waiting on EAGAIN within the call's budget (`flags` may say
    /// `MSG_DONTWAIT`; `MSG_WAITFORONE` ends a receive after the first success). The GIL is
    /// released during each syscall. Returns how many went and how it ended.
    pub(crate) fn batch(
        &self,
        py: Python<'_>,
        dir: Dir,
        hdrs: &mut [os::mmsghdr],
        flags: i32,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<(usize, End)> {
        let (events, context, sys_flags, wait_for_one) = match dir {
            Dir::Send => (os::POLLOUT, SEND_CONTEXT, flags | os::MSG_NOSIGNAL, false),
            Dir::Recv => (
                os::POLLIN,
                RECV_CONTEXT,
                flags | os::MSG_CMSG_CLOEXEC,
                flags & os::MSG_WAITFORONE != 0,
            ),
        };
        let budget = budget_for(self.default_budget(), flags);
        let n = hdrs.len();
        let mut batch = Batch::new(hdrs);
        if n == 0 {
            // No syscall, but a closed socket (first, as GIO) or a cancelled call still raises.
            self.enter(py)?;
            cancellable::check(py, cancellable)?;
            return Ok((0, End::Done));
        }
        let mut done = 0;
        while done < n {
            // Each round is one `Socket::io` call: it retries on EINTR and waits on EAGAIN.
            match self.io_value(py, events, budget, cancellable, context, true, |fd| {
                batch.run(dir, fd, done, sys_flags)
            }) {
                Ok(None) => return Ok((done, End::WouldBlock)),
                Ok(Some(0)) => break,
                Ok(Some(k)) => {
                    done += k;
                    if wait_for_one {
                        break;
                    }
                }
                Err(err) => {
                    // GIO's errors (timeout, cancellation, the syscall's) end a partial batch
                    // quietly; a signal handler's exception always propagates.
                    let hard = !err.is_instance_of::<PyOSError>(py);
                    return Ok((done, End::Failed { err, hard }));
                }
            }
        }
        Ok((done, End::Done))
    }
}

/// The public calls' result: "would block" with nothing done is WOULD_BLOCK.
fn conclude(py: Python<'_>, done: usize, end: End, context: &str) -> PyResult<usize> {
    or_would_block(py, conclude_value(done, end)?, context)
}

/// The non-blocking twins' result: None when nothing went because it would block.
pub(crate) fn conclude_value(done: usize, end: End) -> PyResult<Option<usize>> {
    match end {
        End::WouldBlock if done == 0 => Ok(None),
        End::Done | End::WouldBlock => Ok(Some(done)),
        End::Failed { err, hard } if hard || done == 0 => Err(err),
        End::Failed { .. } => Ok(Some(done)),
    }
}

#[pymethods]
impl Socket {
    /// Send several datagrams in one go (sendmmsg). Returns how many were sent: once at least
    /// one went, a later failure ends the batch early without raising (GIO); it raises only
    /// when none went. Fills each message's `bytes_sent` (0 for those not sent).
    #[pyo3(signature = (messages, flags = 0, cancellable = None))]
    fn send_messages(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        flags: i32,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let cancel = cancellable::from_arg(&cancellable);
        let (done, end) = self.send_message_batch(py, messages, flags, cancel)?;
        conclude(py, done, end, SEND_CONTEXT)
    }

    /// `send_messages` without blocking: the count, or None if it would block.
    #[pyo3(signature = (messages, flags = 0, cancellable = None))]
    fn _try_send_messages(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        flags: i32,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<usize>> {
        let cancel = cancellable::from_arg(&cancellable);
        let (done, end) =
            self.send_message_batch(py, messages, flags | os::MSG_DONTWAIT, cancel)?;
        conclude_value(done, end)
    }

    /// Receive several datagrams in one go (recvmmsg) into reusable `InputMessage`s. Blocking
    /// sockets wait until every message is filled (GIO) unless `MSG_WAITFORONE` is in
    /// `flags`; a timeout or cancellation after at least one message returns the partial
    /// count. Returns how many messages were filled. If a registered control message class
    /// raises while decoding, every received message is still recorded (descriptors owned or
    /// closed) and the exception propagates.
    #[pyo3(signature = (messages, flags = 0, cancellable = None))]
    fn receive_messages(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        flags: i32,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let cancel = cancellable::from_arg(&cancellable);
        let (done, end) = self.receive_message_batch(py, messages, flags, cancel)?;
        conclude(py, done, end, RECV_CONTEXT)
    }

    /// `receive_messages` without blocking: the count, or None if it would block.
    #[pyo3(signature = (messages, flags = 0, cancellable = None))]
    fn _try_receive_messages(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        flags: i32,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Option<usize>> {
        let cancel = cancellable::from_arg(&cancellable);
        let (done, end) =
            self.receive_message_batch(py, messages, flags | os::MSG_DONTWAIT, cancel)?;
        conclude_value(done, end)
    }
}

impl Socket {
    /// `send_messages`' work: encode, send, fill `bytes_sent`; how many went and how it ended.
    fn send_message_batch(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        flags: i32,
        cancel: Option<&Cancellable>,
    ) -> PyResult<(usize, End)> {
        let items = messages_of::<OutputMessage>(messages, "send_messages", "OutputMessage")?;
        let refs = items
            .iter()
            .map(|m| {
                m.try_borrow().map_err(|_| {
                    PyRuntimeError::new_err("an OutputMessage is being modified by another thread")
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        // Encode every control message before sending anything.
        let mut controls: Vec<ControlBuf> = Vec::new();
        if refs.iter().any(|m| m.has_control()) {
            controls = refs
                .iter()
                .map(|m| {
                    let target = cmsg::target(m.address.as_ref(), self.family);
                    cmsg::encode(py, &m.meta, &m.control(py), target)
                })
                .collect::<PyResult<_>>()?;
        }
        let mut hdrs: Vec<os::mmsghdr> = Vec::with_capacity(refs.len());
        let mut no_control = ControlBuf::empty();
        for (i, m) in refs.iter().enumerate() {
            let control = controls.get_mut(i).unwrap_or(&mut no_control);
            hdrs.push(os::mmsghdr {
                msg_hdr: msghdr(m.address.as_ref(), m.vecs.iov(), control),
                msg_len: 0,
            });
        }
        let (done, end) = self.batch(py, Dir::Send, &mut hdrs, flags, cancel)?;
        for (i, m) in refs.iter().enumerate() {
            m.set_bytes_sent(if i < done {
                hdrs[i].msg_len as usize
            } else {
                0
            });
        }
        Ok((done, end))
    }

    /// `receive_messages`' work: receive into the messages and record every result.
    fn receive_message_batch(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        flags: i32,
        cancel: Option<&Cancellable>,
    ) -> PyResult<(usize, End)> {
        let items = messages_of::<InputMessage>(messages, "receive_messages", "InputMessage")?;
        let mut refs = items
            .iter()
            .map(|m| {
                m.try_borrow_mut().map_err(|_| {
                    PyRuntimeError::new_err(
                        "an InputMessage is in use (listed twice, or used by another thread)",
                    )
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let mut hdrs: Vec<os::mmsghdr> = Vec::with_capacity(refs.len());
        let inet = matches!(self.family, os::AF_INET | os::AF_INET6);
        for m in refs.iter_mut() {
            let m = &mut **m;
            hdrs.push(os::mmsghdr {
                msg_hdr: m.recv_hdr(inet),
                msg_len: 0,
            });
        }
        let (done, end) = self.batch(py, Dir::Recv, &mut hdrs, flags, cancel)?;
        // Record every result (taking every received descriptor) before reporting errors.
        let mut first_err = None;
        for (i, m) in refs.iter_mut().take(done).enumerate() {
            let h = &hdrs[i];
            if let Err(e) = m.finish(
                py,
                h.msg_len as usize,
                h.msg_hdr.msg_flags,
                h.msg_hdr.msg_namelen,
                h.msg_hdr.msg_controllen as usize,
            ) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        Ok((done, end))
    }
}
