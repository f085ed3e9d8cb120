//! Exemplar label dicts from Python.

use std::sync::atomic::{AtomicPtr, Ordering};

use vumeter_core::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::errors::type_error;

/// `None` and `{}` mean no exemplar (as in prometheus_client); otherwise str -> str pairs.
pub(crate) fn exemplar_labels(
    exemplar: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<Vec<(String, String)>>> {
    let Some(dict) = exemplar else {
        return Ok(None);
    };
    if dict.is_empty() {
        return Ok(None);
    }
    dict.iter()
        .map(|(name, value)| {
            let (Ok(name), Ok(value)) = (name.cast::<PyString>(), value.cast::<PyString>()) else {
                return Err(type_error(format!(
                    "exemplar labels must map str to str, got {}: {}",
                    name.get_type().name()?,
                    value.get_type().name()?
                )));
            };
            Ok((name.to_str()?.to_owned(), value.to_str()?.to_owned()))
        })
        .collect::<PyResult<Vec<_>>>()
        .map(Some)
}

/// Where automatic exemplars come from: the current span in a `ContextVar` holding a
/// mapping (OpenTelemetry's runtime context), and a callable that turns a span into
/// exemplar labels (or None when it is not sampled).
struct ExemplarSource {
    var: Py<PyAny>,
    key: Py<PyAny>,
    extract: Py<PyAny>,
}

impl ExemplarSource {
    fn same_as(
        &self,
        var: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        extract: &Bound<'_, PyAny>,
    ) -> bool {
        self.var.is(var) && self.key.is(key) && self.extract.is(extract)
    }
}

/// The active source, or null when automatic exemplars are off: the hot path pays one
/// atomic load and takes no lock. Sources are leaked on purpose, so a reader never
/// sees one freed under it; they are set once at start-up in practice, and setting the
/// same objects again reuses the last one, so toggling does not grow memory.
static ACTIVE: AtomicPtr<ExemplarSource> = AtomicPtr::new(std::ptr::null_mut());
static LAST_LEAKED: Mutex<Option<&'static ExemplarSource>> = Mutex::new(None);

/// Turns automatic exemplars on (`var`, `key`, `extract` given) or off (all None).
#[pyfunction]
#[pyo3(signature = (var, key, extract))]
pub fn set_exemplar_source(
    var: Option<Bound<'_, PyAny>>,
    key: Option<Bound<'_, PyAny>>,
    extract: Option<Bound<'_, PyAny>>,
) -> PyResult<()> {
    let (var, key, extract) = match (var, key, extract) {
        (Some(var), Some(key), Some(extract)) => (var, key, extract),
        (None, None, None) => {
            ACTIVE.store(std::ptr::null_mut(), Ordering::Release);
            return Ok(());
        }
        _ => {
            return Err(type_error(
                "set_exemplar_source takes var, key and extract together, or three Nones"
                    .to_string(),
            ))
        }
    };
    // SAFETY: a type check on a valid object pointer.
    if unsafe { pyo3::ffi::PyContextVar_CheckExact(var.as_ptr()) } == 0 {
        return Err(type_error(format!(
            "var must be a contextvars.ContextVar, got {}",
            var.get_type().name()?
        )));
    }
    if !extract.is_callable() {
        return Err(type_error("extract must be callable".to_string()));
    }
    // Only pointers move under the lock: nothing is dropped or called there.
    let mut last = LAST_LEAKED.lock();
    let source: &'static ExemplarSource = match *last {
        Some(previous) if previous.same_as(&var, &key, &extract) => previous,
        _ => Box::leak(Box::new(ExemplarSource {
            var: var.unbind(),
            key: key.unbind(),
            extract: extract.unbind(),
        })),
    };
    *last = Some(source);
    ACTIVE.store(std::ptr::from_ref(source).cast_mut(), Ordering::Release);
    Ok(())
}

/// The labels of an increment's or observation's exemplar: the explicit one when given
/// (`{}` meaning none), otherwise the current span's, if automatic exemplars are on.
#[inline]
pub(crate) fn resolve(
    py: Python<'_>,
    explicit: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<Vec<(String, String)>>> {
    match explicit {
        None => automatic(py),
        given => exemplar_labels(given),
    }
}

/// Exemplar labels for the current span, when automatic exemplars are on and a span is
/// active and sampled.
#[inline]
pub(crate) fn automatic(py: Python<'_>) -> PyResult<Option<Vec<(String, String)>>> {
    let active = ACTIVE.load(Ordering::Acquire);
    if active.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null pointers in ACTIVE come from Box::leak and are never freed.
    lookup(py, unsafe { &*active })
}

#[cold]
fn lookup(py: Python<'_>, source: &ExemplarSource) -> PyResult<Option<Vec<(String, String)>>> {
    let mut context: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `var` is a ContextVar (checked in set_exemplar_source); with a NULL
    // default, PyContextVar_Get stores a new reference or NULL in `context`.
    if unsafe {
        pyo3::ffi::PyContextVar_Get(source.var.as_ptr(), std::ptr::null_mut(), &raw mut context)
    } < 0
    {
        return Err(PyErr::fetch(py));
    }
    if context.is_null() {
        return Ok(None);
    }
    // SAFETY: a new, non-null reference returned by PyContextVar_Get.
    let context = unsafe { Bound::from_owned_ptr(py, context) };
    let Ok(mapping) = context.cast::<PyDict>() else {
        return Ok(None);
    };
    if mapping.is_empty() {
        return Ok(None);
    }
    let Some(span) = mapping.get_item(source.key.bind(py))? else {
        return Ok(None);
    };
    let labels = source.extract.bind(py).call1((span,))?;
    if labels.is_none() {
        return Ok(None);
    }
    exemplar_labels(Some(labels.cast::<PyDict>()?))
}
