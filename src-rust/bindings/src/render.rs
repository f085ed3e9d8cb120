//! Native exposition of vumeter families, and their samples for `collect()`.
//!
//! A render holds the GIL only for work that is small: with more than
//! [`DETACHED_SERIES`] series it runs with the GIL released (each family's children lock
//! is then taken in bounded slices, see `Family::visit`), and a result larger than
//! [`DETACHED_COPY`] bytes is copied into its `bytes` object with the GIL released too.
//! `collect()` copies a large family's samples out with the GIL released, then builds
//! the Python objects; that calls prometheus_client's `Sample` (Python code), so the
//! interpreter hands the GIL over meanwhile as it always does.

use std::cell::Cell;

use pyo3::exceptions::PyMemoryError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use vumeter_core::exposition::{
    self, shape, FamilyRef, Format, Part, RenderBuffers, RenderOptions, Rules, Sample, SampleKind,
    SampleSink, SeriesLabels,
};
use vumeter_core::{Descriptor, Exemplar};

use crate::errors::{map_io_error, type_error};
use crate::gauge::GaugeFamily;
use crate::labels::{AnyFamily, MetricFamily};
use crate::multiprocess::MultiProcessSource;

/// Renders of more series than this release the GIL: about 100 µs of work. Below it,
/// keeping the GIL is cheaper than handing it over and waiting to get it back.
pub const DETACHED_SERIES: usize = 1_000;

/// Results larger than this are copied into their `bytes` with the GIL released.
pub const DETACHED_COPY: usize = 1 << 20;

/// The most buffer memory a thread keeps for its next render (a larger render's buffers
/// are freed after it).
const RETAINED: usize = 16 << 20;

thread_local! {
    /// This thread's render buffers, kept between renders (see `RenderBuffers`).
    static BUFFERS: Cell<RenderBuffers> = Cell::new(RenderBuffers::default());
}

fn family_ref(family: &MetricFamily) -> FamilyRef<'_, Py<PyAny>> {
    match &family.core {
        AnyFamily::Counter(c) => FamilyRef::Counter(c),
        AnyFamily::Gauge(g) => FamilyRef::Gauge(g),
        AnyFamily::Histogram(h) => FamilyRef::Histogram(h),
    }
}

/// Function-backed gauges need Python, so they are evaluated before the GIL goes.
fn refresh_functions(py: Python<'_>, family: &Bound<'_, MetricFamily>) -> PyResult<()> {
    if let Ok(gauge) = family.cast::<GaugeFamily>() {
        gauge.get().refresh_functions(py)?;
    }
    Ok(())
}

fn render<'py>(
    py: Python<'py>,
    parts: &[Bound<'py, PyAny>],
    created: bool,
    format: Format,
) -> PyResult<Bound<'py, PyBytes>> {
    // Multi-process directories are merged first, with the GIL released (reading
    // files), so that the pieces below can borrow the merges.
    let mut merges = Vec::new();
    for part in parts {
        if let Ok(source) = part.cast::<MultiProcessSource>() {
            let source = source.get();
            merges.push(py.detach(|| source.merge()).map_err(map_io_error)?);
        }
    }
    let mut next_merge = merges.iter();
    let mut pieces = Vec::with_capacity(parts.len());
    for part in parts {
        if let Ok(family) = part.cast::<MetricFamily>() {
            refresh_functions(py, family)?;
            pieces.push(Part::Family(family_ref(family.get())));
        } else if let Ok(bytes) = part.cast::<PyBytes>() {
            pieces.push(Part::Verbatim(bytes.as_bytes()));
        } else if part.is_instance_of::<MultiProcessSource>() {
            pieces.push(Part::Merged(next_merge.next().expect("merged above")));
        } else {
            return Err(type_error(format!(
                "can only render vumeter metric families, multi-process sources and bytes, got {}",
                part.get_type().name()?
            )));
        }
    }
    let series: usize = pieces
        .iter()
        .map(|p| match p {
            Part::Family(f) => f.len(),
            Part::Merged(m) => m.families.values().map(|f| f.series.len()).sum(),
            Part::Verbatim(_) => 0,
        })
        .sum();
    let options = RenderOptions { created };
    let run = || {
        let mut buffers = BUFFERS.take();
        exposition::render_into(&mut buffers, &pieces, format, options);
        buffers
    };
    let buffers = if series > DETACHED_SERIES {
        py.detach(run)
    } else {
        run()
    };
    let bytes = bytes_of(py, &buffers.out);
    if buffers.capacity() <= RETAINED {
        BUFFERS.set(buffers);
    }
    bytes
}

