//! Control messages (GIO's `GSocketControlMessage` family).
//!
//! `SocketControlMessage` is the base class. Built-in subclasses: [`fd::UnixFDMessage`]
//! (SCM_RIGHTS), [`creds::UnixCredentialsMessage`] (SCM_CREDENTIALS) and
//! [`udp::UdpSegmentMessage`] (UDP_SEGMENT / UDP_GRO), and the UDP packet metadata of
//! [`ip`] (packet info, traffic class, timestamps, drop counts) and [`sockerr`] (the error
//! queue). A control message the library does not
//! know arrives as a plain `SocketControlMessage` carrying its level, type and raw data, so
//! nothing is ever dropped or crashes.
//!
//! User subclasses: a Python subclass overrides `get_level()`, `get_msg_type()` and
//! `serialize()` to be sendable, and defines a classmethod `deserialize(level, msg_type,
//! data) -> instance | None` and calls `SocketControlMessage.register(cls)` to be produced on
//! receive. Registered classes are tried, in registration order, before the built-ins (GIO).

pub mod creds;
pub mod fd;
pub mod ip;
pub mod sockerr;
pub mod udp;

use std::sync::Mutex;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple, PyType};

use crate::buffer::ReadBuf;

/// `get_size()` and `serialize()` of a built-in message class, from its `payload()`.
macro_rules! payload_methods {
    ($class:ty, $size_doc:literal, $serialize_doc:literal) => {
        #[pymethods]
        impl $class {
            #[doc = $size_doc]
            fn get_size(&self) -> usize {
                self.payload().len()
            }

            #[doc = $serialize_doc]
            fn serialize<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
                pyo3::types::PyBytes::new(py, &self.payload())
            }
        }
    };
}
pub(crate) use payload_methods;

/// Classes registered with `SocketControlMessage.register`, in registration order.
static REGISTRY: Mutex<Vec<Py<PyType>>> = Mutex::new(Vec::new());

/// The registered classes (a snapshot, so Python code run by them may register more).
pub fn registered(py: Python<'_>) -> Vec<Py<PyType>> {
    match REGISTRY.lock() {
        Ok(list) => list.iter().map(|c| c.clone_ref(py)).collect(),
        Err(poisoned) => poisoned.get_ref().iter().map(|c| c.clone_ref(py)).collect(),
    }
}

/// Whether any class is registered (fast check on the receive path).
pub fn any_registered() -> bool {
    REGISTRY.lock().map(|l| !l.is_empty()).unwrap_or(false)
}

/// Base class of control messages (GIO's `GSocketControlMessage`). Instantiated directly,
/// it is a generic message: `SocketControlMessage(level, msg_type, data=b"")` sends `data`
/// as-is, and unknown control messages are received as such.
#[pyclass(subclass, frozen, module = "giosocket", skip_from_py_object)]
pub struct SocketControlMessage {
    level: i32,
    msg_type: i32,
    data: Box<[u8]>,
}

impl SocketControlMessage {
    /// A generic message.
    pub fn generic(level: i32, msg_type: i32, data: &[u8]) -> Self {
        SocketControlMessage {
            level,
            msg_type,
            data: data.into(),
        }
    }

    /// The base part of a built-in subclass (its data lives in the subclass).
    pub fn header(level: i32, msg_type: i32) -> Self {
        SocketControlMessage {
            level,
            msg_type,
            data: Box::new([]),
        }
    }

    /// (level, type, data) of a generic message.
    pub fn parts(&self) -> (i32, i32, &[u8]) {
        (self.level, self.msg_type, &self.data)
    }
}

