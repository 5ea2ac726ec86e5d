//! `send_message`, `send_message_with_timeout`, `receive_message` (sendmsg/recvmsg with
//! scatter/gather vectors and control messages) and `set_udp_gro`.

use pyo3::prelude::*;
use pyo3::types::PyList;
use socket2::SockAddr;

use crate::address::{sockaddr_from_py, sockaddr_to_py, SocketAddress};
use crate::cancellable::{self, Cancellable};
use crate::cmsg::{self, ControlBuf};
use crate::control::udp::{self, UDP_GRO};
use crate::engine::Budget;
use crate::enums::{self, Kind};
use crate::error::{self, Code};
use crate::socket::Socket;
use crate::sys;
use crate::sys::errno;
use crate::sys::mmsg::{self, Msg, NameBuf};
use crate::sys::os;
use crate::vectors::{InVecs, OutVecs};

/// GIO's context for send errors.
pub const SEND_CONTEXT: &str = "Error sending message";
/// GIO's context for receive errors.
pub const RECV_CONTEXT: &str = "Error receiving message";

/// `receive_message`'s result: (bytes, sender, control messages, output flags).
type Received = (usize, Option<Py<PyAny>>, Py<PyList>, i32);

/// The byte GIO sends when a message has no vectors.
static NUL: u8 = 0;

/// A destination address: borrowed from a `SocketAddress` object (no copy), or converted.
enum Dest<'py> {
    Unset,
    Borrowed(Bound<'py, SocketAddress>),
    Owned(SockAddr),
}

impl<'py> Dest<'py> {
    fn new(address: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        match address {
            None => Ok(Dest::Unset),
            Some(a) if a.is_none() => Ok(Dest::Unset),
            Some(a) => match a.cast::<SocketAddress>() {
                Ok(sa) => Ok(Dest::Borrowed(sa.clone())),
                Err(_) => Ok(Dest::Owned(sockaddr_from_py(a)?)),
            },
        }
    }

    fn get(&self) -> Option<&SockAddr> {
        match self {
            Dest::Unset => None,
            Dest::Borrowed(sa) => Some(&sa.get().native),
            Dest::Owned(addr) => Some(addr),
        }
    }
}

/// The call's budget: `MSG_DONTWAIT` in `flags` makes it non-blocking.
pub fn budget_for(default: Budget, flags: i32) -> Budget {
    if flags & os::MSG_DONTWAIT != 0 {
        Budget::NonBlocking
    } else {
        default
    }
}

/// A `msghdr` over the given parts (pointers must outlive its use).
pub fn msghdr(name: Option<&SockAddr>, iov: &[os::iovec], control: &mut ControlBuf) -> os::msghdr {
    let mut hdr = mmsg::empty_msghdr();
    if let Some(addr) = name {
        hdr.msg_name = addr.as_ptr() as *mut os::c_void;
        hdr.msg_namelen = addr.len();
    }
    if iov.is_empty() {
        hdr.msg_iov = std::ptr::null_mut();
    } else {
        hdr.msg_iov = iov.as_ptr() as *mut os::iovec;
    }
    hdr.msg_iovlen = iov.len() as _;
    hdr.msg_control = control.ptr();
    hdr.msg_controllen = control.len() as _;
    hdr
}

/// A receiving `msghdr`: `msghdr` with the sender's address going to `name`.
pub fn recv_msghdr(name: &mut NameBuf, iov: &[os::iovec], control: &mut ControlBuf) -> os::msghdr {
    let mut hdr = msghdr(None, iov, control);
    hdr.msg_name = name.as_mut_ptr();
    hdr.msg_namelen = NameBuf::CAPACITY;
    hdr
}

impl Socket {
    /// sendmsg within `budget`. `Ok(None)`: would block and `soft_would_block` was asked.
    #[allow(clippy::too_many_arguments)]
    fn sendmsg_raw(
        &self,
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        vectors: Option<&Bound<'_, PyAny>>,
        messages: Option<&Bound<'_, PyAny>>,
        flags: i32,
        budget: Budget,
        soft_would_block: bool,
        cancellable: Option<&Cancellable>,
    ) -> PyResult<Option<usize>> {
        let to = Dest::new(address)?;
        let vecs = match vectors {
            Some(v) if !v.is_none() => OutVecs::new(v)?,
            _ => OutVecs::empty(),
        };
        let nul = [os::iovec {
            iov_base: (&NUL as *const u8) as *mut os::c_void,
            iov_len: 1,
        }];
        let iov = if vecs.iov().is_empty() {
            &nul[..]
        } else {
            vecs.iov()
        };
        let mut control = cmsg::encode_arg(messages, cmsg::target(to.get(), self.family))?;
        let mut hdr = msghdr(to.get(), iov, &mut control);
        let msg = Msg::new(&mut hdr);
        let budget = budget_for(budget, flags);
        let soft = soft_would_block && !budget.blocks();
        let flags = flags | os::MSG_NOSIGNAL;
        self.io(
            py,
            os::POLLOUT,
            budget,
            cancellable,
            SEND_CONTEXT,
            true,
            move |fd| {
                // The msghdr points into `to`, `vecs`/`nul` and `control`, all alive for the
                // whole call.
                match msg.send(fd, flags) {
                    Ok(n) => Ok(Some(n)),
                    Err(errno::EAGAIN) if soft => Ok(None),
                    Err(errno) => Err(errno),
                }
            },
        )
    }
}

