//! Borrowing Python buffers without copying: read-only for sends, writable for `*_into`.

use std::ptr::NonNull;

use pyo3::exceptions::{PyBufferError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// A raw pointer that may cross into a `Python::detach` closure. The owner keeps the memory
/// alive (a held buffer export) for the whole call.
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut u8);
// SAFETY: the pointee is a Python buffer export held by the calling frame for the entire
// detached section; nothing else frees it meanwhile.
unsafe impl Send for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so closures capture the whole Send wrapper, not the field).
    pub fn get(self) -> *mut u8 {
        self.0
    }
}

/// A held buffer export (`PyObject_GetBuffer`), released on drop.
struct Export(Box<ffi::Py_buffer>);

/// `PyObject_GetBuffer(obj, view, flags)` with a TypeError naming what was expected.
fn get_buffer(obj: &Bound<'_, PyAny>, view: &mut ffi::Py_buffer, writable: bool) -> PyResult<()> {
    let flags = if writable {
        ffi::PyBUF_WRITABLE
    } else {
        ffi::PyBUF_SIMPLE
    };
    // SAFETY: `obj` is a live object (GIL held) and `view` a live, writable Py_buffer.
    let rc = unsafe { ffi::PyObject_GetBuffer(obj.as_ptr(), view, flags) };
    if rc == 0 {
        return Ok(());
    }
    let err = PyErr::fetch(obj.py());
    let kind = if writable {
        "a writable contiguous buffer"
    } else {
        "a contiguous bytes-like object"
    };
    if err.is_instance_of::<PyBufferError>(obj.py()) || err.is_instance_of::<PyTypeError>(obj.py())
    {
        let tname = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(PyTypeError::new_err(format!(
            "{kind} is required, not '{tname}'"
        )));
    }
    Err(err)
}

/// Lend the writable, contiguous memory of `obj` to `f` for the duration of the call: the
/// buffer export lives in this stack frame (no allocation) and is released when `f` returns.
pub fn with_writable<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(SendPtr, usize) -> PyResult<R>,
) -> PyResult<R> {
    // SAFETY: Py_buffer is plain data; zeroed is a valid "empty" value for GetBuffer to fill.
    let mut view: ffi::Py_buffer = unsafe { std::mem::zeroed() };
    get_buffer(obj, &mut view, true)?;
    struct Release<'v>(&'v mut ffi::Py_buffer);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            // SAFETY: filled by a successful PyObject_GetBuffer, released exactly once, with
            // the GIL held (the caller holds `obj`'s Bound, so it is attached).
            unsafe { ffi::PyBuffer_Release(self.0) };
        }
    }
    let held = Release(&mut view);
    let ptr = SendPtr(held.0.buf.cast());
    let len = held.0.len.max(0) as usize;
    f(ptr, len)
}

impl Export {
    fn get(obj: &Bound<'_, PyAny>, writable: bool) -> PyResult<Self> {
        // SAFETY: Py_buffer is plain data; zeroed is a valid "empty" value for GetBuffer to fill.
        let mut view: Box<ffi::Py_buffer> = Box::new(unsafe { std::mem::zeroed() });
        get_buffer(obj, &mut view, writable)?;
        Ok(Export(view))
    }

    fn ptr(&self) -> *mut u8 {
        self.0.buf.cast()
    }

    fn len(&self) -> usize {
        self.0.len.max(0) as usize
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released once;
        // attach guarantees the GIL is held.
        Python::attach(|_| unsafe { ffi::PyBuffer_Release(&mut *self.0) });
    }
}

// SAFETY: an export is only touched (released) with the GIL held, see Drop.
unsafe impl Send for Export {}
// SAFETY: shared access never mutates the Py_buffer struct.
unsafe impl Sync for Export {}

/// Bytes to send: borrowed from the caller's object, or owned for a `list[int]`.
pub struct ReadBuf {
    held: Held,
}

enum Held {
    /// The bytes object is held only to keep the pointed-to data alive.
    #[allow(dead_code)]
    Bytes(Py<PyBytes>, NonNull<u8>, usize),
    Export(Export),
    Owned(Vec<u8>),
}

// SAFETY: the raw pointer in `Bytes` points into an immutable bytes object kept alive by the
// `Py<PyBytes>` beside it.
unsafe impl Send for Held {}
// SAFETY: shared access is read-only.
unsafe impl Sync for Held {}

