//! Exemplar label dicts from Python.

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
