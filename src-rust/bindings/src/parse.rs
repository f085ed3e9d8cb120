//! Parsing exposition text (for `vumeter top`): the core parser, the GIL released, and
//! the families built as plain tuples, lists and dicts.

use std::collections::{HashMap, HashSet};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
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

/// One Python string per distinct text: label names, bounds and values repeat on almost
/// every line, and a shared string is neither allocated nor hashed again.
struct Strings<'a, 'py> {
    py: Python<'py>,
    seen: HashMap<&'a str, Bound<'py, PyString>>,
}

impl<'a, 'py> Strings<'a, 'py> {
    fn get(&mut self, text: &'a str) -> Bound<'py, PyString> {
        self.seen
            .entry(text)
            .or_insert_with(|| PyString::new(self.py, text))
            .clone()
    }
}

fn family<'a, 'py>(
    py: Python<'py>,
    family: &'a ParsedFamily,
    strings: &mut Strings<'a, 'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let samples = PyList::empty(py);
    for sample in &family.samples {
        let labels = PyDict::new(py);
        for (name, value) in &sample.labels {
            labels.set_item(strings.get(name), strings.get(value))?;
        }
        let (value, histogram) = match &sample.value {
            SampleValue::Number(value) => (Some(*value), None),
            SampleValue::Native(histogram) => (None, Some(native(py, histogram)?)),
        };
        samples.append((strings.get(&sample.name), labels, value, histogram))?;
    }
    (family.name.as_str(), family.kind.as_str(), samples).into_pyobject(py)
}

/// Parse a Prometheus text (or, with `openmetrics`, an OpenMetrics) exposition into
/// `[(name, type, [(sample_name, labels, value, native_histogram), ...]), ...]`. With
/// `only`, the whole text is still checked but only the families named in it are built:
/// building Python objects costs more than parsing.
#[pyfunction]
#[pyo3(signature = (text, openmetrics=false, only=None))]
pub fn parse_exposition<'py>(
    py: Python<'py>,
    text: &str,
    openmetrics: bool,
    only: Option<HashSet<String>>,
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
    let mut strings = Strings {
        py,
        seen: HashMap::new(),
    };
    for parsed in &families {
        if only
            .as_ref()
            .is_none_or(|names| names.contains(&parsed.name))
        {
            result.append(family(py, parsed, &mut strings)?)?;
        }
    }
    Ok(result)
}
