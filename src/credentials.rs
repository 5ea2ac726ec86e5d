//! `Credentials` (GIO's `GCredentials`, the Linux `struct ucred` flavour) and
//! `Socket.get_credentials()` (SO_PEERCRED; `getpeereid`/LOCAL_PEERPID on the BSDs and macOS).
//!
//! Other modules build credentials from a kernel `ucred` with [`Credentials::from_ucred`]
//! (SCM_CREDENTIALS control messages, `UnixConnection.receive_credentials`) and read it back
//! with [`Credentials::ucred`] to send one.
//!
//! GIO names (`to_string`) are kept for the Python methods, hence the clippy allowance.
#![allow(clippy::inherent_to_string)]

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::{self, Code};
use crate::socket::Socket;

/// `(uid_t) -1` / `(gid_t) -1`: "no data" in a `ucred`.
const NO_ID: u32 = u32::MAX;

/// A process's credentials: pid, uid, gid (GIO's `GCredentials`). `Credentials()` describes
/// the calling process. Safe to share between threads.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct Credentials {
    pid: i32,
    uid: AtomicU32,
    gid: u32,
}

impl Credentials {
    /// Credentials from raw values (`pid` -1 = unknown, ids `u32::MAX` = "no data").
    pub fn from_parts(pid: i32, uid: u32, gid: u32) -> Credentials {
        Credentials {
            pid,
            uid: AtomicU32::new(uid),
            gid,
        }
    }

    /// The calling process's credentials (GIO's `g_credentials_new`).
    pub fn current() -> Credentials {
        // SAFETY: getpid/geteuid/getegid cannot fail.
        let (pid, uid, gid) = unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) };
        Credentials::from_parts(pid, uid, gid)
    }

    /// Credentials from a kernel `struct ucred` (SO_PEERCRED, SCM_CREDENTIALS).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn from_ucred(cred: &libc::ucred) -> Credentials {
        Credentials::from_parts(cred.pid, cred.uid, cred.gid)
    }

    /// The credentials as a kernel `struct ucred` (to send as SCM_CREDENTIALS).
    #[allow(dead_code)] // for the SCM_CREDENTIALS encoder and UnixConnection.send_credentials
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn ucred(&self) -> libc::ucred {
        libc::ucred {
            pid: self.pid,
            uid: self.uid.load(Relaxed),
            gid: self.gid,
        }
    }

    /// The process id as stored (0 or -1 when the kernel gave none).
    pub fn raw_pid(&self) -> i32 {
        self.pid
    }

    /// The user id as stored (`u32::MAX` when the kernel gave none).
    pub fn raw_uid(&self) -> u32 {
        self.uid.load(Relaxed)
    }

    /// The group id as stored (`u32::MAX` when the kernel gave none).
    pub fn raw_gid(&self) -> u32 {
        self.gid
    }

    /// GIO's `linux_ucred_check_valid`: SO_PEERCRED on a TCP socket yields pid 0, uid/gid -1;
    /// SO_PASSCRED without a sender's credentials yields pid 0 and the overflow ids.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn valid(&self) -> bool {
        !(self.pid == 0 || self.raw_uid() == NO_ID || self.gid == NO_ID)
    }

    /// Elsewhere the native structures have no "invalid" marker beyond missing ids.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn valid(&self) -> bool {
        self.raw_uid() != NO_ID
    }

    fn check_valid(&self, py: Python<'_>) -> PyResult<()> {
        if self.valid() {
            Ok(())
        } else {
            Err(error::error(
                py,
                Code::InvalidData,
                "GCredentials contains invalid data",
            ))
        }
    }

    fn native_name() -> &'static str {
        if cfg!(any(target_os = "linux", target_os = "android")) {
            "linux-ucred"
        } else if cfg!(any(target_os = "macos", target_os = "ios")) {
            "apple-xucred"
        } else {
            "peereid"
        }
    }
}

#[pymethods]
impl Credentials {
    /// `Credentials()`: the calling process's pid, effective uid and effective gid.
    #[new]
    fn py_new() -> Self {
        Credentials::current()
    }

    /// The process id, as stored (0 or -1 when the kernel gave none; see `get_unix_pid`).
    #[getter(pid)]
    fn prop_pid(&self) -> i32 {
        self.raw_pid()
    }

    /// The user id, as stored (4294967295 when the kernel gave none; see `get_unix_user`).
    #[getter(uid)]
    fn prop_uid(&self) -> u32 {
        self.raw_uid()
    }

