//! `MetricFamily`, the native base of every metric family: label-value lookup
//! (`labels()`), removal, and the descriptor. `labels()` is on the hot path: label
//! tuples made only of `str` are looked up in a Python dict with no conversion at all;
//! anything else is converted with `str()` like prometheus_client does, once.

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::PyTypeInfo;
use vumeter_core::{
    CounterCore, Descriptor, Family, GaugeCore, HistogramCore, MetricError, MetricKind,
};

use crate::errors::{map_metric_error, type_error};

/// A family and, when it has no labels, its only child.
pub(crate) type NewFamily<C> = (Arc<Family<C>>, Option<Arc<C>>);

/// A new family of `C` children (whose Python class must derive from `Child`), and its
/// only child when it has no labels.
pub(crate) fn new_family<C, Child: PyTypeInfo>(
    child_type: &Bound<'_, PyType>,
    descriptor: Descriptor,
    max_label_sets: Option<usize>,
    make: impl FnOnce() -> C,
) -> PyResult<NewFamily<C>> {
    if !child_type.is_subclass_of::<Child>()? {
        return Err(type_error(format!(
            "child_type must be a subclass of {}",
            Child::type_object(child_type.py()).name()?
        )));
    }
    let unlabelled = descriptor.label_names.is_empty();
    let family = Arc::new(Family::new(descriptor, max_label_sets));
    let only_child = if unlabelled {
        Some(
            family
                .get_or_create(Vec::new(), make)
                .map_err(map_metric_error)?,
        )
    } else {
        None
    };
    Ok((family, only_child))
}

/// The family's Rust core, whatever its kind.
pub(crate) enum AnyFamily {
    Counter(Arc<Family<CounterCore>>),
    Gauge(Arc<Family<GaugeCore>>),
    Histogram(Arc<Family<HistogramCore>>),
}

macro_rules! each_family {
    ($any:expr, $f:ident => $body:expr) => {
        match $any {
            AnyFamily::Counter($f) => $body,
            AnyFamily::Gauge($f) => $body,
            AnyFamily::Histogram($f) => $body,
        }
    };
}

impl AnyFamily {
    fn descriptor(&self) -> &vumeter_core::Descriptor {
        each_family!(self, f => &f.descriptor)
    }
}

#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct MetricFamily {
    pub(crate) core: AnyFamily,
    /// Canonical label-value tuple (all `str`) -> child object.
    children: Py<PyDict>,
    child_type: Py<PyType>,
}

impl MetricFamily {
    pub(crate) fn new(core: AnyFamily, child_type: Bound<'_, PyType>) -> Self {
        MetricFamily {
            core,
            children: PyDict::new(child_type.py()).unbind(),
            child_type: child_type.unbind(),
        }
    }

    fn kind(&self) -> MetricKind {
        self.core.descriptor().kind
    }

    fn label_count(&self) -> usize {
        self.core.descriptor().label_names.len()
    }

    fn require_labels(&self) -> PyResult<()> {
        if self.label_count() == 0 {
            return Err(PyValueError::new_err(format!(
                "No label names were set when constructing {}:{}",
                self.kind().as_str(),
                self.core.descriptor().name
            )));
        }
        Ok(())
    }

    /// The label values as a tuple of `str` in label-name order.
    fn canonical<'py>(
        &self,
        values: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = values.py();
        let names = &self.core.descriptor().label_names;
        let strings: Vec<Bound<'py, PyString>> = match kwargs {
            Some(kw) if !kw.is_empty() => {
                if !values.is_empty() {
                    return Err(PyValueError::new_err("Can't pass both *args and **kwargs"));
                }
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    match kw.get_item(name)? {
                        Some(v) if kw.len() == names.len() => out.push(v.str()?),
                        _ => {
                            return Err(PyValueError::new_err(format!(
                                "Incorrect label names (expected {names:?}, got {:?})",
                                kw.keys()
                                    .iter()
                                    .map(|k| k.str().map(|s| s.to_string()))
                                    .collect::<PyResult<Vec<_>>>()?
                            )))
                        }
                    }
                }
                out
            }
            _ => {
                if values.len() != names.len() {
                    return Err(map_metric_error(MetricError::LabelCount {
                        expected: names.len(),
                        got: values.len(),
                    }));
                }
                values.iter().map(|v| v.str()).collect::<PyResult<_>>()?
            }
        };
        PyTuple::new(py, strings)
    }

    fn strings(key: &Bound<'_, PyTuple>) -> PyResult<Vec<String>> {
        key.iter().map(|v| v.extract::<String>()).collect()
    }
}

