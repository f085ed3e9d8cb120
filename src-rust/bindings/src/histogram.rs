//! `HistogramFamily` and `HistogramChild`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use vumeter_core::buckets::BucketLayout;
use vumeter_core::multiprocess::FamilyIdentity;
use vumeter_core::native_histogram::NativeConfig;
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
    /// Set when the histogram records native buckets too.
    native: Option<NativeConfig>,
    /// Where the children's cells go in multi-process mode.
    placement: Option<Arc<FamilyIdentity>>,
    unlabelled: Option<Arc<HistogramCore>>,
}

/// A new child core: classic buckets, and native ones when configured, in the cell
/// file when placed.
fn new_core(
    layout: &Arc<BucketLayout>,
    native: Option<NativeConfig>,
    placement: Option<&Arc<FamilyIdentity>>,
    values: &[String],
) -> HistogramCore {
    HistogramCore::placed(Arc::clone(layout), native, series_of(placement, values))
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
    /// `buckets=None` (only with `native`) keeps no classic buckets; `native` is
    /// `(bucket_factor, zero_threshold, max_buckets, min_reset_duration_seconds,
    /// max_zero_threshold)`.
    #[pyo3(signature = (name, documentation, unit, labelnames, child_type, buckets, max_label_sets=None, native=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        documentation: String,
        unit: String,
        labelnames: Vec<String>,
        child_type: Bound<'_, PyType>,
        buckets: Option<Vec<f64>>,
        max_label_sets: Option<usize>,
        native: Option<(f64, f64, usize, f64, f64)>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let native = native
            .map(|(factor, zero, max, reset, max_zero)| {
                NativeConfig::new(factor, zero, max, reset)?.with_max_zero_threshold(max_zero)
            })
            .transpose()
            .map_err(map_metric_error)?;
        let layout = match (&buckets, native) {
            (Some(bounds), _) => BucketLayout::new(bounds).map_err(map_metric_error)?,
            (None, Some(_)) => BucketLayout::native_only(),
            (None, None) => {
                return Err(crate::errors::type_error(
                    "a histogram needs buckets, native buckets, or both".to_string(),
                ))
            }
        };
        let layout = Arc::new(layout);
        let descriptor =
            Descriptor::new(name, documentation, unit, MetricKind::Histogram, labelnames);
        let placement = placement(&descriptor, layout.bounds(), "", native.as_ref());
        let (family, unlabelled) = crate::pyclock::at_now(child_type.py(), || {
            new_family::<_, HistogramChild>(&child_type, descriptor, max_label_sets, || {
                new_core(&layout, native, placement.as_ref(), &[])
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
                native,
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

    /// The native schema a new child starts at, or None without native buckets.
    #[getter]
    fn _native_schema(&self) -> Option<i32> {
        self.native.map(|config| config.schema)
    }

    /// See `HistogramChild._native_buckets`.
    fn _native_buckets(&self) -> PyResult<Option<NativeBuckets>> {
        Ok(native_buckets(self.unlabelled()?))
    }
}

/// `(schema, zero_threshold, zero_count, positive, negative)`, each side a list of
/// `(index, count)` sorted by index.
type NativeBuckets = (i32, f64, u64, Vec<(i32, u64)>, Vec<(i32, u64)>);

fn native_buckets(core: &HistogramCore) -> Option<NativeBuckets> {
    core.native().map(|native| {
        let snap = native.snapshot();
        (
            snap.schema,
            snap.zero_threshold,
            snap.zero_count,
            snap.positive,
            snap.negative,
        )
    })
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
        let core = child_core(&family.family, &values, || {
            crate::pyclock::at_now(py, || {
                new_core(
                    &family.layout,
                    family.native,
                    family.placement.as_ref(),
                    &values,
                )
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

    /// The native buckets as a scrape reads them: `(schema, zero_threshold,
    /// zero_count, positive, negative)` with `(index, count)` pairs sorted by index, or
    /// None for a histogram without native buckets.
    fn _native_buckets(&self) -> Option<NativeBuckets> {
        native_buckets(&self.core)
    }

    /// A child always records (only a labelled family cannot).
    #[classattr]
    fn _observable() -> bool {
        true
    }
}