    /// The group id, as stored (4294967295 when the kernel gave none).
    #[getter(gid)]
    fn prop_gid(&self) -> u32 {
        self.raw_gid()
    }

    /// The UNIX process id; INVALID_DATA when the credentials hold the kernel's "no data"
    /// values (NOT_SUPPORTED where the platform does not report peer pids).
    fn get_unix_pid(&self, py: Python<'_>) -> PyResult<i32> {
        self.check_valid(py)?;
        if self.pid == -1 {
            return Err(error::error(
                py,
                Code::NotSupported,
                "GCredentials does not contain a process ID on this OS",
            ));
        }
        Ok(self.pid)
    }

    /// The UNIX user id; INVALID_DATA when the credentials hold the kernel's "no data" values.
    fn get_unix_user(&self, py: Python<'_>) -> PyResult<u32> {
        self.check_valid(py)?;
        Ok(self.raw_uid())
    }

    /// Set the UNIX user id (4294967295, i.e. `(uid_t) -1`, is refused with ValueError).
    fn set_unix_user(&self, uid: u32) -> PyResult<bool> {
        if uid == NO_ID {
            return Err(PyValueError::new_err(
                "uid 4294967295 ((uid_t) -1) means 'no user' and cannot be set",
            ));
        }
        self.uid.store(uid, Relaxed);
        Ok(true)
    }

    /// Whether both credentials name the same user (False when these hold no valid data).
    fn is_same_user(&self, other: &Bound<'_, Credentials>) -> bool {
        self.valid() && self.raw_uid() == other.get().raw_uid()
    }

    /// Human-readable form, as GIO: `GCredentials:linux-ucred:pid=1,uid=0,gid=0`.
    fn to_string(&self) -> String {
        let mut fields = Vec::with_capacity(3);
        if self.pid != -1 {
            fields.push(format!("pid={}", self.pid));
        }
        if self.raw_uid() != NO_ID {
            fields.push(format!("uid={}", self.raw_uid()));
        }
        if self.gid != NO_ID {
            fields.push(format!("gid={}", self.gid));
        }
        format!("GCredentials:{}:{}", Self::native_name(), fields.join(","))
    }

    fn __str__(&self) -> String {
        self.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<giosocket.Credentials {}>", self.to_string())
    }
}

/// Read the peer's credentials of a connected UNIX socket (`Err(errno)` on failure).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_credentials(fd: std::os::fd::RawFd) -> Result<Credentials, i32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred`/`len` are live and sized for SO_PEERCRED's struct ucred.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(error::last_errno());
    }
    Ok(Credentials::from_ucred(&cred))
}

/// Read the peer's credentials of a connected UNIX socket (`Err(errno)` on failure).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd"
))]
fn peer_credentials(fd: std::os::fd::RawFd) -> Result<Credentials, i32> {
    let mut uid: libc::uid_t = NO_ID;
    let mut gid: libc::gid_t = NO_ID;
    // SAFETY: `uid`/`gid` are live out-parameters.
    if unsafe { libc::getpeereid(fd, &mut uid, &mut gid) } < 0 {
        return Err(error::last_errno());
    }
    #[allow(unused_mut)]
    let mut pid: libc::pid_t = -1;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
        let mut peer: libc::pid_t = -1;
        // SAFETY: `peer`/`len` are live and sized for LOCAL_PEERPID's pid_t.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_LOCAL,
                libc::LOCAL_PEERPID,
                (&mut peer as *mut libc::pid_t).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            pid = peer;
        }
    }
    Ok(Credentials::from_parts(pid, uid, gid))
}

#[pymethods]
impl Socket {
    /// The connected peer's credentials (SO_PEERCRED). On Linux a TCP socket gives
    /// credentials whose getters raise INVALID_DATA, as GIO.
    fn get_credentials(&self, py: Python<'_>) -> PyResult<Credentials> {
        let guard = self.enter(py)?;
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "openbsd",
            target_os = "netbsd"
        ))]
        {
            peer_credentials(guard.fd)
                .map_err(|e| error::os_error(py, e, "Unable to read socket credentials"))
        }
        #[cfg(not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "openbsd",
            target_os = "netbsd"
        )))]
        {
            let _ = guard;
            Err(error::error(
                py,
                Code::NotSupported,
                "Unable to read socket credentials: not supported on this OS",
            ))
        }
    }
}
