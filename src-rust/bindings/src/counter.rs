//! `CounterFamily` and `CounterChild`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use vumeter_core::multiprocess::FamilyIdentity;
use vumeter_core::{CounterCore, Descriptor, Exemplar, MetricKind};

use crate::errors::{map_metric_error, missing_label_values};
use crate::labels::{child_core, new_family, AnyFamily, MetricFamily, PyFamily};
use crate::multiprocess::{placement, series_of};

#[inline]
fn inc(
    py: Python<'_>,
    core: &CounterCore,
    amount: f64,
    exemplar: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    match crate::exemplars::resolve(py, exemplar)? {
        None => core.inc(amount),
        Some(labels) => Exemplar::new(labels, amount, crate::pyclock::now(py))
            .and_then(|e| core.inc_with_exemplar(amount, e)),
    }
    .map_err(map_metric_error)
}

#[pyclass(extends = MetricFamily, frozen, subclass, module = "vumeter._native")]
pub struct CounterFamily {
    family: Arc<PyFamily<CounterCore>>,
    /// Where the children's cells go in multi-process mode.
    placement: Option<Arc<FamilyIdentity>>,
    /// The only series of a counter without labels.
    unlabelled: Option<Arc<CounterCore>>,
}

impl CounterFamily {
    fn unlabelled(&self) -> PyResult<&CounterCore> {
        self.unlabelled
            .as_deref()
            .ok_or_else(|| missing_label_values("counter"))
    }
}

#[pymethods]
impl CounterFamily {
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
        let descriptor =
            Descriptor::new(name, documentation, unit, MetricKind::Counter, labelnames);
        let placement = placement(&descriptor, &[], "", None);
        let (family, unlabelled) = crate::pyclock::at_now(child_type.py(), || {
            new_family::<_, CounterChild>(&child_type, descriptor, max_label_sets, || {
                CounterCore::placed(series_of(placement.as_ref(), &[]))
            })
        })?;
        let base = MetricFamily::new(
            AnyFamily::Counter(Arc::clone(&family)),
            child_type,
            placement.is_some(),
        );
        Ok(PyClassInitializer::from(base).add_subclass(CounterFamily {
            family,
            placement,
            unlabelled,
        }))
    }

    #[pyo3(signature = (amount=1.0, exemplar=None))]
    pub(crate) fn inc(
        &self,
        py: Python<'_>,
        amount: f64,
        exemplar: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        inc(py, self.unlabelled()?, amount, exemplar)
    }

    /// Sets the counter back to zero and its `_created` time to now, as if just created.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let core = self.unlabelled()?;
        crate::pyclock::at_now(py, || core.reset());
        Ok(())
    }
}

#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct CounterChild {
    pub(crate) core: Arc<CounterCore>,
}

#[pymethods]
impl CounterChild {
    #[new]
    fn new(family: &Bound<'_, CounterFamily>, values: Vec<String>) -> Self {
        let py = family.py();
        let family = family.get();
        let core = child_core(&family.family, &values, || {
            crate::pyclock::at_now(py, || {
                CounterCore::placed(series_of(family.placement.as_ref(), &values))
            })
        });
        CounterChild { core }
    }

    #[pyo3(signature = (amount=1.0, exemplar=None))]
    pub(crate) fn inc(
        &self,
        py: Python<'_>,
        amount: f64,
        exemplar: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        inc(py, &self.core, amount, exemplar)
    }

    /// Sets the counter back to zero and its `_created` time to now, as if just created.
    fn reset(&self, py: Python<'_>) {
        crate::pyclock::at_now(py, || self.core.reset());
    }

    /// A child always records (only a labelled family cannot).
    #[classattr]
    fn _observable() -> bool {
        true
    }
}
