//! `GaugeFamily` and `GaugeChild`.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use pyo3::prelude::*;
use pyo3::types::PyType;
use vumeter_core::clock::unix_now;
use vumeter_core::{Descriptor, Family, GaugeCore, MetricKind};

use crate::errors::{map_metric_error, missing_label_values};
use crate::labels::{new_family, AnyFamily, MetricFamily};

/// Callbacks registered with `set_function`, evaluated just before each scrape.
type Functions = Arc<Mutex<Vec<(Weak<GaugeCore>, Py<PyAny>)>>>;

fn set_function(functions: &Functions, core: &Arc<GaugeCore>, f: Py<PyAny>) {
    let mut functions = functions.lock().unwrap_or_else(PoisonError::into_inner);
    functions.retain(|(c, _)| c.strong_count() > 0 && !std::ptr::eq(c.as_ptr(), Arc::as_ptr(core)));
    functions.push((Arc::downgrade(core), f));
}

#[pyclass(extends = MetricFamily, frozen, subclass, module = "vumeter._native")]
pub struct GaugeFamily {
    family: Arc<Family<GaugeCore>>,
    unlabelled: Option<Arc<GaugeCore>>,
    functions: Functions,
}

impl GaugeFamily {
    fn unlabelled(&self) -> PyResult<&Arc<GaugeCore>> {
        self.unlabelled
            .as_ref()
            .ok_or_else(|| missing_label_values("gauge"))
    }

    /// Sets every function-backed gauge from its callback (prometheus_client calls them
    /// at collect time too; an exception propagates to the scrape the same way).
    pub(crate) fn refresh_functions(&self, py: Python<'_>) -> PyResult<()> {
        let callbacks: Vec<(Arc<GaugeCore>, Py<PyAny>)> = {
            let functions = self
                .functions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            functions
                .iter()
                .filter_map(|(c, f)| c.upgrade().map(|c| (c, f.clone_ref(py))))
                .collect()
        };
        for (core, f) in callbacks {
            core.set(f.bind(py).call0()?.extract::<f64>()?);
        }
        Ok(())
    }
}

#[pymethods]
impl GaugeFamily {
    #[new]
    #[pyo3(signature = (name, documentation, unit, labelnames, child_type, max_label_sets=None))]
    fn new(
        name: String,
        documentation: String,
        unit: String,
        labelnames: Vec<String>,
        child_type: Bound<'_, PyType>,
        max_label_sets: Option<usize>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let descriptor = Descriptor::new(name, documentation, unit, MetricKind::Gauge, labelnames);
        let (family, unlabelled) =
            new_family::<_, GaugeChild>(&child_type, descriptor, max_label_sets, GaugeCore::new)?;
        let base = MetricFamily::new(AnyFamily::Gauge(Arc::clone(&family)), child_type);
        Ok(PyClassInitializer::from(base).add_subclass(GaugeFamily {
            family,
            unlabelled,
            functions: Functions::default(),
        }))
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn inc(&self, amount: f64) -> PyResult<()> {
        self.unlabelled()?.inc(amount);
        Ok(())
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn dec(&self, amount: f64) -> PyResult<()> {
        self.unlabelled()?.inc(-amount);
        Ok(())
    }

    pub(crate) fn set(&self, value: f64) -> PyResult<()> {
        self.unlabelled()?.set(value);
        Ok(())
    }

    fn set_to_current_time(&self) -> PyResult<()> {
        self.unlabelled()?.set(unix_now());
        Ok(())
    }

    /// Takes the value from `f()` at every scrape.
    fn set_function(&self, f: Py<PyAny>) -> PyResult<()> {
        set_function(&self.functions, self.unlabelled()?, f);
        Ok(())
    }
}

#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct GaugeChild {
    core: Arc<GaugeCore>,
    functions: Functions,
}

#[pymethods]
impl GaugeChild {
    #[new]
    fn new(family: &Bound<'_, GaugeFamily>, values: Vec<String>) -> PyResult<Self> {
        let family = family.get();
        let core = family
            .family
            .get_or_create(values, GaugeCore::new)
            .map_err(map_metric_error)?;
        Ok(GaugeChild {
            core,
            functions: Arc::clone(&family.functions),
        })
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn inc(&self, amount: f64) {
        self.core.inc(amount);
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn dec(&self, amount: f64) {
        self.core.inc(-amount);
    }

    pub(crate) fn set(&self, value: f64) {
        self.core.set(value);
    }

    fn set_to_current_time(&self) {
        self.core.set(unix_now());
    }

    fn set_function(&self, f: Py<PyAny>) {
        set_function(&self.functions, &self.core, f);
    }

    /// A child always records (only a labelled family cannot).
    #[classattr]
    fn _observable() -> bool {
        true
    }
}
