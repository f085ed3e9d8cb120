//! `MetricFamily`, the native base of every metric family: label-value lookup
//! (`labels()`), removal, and the descriptor.
//!
//! The core family is the only registry of children: each labelled child's entry keeps
//! its Python object as the entry's handle, so `labels()` finds the object in the same
//! hash lookup that finds the series, and removal has one place to update. `labels()`
//! is on the hot path: label values that are all `str` are looked up as borrowed
//! UTF-8, with no conversion and no allocation; anything else is converted with
//! `str()` like prometheus_client does, once.
//!
//! No Python object is created, called or dropped while the family's lock is held
//! (cloning a reference is fine): a child's constructor and destructor are Python code,
//! which may release the interpreter lock to a thread that then waits for the family.

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};
use pyo3::{PyTraverseError, PyTypeInfo, PyVisit};
use vumeter_core::{
    Child, CounterCore, Descriptor, Family, GaugeCore, HistogramCore, Inserted, MetricError,
    MetricKind,
};

use vumeter_core::multiprocess::Retire;

use crate::errors::{map_metric_error, type_error};

/// A family whose labelled children keep their Python objects in the core's registry.
pub(crate) type PyFamily<C> = Family<C, Py<PyAny>>;

/// A family and, when it has no labels, its only child.
pub(crate) type NewFamily<C> = (Arc<PyFamily<C>>, Option<Arc<C>>);

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

/// The core a new Python child wraps: the series' existing core when there is one,
/// otherwise a fresh one that `labels()` registers once the object is built.
pub(crate) fn child_core<C>(
    family: &PyFamily<C>,
    values: &[String],
    make: impl FnOnce() -> C,
) -> Arc<C> {
    family
        .with_child(values, |child| Arc::clone(&child.core))
        .unwrap_or_else(|| Arc::new(make()))
}

/// The family's Rust core, whatever its kind.
pub(crate) enum AnyFamily {
    Counter(Arc<PyFamily<CounterCore>>),
    Gauge(Arc<PyFamily<GaugeCore>>),
    Histogram(Arc<PyFamily<HistogramCore>>),
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

/// A new reference to a child's Python object (an incref: fine under the lock).
fn handle_of<C>(py: Python<'_>, child: &Child<C, Py<PyAny>>) -> Option<Py<PyAny>> {
    child.handle.as_ref().map(|h| h.clone_ref(py))
}

/// Label values borrowed as UTF-8 when all of them are exact `str` (the common case),
/// on the stack for up to eight labels.
pub(crate) enum BorrowedValues<'a> {
    Inline([&'a str; 8], usize),
    Heap(Vec<&'a str>),
}

impl<'a> BorrowedValues<'a> {
    /// The values as `&str`, or None when one of them is not exactly a `str`.
    pub(crate) fn of<'py>(
        items: impl ExactSizeIterator<Item = Borrowed<'a, 'py, PyAny>>,
    ) -> Option<Self> {
        let n = items.len();
        let mut out = if n <= 8 {
            BorrowedValues::Inline([""; 8], 0)
        } else {
            BorrowedValues::Heap(Vec::with_capacity(n))
        };
        for item in items {
            if !item.is_exact_instance_of::<PyString>() {
                return None;
            }
            // Borrowed from the str (its cached UTF-8), which lives for 'a.
            let text: &'a str = item.extract().ok()?;
            match &mut out {
                BorrowedValues::Inline(slots, len) => {
                    slots[*len] = text;
                    *len += 1;
                }
                BorrowedValues::Heap(all) => all.push(text),
            }
        }
        Some(out)
    }

    pub(crate) fn as_slice(&self) -> &[&'a str] {
        match self {
            BorrowedValues::Inline(slots, len) => &slots[..*len],
            BorrowedValues::Heap(all) => all,
        }
    }
}

#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct MetricFamily {
    pub(crate) core: AnyFamily,
    child_type: Py<PyType>,
    /// Whether the children's cells live in the multi-process cell file.
    placed: bool,
}

impl MetricFamily {
    pub(crate) fn new(core: AnyFamily, child_type: Bound<'_, PyType>, placed: bool) -> Self {
        MetricFamily {
            core,
            child_type: child_type.unbind(),
            placed,
        }
    }

    fn kind(&self) -> MetricKind {
        self.core.descriptor().kind
    }

