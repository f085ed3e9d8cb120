//! The one place where core errors become Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::PyErr;
use vumeter_core::multiprocess::EnableError;
use vumeter_core::parse::ParseError;
use vumeter_core::MetricError;

create_exception!(
    _native,
    CardinalityLimitExceeded,
    PyValueError,
    "A new label set was refused because the metric reached its cardinality limit."
);

pub(crate) fn map_metric_error(error: MetricError) -> PyErr {
    match error {
        MetricError::CardinalityLimit { .. } => {
            CardinalityLimitExceeded::new_err(error.to_string())
        }
        _ => PyValueError::new_err(error.to_string()),
    }
}

pub(crate) fn missing_label_values(kind: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{kind} metric is missing label values: call .labels(...) first"
    ))
}

pub(crate) fn type_error(message: String) -> PyErr {
    PyTypeError::new_err(message)
}

pub(crate) fn map_parse_error(error: ParseError) -> PyErr {
    PyValueError::new_err(error.to_string())
}

pub(crate) fn map_enable_error(error: EnableError) -> PyErr {
    match error {
        EnableError::NotADirectory(path) => PyValueError::new_err(format!(
            "multiprocess directory {} does not exist or is not a directory",
            path.display()
        )),
        EnableError::AlreadyEnabled(path) => PyRuntimeError::new_err(format!(
            "multiprocess mode is already on with directory {} (one directory per process)",
            path.display()
        )),
    }
}

pub(crate) fn map_io_error(error: std::io::Error) -> PyErr {
    PyOSError::new_err(error.to_string())
}