#[pymethods]
impl Socket {
    /// Send one message gathered from `vectors` (buffers or OutputVectors; none sends one NUL
    /// byte, as GIO) with optional control messages, to `address` (None = connected peer).
    /// Returns the bytes sent.
    #[pyo3(signature = (address, vectors, messages = None, flags = 0, cancellable = None))]
    fn send_message(
        &self,
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        vectors: Option<&Bound<'_, PyAny>>,
        messages: Option<&Bound<'_, PyAny>>,
        flags: i32,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<usize> {
        let sent = self.sendmsg_raw(
            py,
            address,
            vectors,
            messages,
            flags,
            self.default_budget(),
            false,
            cancellable::from_arg(&cancellable),
        )?;
        Ok(sent.unwrap_or(0))
    }

    /// Like `send_message`, waiting at most `timeout_us` µs (-1 forever, 0 never). Returns
    /// `(PollableReturn, bytes_written)`: `WOULD_BLOCK` is returned, not raised (GIO);
    /// running out of time raises TIMED_OUT.
    #[pyo3(signature = (address, vectors, messages, flags, timeout_us, cancellable = None))]
    #[allow(clippy::too_many_arguments)]
    fn send_message_with_timeout(
        &self,
        py: Python<'_>,
        address: Option<&Bound<'_, PyAny>>,
        vectors: Option<&Bound<'_, PyAny>>,
        messages: Option<&Bound<'_, PyAny>>,
        flags: i32,
        timeout_us: i64,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<(Py<PyAny>, usize)> {
        let sent = self.sendmsg_raw(
            py,
            address,
            vectors,
            messages,
            flags,
            Budget::from_timeout_us(timeout_us),
            true,
            cancellable::from_arg(&cancellable),
        )?;
        Ok(match sent {
            Some(n) => (enums::make(py, Kind::Pollable, enums::POLLABLE_OK)?, n),
            None => (
                enums::make(py, Kind::Pollable, enums::POLLABLE_WOULD_BLOCK)?,
                0,
            ),
        })
    }

    /// Receive one message scattered into `vectors` (writable buffers or InputVectors; None or
    /// empty reads and discards one byte, as GIO). Returns `(bytes, sender, control_messages,
    /// flags)`; `flags` are the kernel's output flags (`MSG_TRUNC`, `MSG_CTRUNC`, ...).
    /// Received descriptors are close-on-exec and owned by their `UnixFDMessage`.
    #[pyo3(signature = (vectors = None, flags = 0, cancellable = None))]
    fn receive_message(
        &self,
        py: Python<'_>,
        vectors: Option<&Bound<'_, PyAny>>,
        flags: i32,
        cancellable: Option<Bound<'_, Cancellable>>,
    ) -> PyResult<Received> {
        let vecs = match vectors {
            Some(v) if !v.is_none() => Some(InVecs::new(v)?),
            _ => None,
        };
        let mut scratch = [0u8; 1];
        let one = [os::iovec {
            iov_base: scratch.as_mut_ptr().cast(),
            iov_len: 1,
        }];
        let iov = match &vecs {
            Some(v) if !v.iov().is_empty() => v.iov(),
            _ => &one[..],
        };
        let mut control = ControlBuf::with_len(cmsg::RECV_SPACE);
        let mut name = NameBuf::new();
        let mut hdr = recv_msghdr(&mut name, iov, &mut control);
        let mut msg = Msg::new(&mut hdr);
        let budget = budget_for(self.default_budget(), flags);
        let sys_flags = flags | os::MSG_CMSG_CLOEXEC;
        let n = self.io(
            py,
            os::POLLIN,
            budget,
            cancellable::from_arg(&cancellable),
            RECV_CONTEXT,
            true,
            |fd| {
                // The msghdr points into `name`, `vecs`/`scratch` and `control`, all alive and
                // exclusively ours for the call; only this closure touches `hdr`.
                msg.receive(fd, sys_flags)
            },
        )?;
        let name = (hdr.msg_namelen > 0).then(|| name.to_sockaddr(hdr.msg_namelen));
        // Take the descriptors first: nothing after this may leak them.
        let messages = cmsg::decode(py, &control, hdr.msg_controllen, name.as_ref())?;
        let list = PyList::new(py, messages)?.unbind();
        let sender = match &name {
            Some(addr) => sockaddr_to_py(py, addr)?,
            None => None,
        };
        Ok((n, sender, list, hdr.msg_flags & !os::MSG_CMSG_CLOEXEC))
    }

    /// Enable or disable UDP generic receive offload (Linux `UDP_GRO`): the kernel may then
    /// deliver several datagrams of one flow coalesced into one buffer, with a
    /// `UdpSegmentMessage` (ask for control messages) telling their size. Raises
    /// NOT_SUPPORTED where the kernel lacks it.
    fn set_udp_gro(&self, py: Python<'_>, enabled: bool) -> PyResult<bool> {
        let guard = self.enter(py)?;
        if !udp::gro_supported() {
            return Err(error::error(
                py,
                Code::NotSupported,
                "UDP generic receive offload (UDP_GRO) is not supported by this kernel",
            ));
        }
        sys::setsockopt_int(guard.fd, os::SOL_UDP, UDP_GRO, enabled as i32).map_err(|e| {
            if e == os::ENOPROTOOPT {
                error::error(
                    py,
                    Code::NotSupported,
                    "UDP_GRO is not supported on this socket (UDP sockets only)",
                )
            } else {
                error::os_error(py, e, "Unable to set UDP_GRO")
            }
        })?;
        Ok(true)
    }
}