    pub(crate) fn label_count(&self) -> usize {
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

    /// The label values as `str` in label-name order.
    fn canonical(
        &self,
        values: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<String>> {
        let names = &self.core.descriptor().label_names;
        match kwargs {
            Some(kw) if !kw.is_empty() => {
                if !values.is_empty() {
                    return Err(PyValueError::new_err("Can't pass both *args and **kwargs"));
                }
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    match kw.get_item(name)? {
                        Some(v) if kw.len() == names.len() => {
                            out.push(v.str()?.to_str()?.to_owned());
                        }
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
                Ok(out)
            }
            _ => {
                if values.len() != names.len() {
                    return Err(map_metric_error(MetricError::LabelCount {
                        expected: names.len(),
                        got: values.len(),
                    }));
                }
                values
                    .iter()
                    .map(|v| Ok(v.str()?.to_str()?.to_owned()))
                    .collect()
            }
        }
    }

    /// The child object registered for `values`, if any.
    pub(crate) fn registered<Q: AsRef<str>>(
        &self,
        py: Python<'_>,
        values: &[Q],
    ) -> Option<Py<PyAny>> {
        each_family!(&self.core, f => f.with_child(values, |c| handle_of(py, c))).flatten()
    }

    /// Builds the child object for `values` (outside any lock) and registers it, or
    /// returns the one another thread registered first.
    fn create_child<'py>(
        slf: &Bound<'py, Self>,
        values: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let py = slf.py();
        each_family!(&this.core, f => f.check_new(values.len())).map_err(map_metric_error)?;
        let key = PyTuple::new(py, &values)?;
        let child = this.child_type.bind(py).call1((slf, key))?;
        let handle = child.clone().unbind();
        let inserted = match &this.core {
            AnyFamily::Counter(f) => {
                let core = Arc::clone(&child.cast::<crate::counter::CounterChild>()?.get().core);
                f.insert(values, core, handle, |c| handle_of(py, c))
            }
            AnyFamily::Gauge(f) => {
                let core = Arc::clone(&child.cast::<crate::gauge::GaugeChild>()?.get().core);
                f.insert(values, core, handle, |c| handle_of(py, c))
            }
            AnyFamily::Histogram(f) => {
                let core =
                    Arc::clone(&child.cast::<crate::histogram::HistogramChild>()?.get().core);
                f.insert(values, core, handle, |c| handle_of(py, c))
            }
        }
        .map_err(map_metric_error)?;
        // The lock is released: dropping the unused object here is safe.
        let stored = match inserted {
            Inserted::New(stored) => stored,
            Inserted::Existing(stored, unused) => {
                drop(unused);
                stored
            }
        };
        Ok(stored.map_or(child, |h| h.into_bound(py)))
    }
}

#[pymethods]
impl MetricFamily {
    /// The child for these label values, created on first use.
    #[pyo3(signature = (*values, **labels), text_signature = "($self, /, *values, **labels)")]
    fn labels<'py>(
        slf: &Bound<'py, Self>,
        values: &Bound<'py, PyTuple>,
        labels: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let py = slf.py();
        if labels.is_none() && values.len() == this.label_count() {
            if let Some(borrowed) = BorrowedValues::of(values.iter_borrowed()) {
                if let Some(child) = this.registered(py, borrowed.as_slice()) {
                    return Ok(child.into_bound(py));
                }
            }
        }
        this.require_labels()?;
        let key = this.canonical(values, labels)?;
        if let Some(child) = this.registered(py, &key) {
            return Ok(child.into_bound(py));
        }
        Self::create_child(slf, key)
    }

    /// Removes the series with these label values, if present.
    #[pyo3(signature = (*values), text_signature = "($self, /, *values)")]
    fn remove(&self, values: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.require_labels()?;
        let key = self.canonical(values, None)?;
        // Dropped after the family's lock is released (the child may run a destructor).
        let removed = each_family!(&self.core, f => f.remove(&key).map(|(_, c)| {
            c.core.retire();
            c.handle
        }));
        drop(removed);
        Ok(())
    }

    /// Removes every series whose labels include all of `labels` (prometheus_client's
    /// `remove_by_labels`), in one pass over the series.
    #[pyo3(text_signature = "($self, /, labels)")]
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
        let removed = each_family!(&self.core, f => f
            .remove_matching(&filter)
            .into_iter()
            .map(|(_, c)| {
                c.core.retire();
                c.handle
            })
            .collect::<Vec<_>>());
        drop(removed);
        Ok(())
    }

    /// Removes every labelled series.
    #[pyo3(text_signature = "($self, /)")]
    fn clear(&self) {
        if self.label_count() == 0 {
            return;
        }
        each_family!(&self.core, f => {
            let cleared = f.clear();
            cleared.for_each_core(Retire::retire);
            drop(cleared);
        });
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.child_type)?;
        // A family that is locked right now is skipped: the collector then sees fewer
        // references and keeps the objects alive, which is always safe.
        each_family!(&self.core, f => f.try_visit_handles(|h| visit.call(h))).map(|_| ())
    }

    fn __clear__(&self) {
        if self.label_count() > 0 {
            each_family!(&self.core, f => drop(f.clear()));
        }
    }

    /// Whether the family's cells live in the multi-process cell file (it was created
    /// with multi-process mode on), so that a merged scrape already holds its series.
    #[getter]
    fn _multiprocess(&self) -> bool {
        self.placed
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