impl ReadBuf {
    /// Borrow `obj` (any buffer, or a `list[int]` of 0..255 which is copied).
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            let slice = bytes.as_bytes();
            let ptr = NonNull::new(slice.as_ptr() as *mut u8).unwrap_or(NonNull::dangling());
            return Ok(ReadBuf {
                held: Held::Bytes(bytes.clone().unbind(), ptr, slice.len()),
            });
        }
        if let Ok(list) = obj.cast::<PyList>() {
            let mut owned = Vec::with_capacity(list.len());
            for item in list.iter() {
                let v: i64 = item
                    .extract()
                    .map_err(|_| PyTypeError::new_err("a list buffer must hold ints"))?;
                let b = u8::try_from(v).map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err("byte must be in range(0, 256)")
                })?;
                owned.push(b);
            }
            return Ok(ReadBuf {
                held: Held::Owned(owned),
            });
        }
        Ok(ReadBuf {
            held: Held::Export(Export::get(obj, false)?),
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.held {
            // SAFETY: ptr/len describe the live, immutable bytes object held beside them.
            Held::Bytes(_, ptr, len) => unsafe { std::slice::from_raw_parts(ptr.as_ptr(), *len) },
            Held::Export(e) if e.len() == 0 => &[],
            // SAFETY: the export is held for our lifetime; buf/len come from the exporter.
            Held::Export(e) => unsafe { std::slice::from_raw_parts(e.ptr(), e.len()) },
            Held::Owned(v) => v,
        }
    }
}

/// A writable, contiguous buffer borrowed from the caller (`bytearray`, `memoryview`, ...).
pub struct WriteBuf(Export);

impl WriteBuf {
    /// Borrow `obj` for writing; TypeError for read-only or non-contiguous objects.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(WriteBuf(Export::get(obj, true)?))
    }

    /// Start of the writable memory.
    pub fn ptr(&self) -> SendPtr {
        SendPtr(self.0.ptr())
    }

    /// Capacity in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// A `bytes` object of `size` bytes being filled, shrunk to the filled length at the end.
pub struct BytesOut {
    obj: *mut ffi::PyObject,
    size: usize,
}

extern "C" {
    // CPython's exported helper used by the stdlib socket module to shrink a fresh bytes.
    fn _PyBytes_Resize(
        bytes: *mut *mut ffi::PyObject,
        newsize: ffi::Py_ssize_t,
    ) -> std::os::raw::c_int;
}

impl BytesOut {
    /// Allocate an uninitialised `bytes` of `size` bytes.
    pub fn new(py: Python<'_>, size: usize) -> PyResult<Self> {
        let ssize = ffi::Py_ssize_t::try_from(size)
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("size is too large"))?;
        // SAFETY: a NULL source asks CPython for a fresh, uninitialised bytes of `size`.
        let obj = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), ssize) };
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(BytesOut { obj, size })
    }

    /// Start of the bytes' storage (valid while `self` lives).
    pub fn ptr(&self) -> SendPtr {
        // SAFETY: `obj` is a live bytes object we exclusively own.
        SendPtr(unsafe { ffi::PyBytes_AsString(self.obj) }.cast())
    }

    /// Capacity in bytes.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Shrink to `filled` bytes and hand the object to Python.
    pub fn finish(mut self, py: Python<'_>, filled: usize) -> PyResult<Py<PyBytes>> {
        if filled < self.size {
            // SAFETY: `obj` is a fresh bytes with refcount 1 that only we reference, which is
            // what _PyBytes_Resize requires; on failure it frees the object and sets NULL.
            let rc = unsafe { _PyBytes_Resize(&mut self.obj, filled as ffi::Py_ssize_t) };
            if rc != 0 {
                self.obj = std::ptr::null_mut();
                return Err(PyErr::fetch(py));
            }
        }
        let obj = std::mem::replace(&mut self.obj, std::ptr::null_mut());
        // SAFETY: we own the one strong reference to `obj`, a bytes object.
        Ok(unsafe { Bound::from_owned_ptr(py, obj).cast_into_unchecked::<PyBytes>() }.unbind())
    }
}

impl Drop for BytesOut {
    fn drop(&mut self) {
        if !self.obj.is_null() {
            // SAFETY: we own the one strong reference; attach guarantees the GIL.
            Python::attach(|_| unsafe { ffi::Py_DECREF(self.obj) });
        }
    }
}
