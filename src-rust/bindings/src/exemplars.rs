//! Exemplar label dicts from Python.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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

/// `(labels, value, timestamp)`, how `_snapshot()` hands an exemplar to Python.
pub(crate) type ExemplarTuple = (Vec<(String, String)>, f64, f64);

pub(crate) fn exemplar_tuple(e: vumeter_core::Exemplar) -> ExemplarTuple {
    (e.labels, e.value, e.timestamp)
}

/// Where automatic exemplars come from: the current span in a `ContextVar` holding a
/// mapping (OpenTelemetry's runtime context), and a callable that turns a span into
/// exemplar labels (or None when it is not sampled).
struct ExemplarSource {
    var: Py<PyAny>,
    key: Py<PyAny>,
    extract: Py<PyAny>,
}

/// Off by default; then the hot path pays one relaxed load.
static SOURCE_ENABLED: AtomicBool = AtomicBool::new(false);
static SOURCE: Mutex<Option<Arc<ExemplarSource>>> = Mutex::new(None);

/// Turns automatic exemplars on (`var`, `key`, `extract` given) or off (all None).
#[pyfunction]
#[pyo3(signature = (var, key, extract))]
pub fn set_exemplar_source(
    var: Option<Bound<'_, PyAny>>,
    key: Option<Bound<'_, PyAny>>,
    extract: Option<Bound<'_, PyAny>>,
) -> PyResult<()> {
    let source = match (var, key, extract) {
        (Some(var), Some(key), Some(extract)) => {
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
            Some(Arc::new(ExemplarSource {
                var: var.unbind(),
                key: key.unbind(),
                extract: extract.unbind(),
            }))
        }
        (None, None, None) => None,
        _ => {
            return Err(type_error(
                "set_exemplar_source takes var, key and extract together, or three Nones"
                    .to_string(),
            ))
        }
    };
    let enabled = source.is_some();
    *SOURCE.lock().unwrap_or_else(PoisonError::into_inner) = source;
    SOURCE_ENABLED.store(enabled, Ordering::Release);
    Ok(())
}

/// Exemplar labels for the current span, when automatic exemplars are on and a span is
/// active and sampled.
#[inline]
pub(crate) fn automatic(py: Python<'_>) -> PyResult<Option<Vec<(String, String)>>> {
    if !SOURCE_ENABLED.load(Ordering::Relaxed) {
        return Ok(None);
    }
    lookup(py)
}

#[cold]
fn lookup(py: Python<'_>) -> PyResult<Option<Vec<(String, String)>>> {
    let Some(source) = SOURCE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
    else {
        return Ok(None);
    };
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
    let span = match context.cast::<PyDict>() {
        Ok(mapping) => mapping.get_item(source.key.bind(py))?,
        Err(_) => return Ok(None),
    };
    let Some(span) = span else {
        return Ok(None);
    };
    let labels = source.extract.bind(py).call1((span,))?;
    if labels.is_none() {
        return Ok(None);
    }
    exemplar_labels(Some(labels.cast::<PyDict>()?))
}
