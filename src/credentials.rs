//! `Credentials` (GIO's `GCredentials`, the Linux `struct ucred` flavour) and
//! `Socket.get_credentials()` (SO_PEERCRED).
//!
//! Other modules build credentials from a kernel `ucred` with [`Credentials::from_ucred`]
//! (SCM_CREDENTIALS control messages, `UnixConnection.receive_credentials`) and read it back
//! with [`Credentials::ucred`] to send one.
//!
//! GIO names (`to_string`) are kept for the Python methods, hence the clippy allowance.
#![allow(clippy::inherent_to_string)]

use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::{self, Code};
use crate::socket::Socket;
use crate::sys::creds::{self, Ids};
use crate::sys::os;

/// `(uid_t) -1` / `(gid_t) -1`: "no data" in a `ucred`.
const NO_ID: u32 = u32::MAX;

/// GIO's `GCredentialsType` of Linux's native credentials, `G_CREDENTIALS_TYPE_LINUX_UCRED`.
const NATIVE_TYPE: i32 = 1;

/// Size of the native form `set_native`/`get_native` exchange: `struct ucred` (pid, uid, gid).
const NATIVE_SIZE: usize = 12;

/// A process's credentials: pid, uid, gid (GIO's `GCredentials`). `Credentials()` describes
/// the calling process. Safe to share between threads.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct Credentials {
    ids: Mutex<Ids>,
}

impl Credentials {
    /// Credentials from raw values (`pid` -1 = unknown, ids `u32::MAX` = "no data").
    pub fn from_parts(pid: i32, uid: u32, gid: u32) -> Credentials {
        Credentials {
            ids: Mutex::new((pid, uid, gid)),
        }
    }

    /// The calling process's credentials (GIO's `g_credentials_new`).
    pub fn current() -> Credentials {
        let (pid, uid, gid) = creds::current();
        Credentials::from_parts(pid, uid, gid)
    }

    /// Credentials from a kernel `struct ucred` (SO_PEERCRED, SCM_CREDENTIALS).
    pub fn from_ucred(cred: &os::ucred) -> Credentials {
        Credentials::from_parts(cred.pid, cred.uid, cred.gid)
    }

    /// The credentials as a kernel `struct ucred` (to send as SCM_CREDENTIALS).
    pub fn ucred(&self) -> os::ucred {
        let (pid, uid, gid) = self.ids();
        os::ucred { pid, uid, gid }
    }

    fn lock(&self) -> MutexGuard<'_, Ids> {
        // A poisoned lock only means a panic elsewhere; the plain ids are still whole.
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `(pid, uid, gid)` as stored.
    fn ids(&self) -> Ids {
        *self.lock()
    }

    /// The process id as stored (0 or -1 when the kernel gave none).
    pub fn raw_pid(&self) -> i32 {
        self.ids().0
    }

    /// The user id as stored (`u32::MAX` when the kernel gave none).
    pub fn raw_uid(&self) -> u32 {
        self.ids().1
    }

    /// The group id as stored (`u32::MAX` when the kernel gave none).
    pub fn raw_gid(&self) -> u32 {
        self.ids().2
    }

    /// GIO's `linux_ucred_check_valid`: SO_PEERCRED on a TCP socket yields pid 0, uid/gid -1;
    /// SO_PASSCRED without a sender's credentials yields pid 0 and the overflow ids.
    fn valid(&self) -> bool {
        let (pid, uid, gid) = self.ids();
        !(pid == 0 || uid == NO_ID || gid == NO_ID)
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

    /// GIO's name of the native credentials type.
    fn native_name() -> &'static str {
        "linux-ucred"
    }

    /// NOT_SUPPORTED unless `native_type` is this platform's `GCredentialsType`.
    fn check_native_type(py: Python<'_>, native_type: i32) -> PyResult<()> {
        if native_type == NATIVE_TYPE {
            return Ok(());
        }
        Err(error::error(
            py,
            Code::NotSupported,
            format!(
                "Trying to use credentials of type {native_type} but only type {NATIVE_TYPE} \
                 ({}) is supported on this platform",
                Self::native_name()
            ),
        ))
    }
}

