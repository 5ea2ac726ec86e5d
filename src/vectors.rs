//! `OutputVector` / `InputVector` (GIO's `GOutputVector` / `GInputVector`) and the held,
//! pre-built iovec arrays that message calls hand to the kernel.
//!
//! A vector list may mix vector objects and plain buffers; a lone buffer object given where a
//! list is expected counts as one vector. Buffers are borrowed (exports held), never copied,
//! except a `list[int]` on the send side.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyMemoryView, PyTuple};

use crate::buffer::{ReadBuf, WriteBuf};

/// A value holding raw pointers that only ever point into memory kept alive by its owner
/// (held buffer exports, boxed storage); it may cross `Python::detach`.
pub struct Unshared<T>(pub T);
// SAFETY: the pointers inside point to memory owned by the same object or by exports it
// holds; it is used by one call at a time (guarded by pyo3's borrow flag or by the calling
// frame), so moving or sharing it between threads cannot create a data race on our side.
unsafe impl<T> Send for Unshared<T> {}
// SAFETY: see `Send`; shared access only reads the pointers.
unsafe impl<T> Sync for Unshared<T> {}

impl<T: Copy> Unshared<T> {
    /// The value (a method, so closures capture the whole wrapper, not the field).
    pub fn get(&self) -> T {
        self.0
    }
}

/// A buffer to gather from when sending (GIO's `GOutputVector`). Holds the buffer's export
/// for its lifetime, so the memory is neither copied nor moved.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct OutputVector {
    obj: Py<PyAny>,
    data: ReadBuf,
}

#[pymethods]
impl OutputVector {
    /// `OutputVector(buffer)`: any bytes-like object (or `list[int]`).
    #[new]
    fn py_new(buffer: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(OutputVector {
            obj: buffer.clone().unbind(),
            data: ReadBuf::new(buffer)?,
        })
    }

    /// The buffer given to the constructor.
    #[getter(buffer)]
    fn prop_buffer(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.clone_ref(py)
    }

    /// Its size in bytes.
    #[getter(size)]
    fn prop_size(&self) -> usize {
        self.data.as_slice().len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<giosocket.OutputVector size={}>",
            self.data.as_slice().len()
        )
    }
}

/// A writable buffer to scatter into when receiving (GIO's `GInputVector`). Holds a writable
/// export: read-only objects are rejected with TypeError.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct InputVector {
    obj: Py<PyAny>,
    data: WriteBuf,
}

#[pymethods]
impl InputVector {
    /// `InputVector(buffer)`: a writable contiguous buffer (`bytearray`, `memoryview`, ...).
    #[new]
    fn py_new(buffer: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(InputVector {
            obj: buffer.clone().unbind(),
            data: WriteBuf::new(buffer)?,
        })
    }

    /// The buffer given to the constructor.
    #[getter(buffer)]
    fn prop_buffer(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.clone_ref(py)
    }

    /// Its capacity in bytes.
    #[getter(size)]
    fn prop_size(&self) -> usize {
        self.data.len()
    }

    fn __repr__(&self) -> String {
        format!("<giosocket.InputVector size={}>", self.data.len())
    }
}

/// How many vectors a message keeps inline (no allocation).
const INLINE: usize = 4;

/// The held objects of a vector list: the first few inline, the rest on the heap.
struct HeldList<T> {
    inline: [Option<T>; INLINE],
    spill: Vec<T>,
}

impl<T> HeldList<T> {
    fn new() -> Self {
        HeldList {
            inline: std::array::from_fn(|_| None),
            spill: Vec::new(),
        }
    }

    fn push(&mut self, index: usize, item: T) {
        match self.inline.get_mut(index) {
            Some(slot) => *slot = Some(item),
            None => self.spill.push(item),
        }
    }
}

/// iovecs: the first few inline, all on the heap once there are more. Inline storage means
/// the owner must stay in place while a `msghdr` points at it.
struct IovList {
    inline: [libc::iovec; INLINE],
    len: usize,
    spill: Vec<libc::iovec>,
}

impl IovList {
    fn new() -> Self {
        IovList {
            inline: [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, iov: libc::iovec) {
        if self.spill.is_empty() && self.len < INLINE {
            self.inline[self.len] = iov;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline[..self.len]);
            }
            self.spill.push(iov);
        }
        self.len += 1;
    }

    fn as_slice(&self) -> &[libc::iovec] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

/// What keeps a send vector's memory alive (never read: held for its lifetime only).
#[allow(dead_code)]
enum HeldOut {
    Vector(Py<OutputVector>),
    Buffer(ReadBuf),
}

/// What keeps a receive vector's memory alive (never read: held for its lifetime only).
#[allow(dead_code)]
enum HeldIn {
    Vector(Py<InputVector>),
    Buffer(WriteBuf),
}

/// Whether `obj` should be read as one buffer rather than as a list of vectors.
fn is_single_buffer(obj: &Bound<'_, PyAny>) -> bool {
    if obj.is_exact_instance_of::<PyList>() || obj.is_exact_instance_of::<PyTuple>() {
        return false;
    }
    if obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
        || obj.is_instance_of::<PyMemoryView>()
        || obj.is_instance_of::<OutputVector>()
        || obj.is_instance_of::<InputVector>()
    {
        return true;
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return false;
    }
    // Other exporters (array.array, numpy, mmap) are buffers too.
    // SAFETY: `obj` is a live object; PyObject_CheckBuffer only inspects its type.
    unsafe { pyo3::ffi::PyObject_CheckBuffer(obj.as_ptr()) == 1 }
}

/// The items of a vector list, without collecting them first.
enum Items<'py> {
    One(Option<Bound<'py, PyAny>>),
    List(pyo3::types::iter::BoundListIterator<'py>),
    Tuple(pyo3::types::iter::BoundTupleIterator<'py>),
    Iter(Bound<'py, pyo3::types::PyIterator>),
}

impl<'py> Items<'py> {
    fn new(vectors: &Bound<'py, PyAny>) -> PyResult<Self> {
        if is_single_buffer(vectors) {
            return Ok(Items::One(Some(vectors.clone())));
        }
        if let Ok(list) = vectors.cast::<PyList>() {
            return Ok(Items::List(list.iter()));
        }
        if let Ok(tuple) = vectors.cast::<PyTuple>() {
            return Ok(Items::Tuple(tuple.iter()));
        }
        let iter = vectors.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "vectors must be a sequence of vectors or buffers, not '{}'",
                type_name(vectors)
            ))
        })?;
        Ok(Items::Iter(iter))
    }
}

