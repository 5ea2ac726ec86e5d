//! `send_messages` (sendmmsg) and `receive_messages` (recvmmsg) with GIO's semantics:
//! a partial count without error once at least one message went (an error only when none
//! did); a blocking receive waits for all messages unless `MSG_WAITFORONE` is given; the
//! socket timeout and the Cancellable apply across the whole batch. The kernel handles at
//! most `UIO_MAXIOV` (1024) messages per syscall; longer batches loop. Where the syscalls are
//! missing (ENOSYS), or when the environment variable `GIOSOCKET_NO_MMSG=1` is set (to test
//! that path), a sendmsg/recvmsg loop with the same semantics is used.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::cancellable::{self, Cancellable};
use crate::cmsg::{self, ControlBuf};
use crate::error::last_errno;
use crate::io::message::{budget_for, msghdr, RECV_CONTEXT, SEND_CONTEXT};
use crate::messages::{InputMessage, OutputMessage};
use crate::socket::{Socket, DETACH_ABOVE};
use crate::vectors::{type_name, Unshared};

/// The kernel's per-call limit (UIO_MAXIOV).
const MAX_PER_CALL: usize = 1024;

/// 0 = unknown, 1 = use sendmmsg/recvmmsg, 2 = loop (ENOSYS or forced).
static MMSG: AtomicU8 = AtomicU8::new(0);

fn mmsg_available() -> bool {
    match MMSG.load(Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let forced = std::env::var_os("GIOSOCKET_NO_MMSG").is_some_and(|v| v == "1");
            MMSG.store(if forced { 2 } else { 1 }, Relaxed);
            !forced
        }
    }
}

/// Which way a batch goes.
#[derive(Clone, Copy)]
enum Dir {
    Send,
    Recv,
}

/// sendmmsg/recvmmsg of up to `n` messages, or the equivalent sendmsg/recvmsg loop where
/// the syscall is missing. Same contract either way: Ok(messages done) or Err(errno) when
/// the first one failed.
fn mmsg(dir: Dir, fd: i32, hdrs: *mut libc::mmsghdr, n: usize, flags: i32) -> Result<usize, i32> {
    let n = n.min(MAX_PER_CALL);
    if mmsg_available() {
        let vlen = n as libc::c_uint;
        // SAFETY: `hdrs` points to `n` initialised mmsghdrs whose buffers (writable ones for
        // receiving) are alive for the call.
        let rc = unsafe {
            match dir {
                Dir::Send => libc::sendmmsg(fd, hdrs, vlen, flags),
                Dir::Recv => libc::recvmmsg(fd, hdrs, vlen, flags, std::ptr::null_mut()),
            }
        };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let errno = last_errno();
        if errno != libc::ENOSYS {
            return Err(errno);
        }
        MMSG.store(2, Relaxed);
    }
    let one_flags = flags & !libc::MSG_WAITFORONE;
    for i in 0..n {
        // SAFETY: `i < n`, within the array described above.
        let m = unsafe { &mut *hdrs.add(i) };
        // SAFETY: the msghdr's pointers are alive (and writable when receiving) for the call.
        let rc = unsafe {
            match dir {
                Dir::Send => libc::sendmsg(fd, &m.msg_hdr, one_flags),
                Dir::Recv => libc::recvmsg(fd, &mut m.msg_hdr, one_flags),
            }
        };
        if rc < 0 {
            return if i == 0 { Err(last_errno()) } else { Ok(i) };
        }
        m.msg_len = rc as libc::c_uint;
    }
    Ok(n)
}

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
enum End {
    /// All done, or stopped early without error (partial count).
    Done,
    /// Failed: raise unless some messages went (GIO), except for `hard` errors (signal
    /// handler exceptions such as KeyboardInterrupt), which always propagate.
    Failed { err: PyErr, hard: bool },
}

impl Socket {
    /// The shared GIO batch loop over prepared headers: sendmmsg/recvmmsg (`dir`) until every
    /// message is done, waiting on EAGAIN within the call's budget (`flags` may say
    /// `MSG_DONTWAIT`; `MSG_WAITFORONE` ends a receive after the first success). `total` is
    /// the batch's byte count (large batches release the GIL during the syscall). Returns how
    /// many went and how it ended.
    fn batch(
        &self,
        py: Python<'_>,
        dir: Dir,
        hdrs: &mut [libc::mmsghdr],
        total: usize,
        flags: i32,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<(usize, End)> {
        let (events, context, sys_flags, wait_for_one) = match dir {
            Dir::Send => (
                libc::POLLOUT,
                SEND_CONTEXT,
                flags | libc::MSG_NOSIGNAL,
                false,
            ),
            Dir::Recv => (
                libc::POLLIN,
                RECV_CONTEXT,
                flags | libc::MSG_CMSG_CLOEXEC,
                flags & libc::MSG_WAITFORONE != 0,
            ),
        };
        let budget = budget_for(self.default_budget(), flags);
        let detach = total >= DETACH_ABOVE;
        let n = hdrs.len();
        let base = Unshared(hdrs.as_mut_ptr());
        let op = |fd: i32, done: usize| {
            // SAFETY: `done < n` inside the loop, so the pointer stays within `hdrs`, which
            // is borrowed exclusively for this call.
            let at = unsafe { base.get().add(done) };
            mmsg(dir, fd, at, n - done, sys_flags)
        };
        if n == 0 {
            // No syscall, but a cancelled call or a closed socket still raises.
            cancellable::check(py, cancellable)?;
            self.enter(py)?;
            return Ok((0, End::Done));
        }
        let mut done = 0;
        while done < n {
            // Each round is one `Socket::io` call: it retries on EINTR and waits on EAGAIN.
            match self.io(py, events, budget, cancellable, context, detach, |fd| {
                op(fd, done)
            }) {
                Ok(0) => break,
                Ok(k) => {
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

fn conclude(done: usize, end: End) -> PyResult<usize> {
    match end {
        End::Done => Ok(done),
        End::Failed { err, hard } if hard || done == 0 => Err(err),
        End::Failed { .. } => Ok(done),
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
        let mut total = 0usize;
        let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(refs.len());
        let mut no_control = ControlBuf::empty();
        for (i, m) in refs.iter().enumerate() {
            let control = controls.get_mut(i).unwrap_or(&mut no_control);
            total = total.saturating_add(m.vecs.total());
            hdrs.push(libc::mmsghdr {
                msg_hdr: msghdr(m.address.as_ref(), m.vecs.iov(), control),
                msg_len: 0,
            });
        }
        let cancel = cancellable::from_arg(&cancellable);
        let (done, end) = self.batch(py, Dir::Send, &mut hdrs, total, flags, cancel)?;
        for (i, m) in refs.iter().enumerate() {
            m.set_bytes_sent(if i < done {
                hdrs[i].msg_len as usize
            } else {
                0
            });
        }
        conclude(done, end)
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
        let mut total = 0usize;
        let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(refs.len());
        let inet = matches!(self.family, libc::AF_INET | libc::AF_INET6);
        for m in refs.iter_mut() {
            let m = &mut **m;
            total = total.saturating_add(m.vecs.total());
            hdrs.push(libc::mmsghdr {
                msg_hdr: m.recv_hdr(inet),
                msg_len: 0,
            });
        }
        let cancel = cancellable::from_arg(&cancellable);
        let (done, end) = self.batch(py, Dir::Recv, &mut hdrs, total, flags, cancel)?;
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
        conclude(done, end)
    }
}