#[pymethods]
impl SocketControlMessage {
    /// `SocketControlMessage(level, msg_type, data=b"")` builds a generic message. Subclasses
    /// receive their own constructor arguments in `__init__`; they are ignored here.
    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(
        cls: &Bound<'_, PyType>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        let py = cls.py();
        if !cls.is(py.get_type::<SocketControlMessage>()) {
            return Ok(SocketControlMessage::header(0, 0));
        }
        let get = |i: usize, name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
            if let Ok(v) = args.get_item(i) {
                return Ok(Some(v));
            }
            match kwargs {
                Some(k) => k.get_item(name),
                None => Ok(None),
            }
        };
        if args.len() > 3 || kwargs.map_or(0, |k| k.len()) + args.len() > 3 {
            return Err(PyTypeError::new_err(
                "SocketControlMessage(level, msg_type, data=b'') takes at most 3 arguments",
            ));
        }
        let level: i32 = get(0, "level")?
            .ok_or_else(|| PyTypeError::new_err("missing argument 'level'"))?
            .extract()?;
        let msg_type: i32 = get(1, "msg_type")?
            .ok_or_else(|| PyTypeError::new_err("missing argument 'msg_type'"))?
            .extract()?;
        let data = match get(2, "data")? {
            Some(d) => ReadBuf::new(&d)?.as_slice().into(),
            None => Box::new([]) as Box<[u8]>,
        };
        Ok(SocketControlMessage {
            level,
            msg_type,
            data,
        })
    }

    /// The cmsg level (e.g. `SOL_SOCKET`).
    fn get_level(&self) -> i32 {
        self.level
    }

    /// The cmsg type (e.g. `SCM_RIGHTS`).
    fn get_msg_type(&self) -> i32 {
        self.msg_type
    }

    /// The size of the serialized data in bytes.
    fn get_size(slf: &Bound<'_, Self>) -> PyResult<usize> {
        if slf
            .get_type()
            .is(slf.py().get_type::<SocketControlMessage>())
        {
            return Ok(slf.get().data.len());
        }
        slf.call_method0("serialize")?.len()
    }

    /// The data part of the control message (what follows the `cmsghdr`).
    fn serialize<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }

    /// Register a subclass so that received control messages are offered to its
    /// `deserialize(level, msg_type, data)` classmethod before the built-ins. Returns `cls`
    /// (usable as a class decorator). Registering twice has no effect.
    #[staticmethod]
    fn register<'py>(message_class: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyType>> {
        let cls = message_class;
        let py = cls.py();
        if !cls.is_subclass(&py.get_type::<SocketControlMessage>())?
            || cls.is(py.get_type::<SocketControlMessage>())
        {
            return Err(PyTypeError::new_err(
                "register() takes a subclass of SocketControlMessage",
            ));
        }
        let deserialize = cls.getattr("deserialize").map_err(|_| {
            PyTypeError::new_err(
                "a registered class needs a classmethod deserialize(level, msg_type, data)",
            )
        })?;
        if !deserialize.is_callable() {
            return Err(PyTypeError::new_err("deserialize must be callable"));
        }
        let mut list = REGISTRY
            .lock()
            .map_err(|_| PyValueError::new_err("control message registry is poisoned"))?;
        if !list.iter().any(|c| c.bind(py).is(cls)) {
            list.push(cls.clone().unbind());
        }
        Ok(cls.clone())
    }

    /// Undo `register(cls)`; returns whether it was registered.
    #[staticmethod]
    fn unregister(message_class: &Bound<'_, PyType>) -> PyResult<bool> {
        let cls = message_class;
        let py = cls.py();
        let removed = {
            let mut list = REGISTRY
                .lock()
                .map_err(|_| PyValueError::new_err("control message registry is poisoned"))?;
            let before = list.len();
            let mut kept = Vec::with_capacity(before);
            let mut gone = Vec::new();
            for c in list.drain(..) {
                if c.bind(py).is(cls) {
                    gone.push(c);
                } else {
                    kept.push(c);
                }
            }
            *list = kept;
            gone
        };
        Ok(!removed.is_empty())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?.to_string();
        let me = slf.get();
        Ok(format!(
            "<giosocket.{name} level={} type={} size={}>",
            me.level,
            me.msg_type,
            me.data.len()
        ))
    }
}
