//! `GaugeFamily` and `GaugeChild`.

use std::sync::{Arc, Weak};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;
use vumeter_core::multiprocess::{FamilyIdentity, GaugeMode};
use vumeter_core::sync::Mutex;
use vumeter_core::{Descriptor, GaugeCore, MetricKind};

use crate::errors::missing_label_values;
use crate::labels::{child_core, new_family, AnyFamily, MetricFamily, PyFamily};
use crate::multiprocess::{placement, series_of};

/// Callbacks registered with `set_function`, evaluated just before each scrape.
type Functions = Arc<Mutex<Vec<(Weak<GaugeCore>, Py<PyAny>)>>>;

/// Makes `f` the callback of `core`, replacing its previous one.
///
/// The replaced callbacks (and those of gauges that no longer exist) are dropped only
/// after the lock is released: dropping a Python object can run its `__del__`, which
/// may release the interpreter lock to a scraping thread that then waits for this
/// lock while holding the interpreter lock, and neither could go on.
fn set_function(functions: &Functions, core: &Arc<GaugeCore>, f: Py<PyAny>) {
    let replaced: Vec<(Weak<GaugeCore>, Py<PyAny>)> = {
        let mut functions = functions.lock();
        let (kept, replaced) = std::mem::take(&mut *functions)
            .into_iter()
            .partition(|(c, _)| {
                c.strong_count() > 0 && !std::ptr::eq(c.as_ptr(), Arc::as_ptr(core))
            });
        *functions = kept;
        functions.push((Arc::downgrade(core), f));
        replaced
    };
    drop(replaced);
}

#[pyclass(extends = MetricFamily, frozen, subclass, module = "vumeter._native")]
pub struct GaugeFamily {
    family: Arc<PyFamily<GaugeCore>>,
    unlabelled: Option<Arc<GaugeCore>>,
    functions: Functions,
    /// Where the children's cells go in multi-process mode.
    placement: Option<Arc<FamilyIdentity>>,
    mode: MostRecent,
    multiprocess_mode: String,
}

/// Whether a gauge is in a `mostrecent` mode: only `set` is allowed then (the merge
/// keeps the value set last, which an `inc` would not move), as in prometheus_client.
#[derive(Clone, Copy)]
struct MostRecent(bool);

impl MostRecent {
    fn of(mode: &str) -> Self {
        MostRecent(matches!(mode, "mostrecent" | "livemostrecent"))
    }

    fn check(self, method: &str) -> PyResult<()> {
        if self.0 {
            Err(PyRuntimeError::new_err(format!(
                "{method} must not be used with the mostrecent mode"
            )))
        } else {
            Ok(())
        }
    }
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
        // Only references are cloned under the lock; the callbacks run, and the clones
        // are dropped, after it is released.
        let callbacks: Vec<(Arc<GaugeCore>, Py<PyAny>)> = {
            let functions = self.functions.lock();
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
    #[pyo3(signature = (name, documentation, unit, labelnames, child_type, max_label_sets=None, multiprocess_mode="all"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        documentation: String,
        unit: String,
        labelnames: Vec<String>,
        child_type: Bound<'_, PyType>,
        max_label_sets: Option<usize>,
        multiprocess_mode: &str,
    ) -> PyResult<PyClassInitializer<Self>> {
        if GaugeMode::parse(multiprocess_mode).is_none() || multiprocess_mode.is_empty() {
            return Err(PyValueError::new_err(format!(
                "Invalid multiprocess mode: {multiprocess_mode}"
            )));
        }
        let descriptor = Descriptor::new(name, documentation, unit, MetricKind::Gauge, labelnames);
        let mode = MostRecent::of(multiprocess_mode);
        let placement = placement(&descriptor, &[], multiprocess_mode, None);
        let (family, unlabelled) =
            new_family::<_, GaugeChild>(&child_type, descriptor, max_label_sets, || {
                GaugeCore::placed(series_of(placement.as_ref(), &[]), mode.0)
            })?;
        let base = MetricFamily::new(
            AnyFamily::Gauge(Arc::clone(&family)),
            child_type,
            placement.is_some(),
        );
        Ok(PyClassInitializer::from(base).add_subclass(GaugeFamily {
            family,
            unlabelled,
            functions: Functions::default(),
            placement,
            mode,
            multiprocess_mode: multiprocess_mode.to_owned(),
        }))
    }

    /// The multiprocess mode given at construction (prometheus_client's names).
    #[getter]
    fn _multiprocess_mode(&self) -> &str {
        &self.multiprocess_mode
    }

    /// Sets every function-backed gauge of the family from its callback now: a
    /// multi-process scrape reads this process's values from its cell file, so they must
    /// be current before the merge.
    fn _refresh_functions(&self, py: Python<'_>) -> PyResult<()> {
        self.refresh_functions(py)
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn inc(&self, amount: f64) -> PyResult<()> {
        self.mode.check("inc")?;
        self.unlabelled()?.inc(amount);
        Ok(())
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn dec(&self, amount: f64) -> PyResult<()> {
        self.mode.check("dec")?;
        self.unlabelled()?.inc(-amount);
        Ok(())
    }

    pub(crate) fn set(&self, value: f64) -> PyResult<()> {
        self.unlabelled()?.set(value);
        Ok(())
    }

    /// Sets the gauge to the current Unix time in seconds.
    fn set_to_current_time(&self, py: Python<'_>) -> PyResult<()> {
        self.unlabelled()?.set(crate::pyclock::now(py));
        Ok(())
    }

    /// Takes the gauge's value from `f()` (a callable returning a float) at every
    /// scrape, replacing any earlier function.
    fn set_function(&self, f: Py<PyAny>) -> PyResult<()> {
        set_function(&self.functions, self.unlabelled()?, f);
        Ok(())
    }
}

#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct GaugeChild {
    pub(crate) core: Arc<GaugeCore>,
    functions: Functions,
    mode: MostRecent,
}

#[pymethods]
impl GaugeChild {
    #[new]
    fn new(family: &Bound<'_, GaugeFamily>, values: Vec<String>) -> Self {
        let family = family.get();
        let core = child_core(&family.family, &values, || {
            GaugeCore::placed(series_of(family.placement.as_ref(), &values), family.mode.0)
        });
        GaugeChild {
            core,
            functions: Arc::clone(&family.functions),
            mode: family.mode,
        }
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn inc(&self, amount: f64) -> PyResult<()> {
        self.mode.check("inc")?;
        self.core.inc(amount);
        Ok(())
    }

    #[pyo3(signature = (amount=1.0))]
    pub(crate) fn dec(&self, amount: f64) -> PyResult<()> {
        self.mode.check("dec")?;
        self.core.inc(-amount);
        Ok(())
    }

    pub(crate) fn set(&self, value: f64) {
        self.core.set(value);
    }

    /// Sets the gauge to the current Unix time in seconds.
    fn set_to_current_time(&self, py: Python<'_>) {
        self.core.set(crate::pyclock::now(py));
    }

    /// Takes the gauge's value from `f()` (a callable returning a float) at every
    /// scrape, replacing any earlier function.
    fn set_function(&self, f: Py<PyAny>) {
        set_function(&self.functions, &self.core, f);
    }

    /// A child always records (only a labelled family cannot).
    #[classattr]
    fn _observable() -> bool {
        true
    }
}