/// A new `bytes` holding `data`; a large one is filled with the GIL released.
fn bytes_of<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if data.len() <= DETACHED_COPY {
        return Ok(PyBytes::new(py, data));
    }
    let len =
        isize::try_from(data.len()).map_err(|_| PyMemoryError::new_err("render too large"))?;
    // SAFETY: with a null source, PyBytes_FromStringAndSize returns a new reference to
    // a bytes object of `len` uninitialised bytes (or null with an exception set).
    let bytes = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), len),
        )?
    };
    // SAFETY: `bytes` is the bytes object just created, so PyBytes_AsString returns its
    // buffer of `len` bytes. No other code holds a reference to it yet, so writing the
    // buffer without the GIL races with nothing; the object stays alive through `bytes`.
    let buffer = unsafe { pyo3::ffi::PyBytes_AsString(bytes.as_ptr()) };
    let target = SendPtr(buffer.cast::<u8>());
    py.detach(|| {
        let target = target;
        // SAFETY: `target` points at `data.len()` writable bytes (above), which do not
        // overlap `data`, a Rust buffer.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), target.0, data.len()) };
    });
    Ok(bytes.cast_into::<PyBytes>()?)
}

/// A raw pointer that may cross into the GIL-released copy (see `bytes_of`).
struct SendPtr(*mut u8);
// SAFETY: the pointer is only written by the one thread that runs the copy, while the
// object it points into is owned by that same thread's caller.
unsafe impl Send for SendPtr {}

/// Prometheus text 0.0.4 for `parts`, in order: vumeter families are rendered, `bytes`
/// (prometheus_client's rendering of other collectors) copied in.
#[pyfunction]
#[pyo3(signature = (parts, created=true))]
pub fn render_text<'py>(
    py: Python<'py>,
    parts: Vec<Bound<'py, PyAny>>,
    created: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    render(py, &parts, created, Format::Text)
}

/// OpenMetrics 1.0 for `parts`, in order, ending with `# EOF`.
#[pyfunction]
#[pyo3(signature = (parts, created=true))]
pub fn render_openmetrics<'py>(
    py: Python<'py>,
    parts: Vec<Bound<'py, PyAny>>,
    created: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    render(py, &parts, created, Format::OpenMetrics)
}

/// Delimited `io.prometheus.client.MetricFamily` protobuf messages for `parts`, in
/// order: vumeter families are encoded, `bytes` (other collectors, already encoded)
/// copied in.
#[pyfunction]
#[pyo3(signature = (parts, created=true))]
pub fn render_protobuf<'py>(
    py: Python<'py>,
    parts: Vec<Bound<'py, PyAny>>,
    created: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    render(py, &parts, created, Format::Protobuf)
}

/// Samples copied out of a family (under its lock, so without touching Python), to be
/// turned into Python objects once the lock is free.
#[derive(Default)]
struct CollectedSamples {
    name: String,
    /// Label values of each child, in label-name order.
    series: Vec<Box<[String]>>,
    samples: Vec<CollectedSample>,
}

/// The sample suffixes, in the order `CollectedSample::name` indexes them.
const SUFFIXES: [SampleKind<'static>; 6] = [
    SampleKind::Value,
    SampleKind::Total,
    SampleKind::Created,
    SampleKind::Bucket(""),
    SampleKind::Count,
    SampleKind::Sum,
];

