//! Bulk observation input: 1-D float64/float32 numpy arrays of any stride, or anything
//! `numpy.asarray(..., dtype=float64)` accepts. Bucketing runs with the GIL released.

use numpy::{PyArray1, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use vumeter_core::HistogramCore;

use crate::errors::map_metric_error;

pub(crate) fn observe_many(core: &HistogramCore, values: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = values.py();
    if let Ok(array) = values.cast::<PyArray1<f64>>() {
        let view = array.readonly();
        let result = if let Ok(slice) = view.as_slice() {
            py.detach(|| core.observe_many(slice))
        } else {
            let contiguous: Vec<f64> = view.as_array().iter().copied().collect();
            py.detach(|| core.observe_many(&contiguous))
        };
        return result.map_err(map_metric_error);
    }
    if let Ok(array) = values.cast::<PyArray1<f32>>() {
        let view = array.readonly();
        let result = if let Ok(slice) = view.as_slice() {
            py.detach(|| core.observe_many(slice))
        } else {
            let contiguous: Vec<f32> = view.as_array().iter().copied().collect();
            py.detach(|| core.observe_many(&contiguous))
        };
        return result.map_err(map_metric_error);
    }
    if let Ok(array) = values.cast::<PyUntypedArray>() {
        return Err(wrong_array(array));
    }
    let converted = as_float64_array(values)?;
    if converted.cast::<PyArray1<f64>>().is_err() {
        return Err(wrong_array(converted.cast::<PyUntypedArray>()?));
    }
    observe_many(core, &converted)
}

fn wrong_array(array: &Bound<'_, PyUntypedArray>) -> PyErr {
    if array.ndim() != 1 {
        let dims: Vec<String> = array.shape().iter().map(ToString::to_string).collect();
        let shape = match dims.as_slice() {
            [one] => format!("({one},)"),
            _ => format!("({})", dims.join(", ")),
        };
        return PyValueError::new_err(format!(
            "observe_many expected a 1-D array, got shape {shape}"
        ));
    }
    let dtype = array
        .dtype()
        .str()
        .map_or_else(|_| "unknown".to_string(), |s| s.to_string());
    PyTypeError::new_err(format!(
        "observe_many expected a float64 or float32 array, got dtype {dtype}; \
         convert it with values.astype(numpy.float64)"
    ))
}

fn as_float64_array<'py>(values: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = values.py();
    let asarray = ASARRAY.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("numpy")?.getattr("asarray")?.unbind())
    })?;
    let float64 = py.import("numpy")?.getattr("float64")?;
    asarray.bind(py).call1((values, float64)).map_err(|error| {
        PyTypeError::new_err(format!(
            "observe_many expected a 1-D float64 or float32 numpy array or a sequence of \
                 numbers; converting {} failed: {error}",
            values
                .get_type()
                .name()
                .map_or_else(|_| "it".to_string(), |n| n.to_string())
        ))
    })
}