#[pymethods]
impl Credentials {
    /// `Credentials()`: the calling process's pid, effective uid and effective gid.
    #[new]
    fn py_new() -> Self {
        Credentials::current()
    }

    /// GIO's `g_credentials_new()`: the calling process's credentials, as the constructor.
    #[staticmethod]
    #[allow(clippy::new_ret_no_self)]
    fn new() -> Self {
        Credentials::current()
    }

    /// The native form: the 12 bytes of a `struct ucred` (pid, uid, gid in host byte order)
    /// for `native_type` 1 (GIO's `G_CREDENTIALS_TYPE_LINUX_UCRED`); NOT_SUPPORTED for
    /// another type.
    fn get_native<'py>(
        &self,
        py: Python<'py>,
        native_type: i32,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        Self::check_native_type(py, native_type)?;
        let (pid, uid, gid) = self.ids();
        let mut raw = [0u8; NATIVE_SIZE];
        raw[..4].copy_from_slice(&pid.to_ne_bytes());
        raw[4..8].copy_from_slice(&uid.to_ne_bytes());
        raw[8..].copy_from_slice(&gid.to_ne_bytes());
        Ok(pyo3::types::PyBytes::new(py, &raw))
    }

    /// Replace all three ids from a native form as `get_native` returns it (GIO's
    /// `g_credentials_set_native`); NOT_SUPPORTED for another type, ValueError for a buffer
    /// that is not 12 bytes.
    fn set_native(
        &self,
        py: Python<'_>,
        native_type: i32,
        native: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        Self::check_native_type(py, native_type)?;
        let buf = crate::buffer::ReadBuf::new(native)?;
        let raw: [u8; NATIVE_SIZE] = buf.as_slice().try_into().map_err(|_| {
            PyValueError::new_err(format!(
                "native credentials are {NATIVE_SIZE} bytes (struct ucred), not {}",
                buf.as_slice().len()
            ))
        })?;
        let word = |i: usize| [raw[i], raw[i + 1], raw[i + 2], raw[i + 3]];
        *self.lock() = (
            i32::from_ne_bytes(word(0)),
            u32::from_ne_bytes(word(4)),
            u32::from_ne_bytes(word(8)),
        );
        Ok(())
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
        let pid = self.raw_pid();
        if pid == -1 {
            return Err(error::error(
                py,
                Code::NotSupported,
                "GCredentials does not contain a process ID on this OS",
            ));
        }
        Ok(pid)
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
        self.lock().1 = uid;
        Ok(true)
    }

    /// Whether both credentials name the same user (False when these hold no valid data).
    fn is_same_user(&self, other: &Bound<'_, Credentials>) -> bool {
        self.valid() && self.raw_uid() == other.get().raw_uid()
    }

    /// Human-readable form, as GIO: `GCredentials:linux-ucred:pid=1,uid=0,gid=0`.
    fn to_string(&self) -> String {
        let (pid, uid, gid) = self.ids();
        let mut fields = Vec::with_capacity(3);
        if pid != -1 {
            fields.push(format!("pid={pid}"));
        }
        if uid != NO_ID {
            fields.push(format!("uid={uid}"));
        }
        if gid != NO_ID {
            fields.push(format!("gid={gid}"));
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

#[pymethods]
impl Socket {
    /// The connected peer's credentials (SO_PEERCRED). On Linux a TCP socket gives
    /// credentials whose getters raise INVALID_DATA, as GIO.
    fn get_credentials(&self, py: Python<'_>) -> PyResult<Credentials> {
        let guard = self.enter(py)?;
        let (pid, uid, gid) = creds::peer(guard.fd)
            .map_err(|e| error::os_error(py, e, "Unable to read socket credentials"))?;
        Ok(Credentials::from_parts(pid, uid, gid))
    }
}