fn suffix_index(kind: SampleKind<'_>) -> usize {
    match kind {
        SampleKind::Value => 0,
        SampleKind::Total => 1,
        SampleKind::Created => 2,
        SampleKind::Bucket(_) => 3,
        SampleKind::Count => 4,
        SampleKind::Sum => 5,
    }
}

struct CollectedSample {
    series: usize,
    /// Index into [`SUFFIXES`].
    name: usize,
    le: Option<Box<str>>,
    value: f64,
    exemplar: Option<Exemplar>,
}

impl SampleSink for CollectedSamples {
    const EXEMPLARS: bool = true;

    fn family(&mut self, descriptor: &Descriptor, children: usize) {
        self.name.clone_from(&descriptor.name);
        self.series.reserve(children);
    }

    fn series(&mut self, values: &[String], _labels: &SeriesLabels) {
        self.series.push(values.into());
    }

    fn sample(&mut self, sample: Sample<'_>) {
        let le = match sample.kind {
            SampleKind::Bucket(le) => Some(le.into()),
            _ => None,
        };
        self.samples.push(CollectedSample {
            series: self.series.len() - 1,
            name: suffix_index(sample.kind),
            le,
            value: sample.value.as_f64(),
            exemplar: sample.exemplar.cloned(),
        });
    }

    fn end_family(&mut self) {}
}

/// The family's samples as prometheus_client `Sample(name, labels, value, None,
/// exemplar)` objects, made by calling `sample_type` and `exemplar_type`, shaped by the
/// same rules as the text format (what prometheus_client's `collect()` gives).
#[pyfunction]
#[pyo3(signature = (family, created, sample_type, exemplar_type))]
pub fn family_samples<'py>(
    py: Python<'py>,
    family: &Bound<'py, MetricFamily>,
    created: bool,
    sample_type: &Bound<'py, PyAny>,
    exemplar_type: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    refresh_functions(py, family)?;
    let source = family_ref(family.get());
    let rules = Rules::text(RenderOptions { created });
    let copy_out = move || {
        let mut collected = CollectedSamples::default();
        shape(source, rules, &mut collected);
        collected
    };
    let collected = if source.len() > DETACHED_SERIES {
        py.detach(copy_out)
    } else {
        copy_out()
    };
    let label_names = &source.descriptor().label_names;
    let names: Vec<Bound<'py, PyAny>> = SUFFIXES
        .iter()
        .map(|kind| PyString::new(py, &format!("{}{}", collected.name, kind.suffix())).into_any())
        .collect();
    let mut series_labels = Vec::with_capacity(collected.series.len());
    for values in &collected.series {
        let labels = PyDict::new(py);
        for (name, value) in label_names.iter().zip(values.iter()) {
            labels.set_item(name, value)?;
        }
        series_labels.push(labels);
    }
    let out = PyList::empty(py);
    for sample in collected.samples {
        let base = &series_labels[sample.series];
        let labels = match &sample.le {
            Some(le) => {
                let with_le = base.copy()?;
                with_le.set_item("le", le.as_ref())?;
                with_le
            }
            None => base.copy()?,
        };
        let exemplar = match sample.exemplar {
            Some(e) => {
                let labels = PyDict::new(py);
                for (name, value) in &e.labels {
                    labels.set_item(name, value)?;
                }
                exemplar_type.call1((labels, e.value, e.timestamp))?
            }
            None => py.None().into_bound(py),
        };
        let args = PyTuple::new(
            py,
            [
                names[sample.name].clone(),
                labels.into_any(),
                sample.value.into_pyobject(py)?.into_any(),
                py.None().into_bound(py),
                exemplar,
            ],
        )?;
        out.append(sample_type.call1(args)?)?;
    }
    Ok(out)
}

/// Shards per metric child in this process.
#[pyfunction]
pub fn shard_count() -> usize {
    vumeter_core::shards::shard_count()
}
