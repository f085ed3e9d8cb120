//! Parsing exposition text (for `vumeter top`): the core parser, the GIL released, and
//! the families built as plain tuples, lists and dicts.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use vumeter_core::parse::{self, Format, NativeHistogram, ParsedFamily, SampleValue};

use crate::errors::map_parse_error;

fn native<'py>(py: Python<'py>, histogram: &NativeHistogram) -> PyResult<Bound<'py, PyTuple>> {
    (
        histogram.count,
        histogram.sum,
        histogram.schema,
        histogram.zero_threshold,
        histogram.zero_count,
        histogram.positive_spans.clone(),
        histogram.positive_deltas.clone(),
        histogram.negative_spans.clone(),
        histogram.negative_deltas.clone(),
    )
        .into_pyobject(py)
}

fn family<'py>(py: Python<'py>, family: &ParsedFamily) -> PyResult<Bound<'py, PyTuple>> {
    let samples = PyList::empty(py);
    for sample in &family.samples {
        let labels = PyDict::new(py);
        for (name, value) in &sample.labels {
            labels.set_item(name, value)?;
        }
        let (value, histogram) = match &sample.value {
            SampleValue::Number(value) => (Some(*value), None),
            SampleValue::Native(histogram) => (None, Some(native(py, histogram)?)),
        };
        samples.append((sample.name.as_str(), labels, value, histogram))?;
    }
    (family.name.as_str(), family.kind.as_str(), samples).into_pyobject(py)
}

/// Parse a Prometheus text (or, with `openmetrics`, an OpenMetrics) exposition into
/// `[(name, type, [(sample_name, labels, value, native_histogram), ...]), ...]`.
#[pyfunction]
#[pyo3(signature = (text, openmetrics=false))]
pub fn parse_exposition<'py>(
    py: Python<'py>,
    text: &str,
    openmetrics: bool,
) -> PyResult<Bound<'py, PyList>> {
    let format = if openmetrics {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let families = py
        .detach(|| parse::parse(text, format))
        .map_err(map_parse_error)?;
    let result = PyList::empty(py);
    for parsed in &families {
        result.append(family(py, parsed)?)?;
    }
    Ok(result)
}
