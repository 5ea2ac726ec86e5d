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
use crate::sys::os;

/// A buffer to gather from when sending (GIO's `GOutputVector`). Holds the buffer's export
/// for its lifetime, so the memory is neither copied nor moved.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct OutputVector {
    obj: Py<PyAny>,
    data: ReadBuf,
}

/// A writable buffer to scatter into when receiving (GIO's `GInputVector`). Holds a writable
/// export: read-only objects are rejected with TypeError.
#[pyclass(frozen, module = "giosocket", skip_from_py_object)]
pub struct InputVector {
    obj: Py<PyAny>,
    data: WriteBuf,
}

/// The Python side of a vector class (`$buf::new` borrows the buffer): the constructor
/// `$class(buffer)`, the `buffer` and `size` properties and the repr.
macro_rules! vector_methods {
    ($class:ident, $buf:ident, $size_doc:literal) => {
        #[pymethods]
        impl $class {
            #[new]
            fn py_new(buffer: &Bound<'_, PyAny>) -> PyResult<Self> {
                Ok($class {
                    obj: buffer.clone().unbind(),
                    data: $buf::new(buffer)?,
                })
            }

            /// The buffer given to the constructor.
            #[getter(buffer)]
            fn prop_buffer(&self, py: Python<'_>) -> Py<PyAny> {
                self.obj.clone_ref(py)
            }

            #[doc = $size_doc]
            #[getter(size)]
            fn prop_size(&self) -> usize {
                self.data.len()
            }

            fn __repr__(&self) -> String {
                format!(
                    concat!("<giosocket.", stringify!($class), " size={}>"),
                    self.data.len()
                )
            }
        }
    };
}

// `OutputVector(buffer)`: any bytes-like object (or `list[int]`).
vector_methods!(OutputVector, ReadBuf, "Its size in bytes.");
// `InputVector(buffer)`: a writable contiguous buffer (`bytearray`, `memoryview`, ...).
vector_methods!(InputVector, WriteBuf, "Its capacity in bytes.");

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
    inline: [os::iovec; INLINE],
    len: usize,
    spill: Vec<os::iovec>,
}

impl IovList {
    fn new() -> Self {
        IovList {
            inline: [os::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, iov: os::iovec) {
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

    fn as_slice(&self) -> &[os::iovec] {
        if self.spill.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

/// What keeps a send vector's memory alive (never read: held for its lifetime only).
#[allow(dead_code)]
pub enum HeldOut {
    Vector(Py<OutputVector>),
    Buffer(ReadBuf),
}

/// What keeps a receive vector's memory alive (never read: held for its lifetime only).
#[allow(dead_code)]
pub enum HeldIn {
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

/// Held buffers and their pre-built iovecs (the first few inline: keep in place while a
/// `msghdr` points at them). `H` is what keeps one vector's memory alive.
pub struct Vecs<H> {
    _held: HeldList<H>,
    iov: IovList,
    total: usize,
}

// SAFETY: the iovecs point into buffers kept alive by `_held` (exports / Python objects whose
// storage does not move); we only read them, and only the kernel writes through receive
// iovecs, during a call that holds this value borrowed.
unsafe impl<H> Send for Vecs<H> {}
// SAFETY: as above; shared access is read-only on our side.
unsafe impl<H> Sync for Vecs<H> {}

/// Held send buffers (see `Vecs`).
pub type OutVecs = Vecs<HeldOut>;
/// Held receive buffers (see `Vecs`).
pub type InVecs = Vecs<HeldIn>;

impl<H> Vecs<H> {
    /// No vectors.
    pub fn empty() -> Self {
        Vecs {
            _held: HeldList::new(),
            iov: IovList::new(),
            total: 0,
        }
    }

    /// Every item of `vectors` (a list of vectors, or one buffer) through `borrow`, which
    /// returns what holds the memory, its address and its length.
    fn collect<F>(vectors: &Bound<'_, PyAny>, mut borrow: F) -> PyResult<Self>
    where
        F: FnMut(&Bound<'_, PyAny>) -> PyResult<(H, *mut os::c_void, usize)>,
    {
        let mut vecs = Vecs::empty();
        for (index, item) in Items::new(vectors)?.enumerate() {
            let (entry, ptr, len) = borrow(&item?)?;
            vecs.total = vecs.total.saturating_add(len);
            vecs.iov.push(os::iovec {
                iov_base: ptr,
                iov_len: len,
            });
            vecs._held.push(index, entry);
        }
        Ok(vecs)
    }

    /// The iovecs (valid while `self` lives).
    pub fn iov(&self) -> &[os::iovec] {
        self.iov.as_slice()
    }

    /// Total bytes (capacity, when receiving).
    pub fn total(&self) -> usize {
        self.total
    }
}

/// A send buffer's address and length.
fn read_parts(buf: &ReadBuf) -> (*mut os::c_void, usize) {
    let s = buf.as_slice();
    (s.as_ptr() as *mut os::c_void, s.len())
}

impl OutVecs {
    /// Borrow every vector of `vectors` (vector objects or plain buffers, or one buffer).
    pub fn new(vectors: &Bound<'_, PyAny>) -> PyResult<Self> {
        Vecs::collect(vectors, |item| {
            if let Ok(v) = item.cast::<OutputVector>() {
                let (p, l) = read_parts(&v.get().data);
                Ok((HeldOut::Vector(v.clone().unbind()), p, l))
            } else if let Ok(v) = item.cast::<InputVector>() {
                // An InputVector wraps a buffer that may be sent from, too.
                let buf = ReadBuf::new(v.get().obj.bind(item.py()))?;
                let (p, l) = read_parts(&buf);
                Ok((HeldOut::Buffer(buf), p, l))
            } else {
                let buf = ReadBuf::new(item).map_err(|_| {
                    PyTypeError::new_err(format!(
                        "a vector must be an OutputVector or a bytes-like object, not '{}'",
                        type_name(item)
                    ))
                })?;
                let (p, l) = read_parts(&buf);
                Ok((HeldOut::Buffer(buf), p, l))
            }
        })
    }
}

impl InVecs {
    /// Borrow every vector of `vectors` (InputVector objects or writable buffers, or one).
    pub fn new(vectors: &Bound<'_, PyAny>) -> PyResult<Self> {
        Vecs::collect(vectors, |item| {
            if let Ok(v) = item.cast::<InputVector>() {
                let d = &v.get().data;
                let (p, l) = (d.ptr().get().cast(), d.len());
                Ok((HeldIn::Vector(v.clone().unbind()), p, l))
            } else {
                let buf = WriteBuf::new(item).map_err(|e| {
                    if item.is_instance_of::<OutputVector>() {
                        PyTypeError::new_err("an OutputVector cannot receive data: use InputVector")
                    } else {
                        e
                    }
                })?;
                let (p, l) = (buf.ptr().get().cast(), buf.len());
                Ok((HeldIn::Buffer(buf), p, l))
            }
        })
    }
}
