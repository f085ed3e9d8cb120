//! `HistogramFamily` and `HistogramChild`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use vumeter_core::buckets::BucketLayout;
use vumeter_core::multiprocess::FamilyIdentity;
use vumeter_core::{Descriptor, HistogramCore, MetricKind};

use crate::arrays;
use crate::errors::{map_metric_error, missing_label_values};
use crate::labels::{child_core, new_family, AnyFamily, MetricFamily, PyFamily};
use crate::multiprocess::{placement, series_of};

#[inline]
fn observe(
    py: Python<'_>,
    core: &HistogramCore,
    amount: f64,
    exemplar: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    match crate::exemplars::resolve(py, exemplar)? {
        None => core.observe(amount).map(|_| ()),
        Some(labels) => crate::pyclock::at_now(py, || core.observe_with_exemplar(amount, labels)),
    }
    .map_err(map_metric_error)
}

#[pyclass(extends = MetricFamily, frozen, subclass, module = "vumeter._native")]
pub struct HistogramFamily {
    family: Arc<PyFamily<HistogramCore>>,
    layout: Arc<BucketLayout>,
    /// Where the children's cells go in multi-process mode.
    placement: Option<Arc<FamilyIdentity>>,
    unlabelled: Option<Arc<HistogramCore>>,
}

impl HistogramFamily {
    fn unlabelled(&self) -> PyResult<&HistogramCore> {
        self.unlabelled
            .as_deref()
            .ok_or_else(|| missing_label_values("histogram"))
    }
}

#[pymethods]
impl HistogramFamily {
    #[new]
    #[pyo3(signature = (name, documentation, unit, labelnames, child_type, buckets, max_label_sets=None))]
    fn new(
        name: String,
        documentation: String,
        unit: String,
        labelnames: Vec<String>,
        child_type: Bound<'_, PyType>,
        buckets: Vec<f64>,
        max_label_sets: Option<usize>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let layout = Arc::new(BucketLayout::new(&buckets).map_err(map_metric_error)?);
        let child_layout = Arc::clone(&layout);
        let descriptor =
            Descriptor::new(name, documentation, unit, MetricKind::Histogram, labelnames);
        let placement = placement(&descriptor, layout.bounds(), "");
        let (family, unlabelled) = crate::pyclock::at_now(child_type.py(), || {
            new_family::<_, HistogramChild>(&child_type, descriptor, max_label_sets, || {
                HistogramCore::placed(child_layout, series_of(placement.as_ref(), &[]))
            })
        })?;
        let base = MetricFamily::new(
            AnyFamily::Histogram(Arc::clone(&family)),
            child_type,
            placement.is_some(),
        );
        Ok(
            PyClassInitializer::from(base).add_subclass(HistogramFamily {
                family,
                layout,
                placement,
                unlabelled,
            }),
        )
    }

    #[pyo3(signature = (amount, exemplar=None))]
    pub(crate) fn observe(
        &self,
        py: Python<'_>,
        amount: f64,
        exemplar: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        observe(py, self.unlabelled()?, amount, exemplar)
    }

    /// Observes every value of a 1-D float64/float32 array (any stride; or a sequence of
    /// numbers) with the GIL released. All or nothing: a NaN, or an infinity opposite to
    /// an earlier one or to `_sum`'s, raises `ValueError` naming its index and records
    /// nothing. A `numpy.ma.MaskedArray` raises `TypeError`: pass `values.compressed()`.
    fn observe_many(&self, values: &Bound<'_, PyAny>) -> PyResult<()> {
        arrays::observe_many(self.unlabelled()?, values)
    }

    /// The bucket upper bounds, `+Inf` last.
    #[getter]
    fn _upper_bounds(&self) -> Vec<f64> {
        self.layout.bounds().to_vec()
    }

    /// Whether the buckets are evenly spaced (`observe_many` then takes the O(1) path).
    #[getter]
    fn _linear_buckets(&self) -> bool {
        self.layout.is_linear()
    }
}

#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct HistogramChild {
    pub(crate) core: Arc<HistogramCore>,
}

#[pymethods]
impl HistogramChild {
    #[new]
    fn new(family: &Bound<'_, HistogramFamily>, values: Vec<String>) -> Self {
        let py = family.py();
        let family = family.get();
        let layout = Arc::clone(&family.layout);
        let core = child_core(&family.family, &values, || {
            crate::pyclock::at_now(py, || {
                HistogramCore::placed(layout, series_of(family.placement.as_ref(), &values))
            })
        });
        HistogramChild { core }
    }

    #[pyo3(signature = (amount, exemplar=None))]
    pub(crate) fn observe(
        &self,
        py: Python<'_>,
        amount: f64,
        exemplar: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        observe(py, &self.core, amount, exemplar)
    }

    /// Observes every value of a 1-D float64/float32 array (any stride; or a sequence of
    /// numbers) with the GIL released. All or nothing: a NaN, or an infinity opposite to
    /// an earlier one or to `_sum`'s, raises `ValueError` naming its index and records
    /// nothing. A `numpy.ma.MaskedArray` raises `TypeError`: pass `values.compressed()`.
    fn observe_many(&self, values: &Bound<'_, PyAny>) -> PyResult<()> {
        arrays::observe_many(&self.core, values)
    }

    /// A child always records (only a labelled family cannot).
    #[classattr]
    fn _observable() -> bool {
        true
    }
}