impl<'py> Iterator for Items<'py> {
    type Item = PyResult<Bound<'py, PyAny>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::One(item) => item.take().map(Ok),
            Items::List(it) => it.next().map(Ok),
            Items::Tuple(it) => it.next().map(Ok),
            Items::Iter(it) => it.next(),
        }
    }
}

/// The Python type name of `obj`, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Held send buffers and their pre-built iovecs (the first few inline: keep in place while a
/// `msghdr` points at them).
pub struct OutVecs {
    _held: HeldList<HeldOut>,
    iov: IovList,
    total: usize,
}

// SAFETY: the iovecs point into buffers kept alive by `_held` (exports / Python objects whose
// storage does not move); they are only read.
unsafe impl Send for OutVecs {}
// SAFETY: as above; shared access is read-only.
unsafe impl Sync for OutVecs {}

impl OutVecs {
    /// No vectors.
    pub fn empty() -> Self {
        OutVecs {
            _held: HeldList::new(),
            iov: IovList::new(),
            total: 0,
        }
    }

    /// Borrow every vector of `vectors` (vector objects or plain buffers, or one buffer).
    pub fn new(vectors: &Bound<'_, PyAny>) -> PyResult<Self> {
        let items = Items::new(vectors)?;
        let mut held = HeldList::new();
        let mut iov = IovList::new();
        let mut total: usize = 0;
        for (index, item) in items.enumerate() {
            let item = item?;
            let (entry, slice_ptr, len) = if let Ok(v) = item.cast::<OutputVector>() {
                let s = v.get().data.as_slice();
                let (p, l) = (s.as_ptr(), s.len());
                (HeldOut::Vector(v.clone().unbind()), p, l)
            } else if let Ok(v) = item.cast::<InputVector>() {
                // An InputVector wraps a buffer that may be sent from, too.
                let buf = ReadBuf::new(v.get().obj.bind(item.py()))?;
                let s = buf.as_slice();
                let (p, l) = (s.as_ptr(), s.len());
                (HeldOut::Buffer(buf), p, l)
            } else {
                let buf = ReadBuf::new(&item).map_err(|_| {
                    PyTypeError::new_err(format!(
                        "a vector must be an OutputVector or a bytes-like object, not '{}'",
                        type_name(&item)
                    ))
                })?;
                let s = buf.as_slice();
                let (p, l) = (s.as_ptr(), s.len());
                (HeldOut::Buffer(buf), p, l)
            };
            total = total.saturating_add(len);
            iov.push(libc::iovec {
                iov_base: slice_ptr as *mut libc::c_void,
                iov_len: len,
            });
            held.push(index, entry);
        }
        Ok(OutVecs {
            _held: held,
            iov,
            total,
        })
    }

    /// The iovecs (valid while `self` lives).
    pub fn iov(&self) -> &[libc::iovec] {
        self.iov.as_slice()
    }

    /// Total bytes.
    pub fn total(&self) -> usize {
        self.total
    }
}

/// Held receive buffers and their pre-built iovecs (the first few inline: keep in place while
/// a `msghdr` points at them).
pub struct InVecs {
    _held: HeldList<HeldIn>,
    iov: IovList,
    total: usize,
}

// SAFETY: the iovecs point into writable exports kept alive by `_held`; only the kernel
// writes through them, during a call that holds this value borrowed.
unsafe impl Send for InVecs {}
// SAFETY: as above.
unsafe impl Sync for InVecs {}

impl InVecs {
    /// Borrow every vector of `vectors` (InputVector objects or writable buffers, or one).
    pub fn new(vectors: &Bound<'_, PyAny>) -> PyResult<Self> {
        let items = Items::new(vectors)?;
        let mut held = HeldList::new();
        let mut iov = IovList::new();
        let mut total: usize = 0;
        for (index, item) in items.enumerate() {
            let item = item?;
            let (entry, ptr, len) = if let Ok(v) = item.cast::<InputVector>() {
                let d = &v.get().data;
                let (p, l) = (d.ptr().get(), d.len());
                (HeldIn::Vector(v.clone().unbind()), p, l)
            } else {
                let buf = WriteBuf::new(&item).map_err(|e| {
                    if item.is_instance_of::<OutputVector>() {
                        PyTypeError::new_err("an OutputVector cannot receive data: use InputVector")
                    } else {
                        e
                    }
                })?;
                let (p, l) = (buf.ptr().get(), buf.len());
                (HeldIn::Buffer(buf), p, l)
            };
            total = total.saturating_add(len);
            iov.push(libc::iovec {
                iov_base: ptr.cast(),
                iov_len: len,
            });
            held.push(index, entry);
        }
        Ok(InVecs {
            _held: held,
            iov,
            total,
        })
    }

    /// The iovecs (valid while `self` lives).
    pub fn iov(&self) -> &[libc::iovec] {
        self.iov.as_slice()
    }

    /// Total capacity.
    pub fn total(&self) -> usize {
        self.total
    }
}