#[pymethods]
impl MetricFamily {
    /// The child for these label values, created on first use.
    #[pyo3(signature = (*values, **labels))]
    fn labels<'py>(
        slf: &Bound<'py, Self>,
        values: &Bound<'py, PyTuple>,
        labels: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let py = slf.py();
        let children = this.children.bind(py);
        if labels.is_none()
            && values.len() == this.label_count()
            && values.iter().all(|v| v.is_exact_instance_of::<PyString>())
        {
            if let Some(child) = children.get_item(values)? {
                return Ok(child);
            }
        }
        this.require_labels()?;
        let key = this.canonical(values, labels)?;
        if let Some(child) = children.get_item(&key)? {
            return Ok(child);
        }
        let child = this.child_type.bind(py).call1((slf, &key))?;
        // Two threads may race to create the same child: both wrap the same core, and
        // setdefault makes every caller get the one that was stored.
        let (_, stored) = children.set_default_with_result(key, child)?;
        Ok(stored)
    }

    /// Removes the series with these label values, if present.
    #[pyo3(signature = (*values))]
    fn remove(&self, values: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.require_labels()?;
        let key = self.canonical(values, None)?;
        let strings = Self::strings(&key)?;
        each_family!(&self.core, f => f.remove(&strings));
        let children = self.children.bind(values.py());
        if children.contains(&key)? {
            children.del_item(&key)?;
        }
        Ok(())
    }

    /// Removes every series whose labels include all of `labels` (prometheus_client's
    /// `remove_by_labels`).
    fn remove_by_labels(&self, labels: &Bound<'_, PyAny>) -> PyResult<()> {
        self.require_labels()?;
        let Ok(labels) = labels.cast::<PyDict>() else {
            return Err(PyTypeError::new_err(
                "labels must be a dict of {label_name: label_value}",
            ));
        };
        let names = &self.core.descriptor().label_names;
        let mut filter = Vec::with_capacity(labels.len());
        let mut unknown = Vec::new();
        for (name, value) in labels.iter() {
            let name = name.str()?.to_string();
            match names.iter().position(|n| *n == name) {
                Some(index) => filter.push((index, value.str()?.to_string())),
                None => unknown.push(name),
            }
        }
        if !unknown.is_empty() {
            return Err(PyValueError::new_err(format!(
                "Unknown label names: {unknown:?}; expected {names:?}"
            )));
        }
        if filter.is_empty() {
            return Ok(());
        }
        each_family!(&self.core, f => f.remove_matching(&filter));
        let children = self.children.bind(labels.py());
        for key in children.keys() {
            let key = key.cast_into::<PyTuple>()?;
            let values = Self::strings(&key)?;
            if filter.iter().all(|(i, v)| values[*i] == *v) {
                children.del_item(&key)?;
            }
        }
        Ok(())
    }

    /// Removes every labelled series.
    fn clear(&self, py: Python<'_>) {
        if self.label_count() == 0 {
            return;
        }
        each_family!(&self.core, f => f.clear());
        self.children.bind(py).clear();
    }

    #[getter]
    fn _name(&self) -> &str {
        &self.core.descriptor().name
    }

    #[getter]
    fn _documentation(&self) -> &str {
        &self.core.descriptor().help
    }

    #[getter]
    fn _unit(&self) -> &str {
        &self.core.descriptor().unit
    }

    #[getter]
    fn _type(&self) -> &'static str {
        self.kind().as_str()
    }

    #[getter]
    fn _labelnames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.core.descriptor().label_names)
    }

    /// Whether `inc`/`observe`/`set` work on the family itself (it has no labels).
    #[getter]
    fn _observable(&self) -> bool {
        self.label_count() == 0
    }

    #[getter]
    fn _max_label_sets(&self) -> Option<usize> {
        each_family!(&self.core, f => f.max_children())
    }

    /// New label sets refused by the cardinality limit so far.
    #[getter]
    fn _rejected_label_sets(&self) -> u64 {
        each_family!(&self.core, f => f.rejected())
    }

    /// Labelled series currently present (0 for a metric without labels).
    #[getter]
    fn _label_set_count(&self) -> usize {
        if self.label_count() == 0 {
            0
        } else {
            each_family!(&self.core, f => f.len())
        }
    }

    fn __str__(&self) -> String {
        format!("{}:{}", self.kind().as_str(), self.core.descriptor().name)
    }
}
