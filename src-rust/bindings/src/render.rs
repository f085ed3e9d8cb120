//! Native exposition of vumeter families.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vumeter_core::exposition::{self, FamilyRef, RenderOptions};

use crate::gauge::GaugeFamily;
use crate::labels::{AnyFamily, MetricFamily};

fn render<'py>(
    py: Python<'py>,
    families: &[Bound<'py, MetricFamily>],
    created: bool,
    renderer: fn(&[FamilyRef<'_, Py<PyAny>>], RenderOptions) -> String,
) -> PyResult<Bound<'py, PyBytes>> {
    // Function-backed gauges need Python, so they are evaluated before the GIL goes.
    for family in families {
        if let Ok(gauge) = family.cast::<GaugeFamily>() {
            gauge.get().refresh_functions(py)?;
        }
    }
    let refs: Vec<FamilyRef<'_, Py<PyAny>>> = families
        .iter()
        .map(|f| match &f.get().core {
            AnyFamily::Counter(c) => FamilyRef::Counter(c),
            AnyFamily::Gauge(g) => FamilyRef::Gauge(g),
            AnyFamily::Histogram(h) => FamilyRef::Histogram(h),
        })
        .collect();
    let options = RenderOptions { created };
    let text = if refs.len() > 8 {
        py.detach(|| renderer(&refs, options))
    } else {
        renderer(&refs, options)
    };
    Ok(PyBytes::new(py, text.as_bytes()))
}

/// Prometheus text 0.0.4 for `families`, in order.
#[pyfunction]
#[pyo3(signature = (families, created=true))]
pub fn render_text<'py>(
    py: Python<'py>,
    families: Vec<Bound<'py, MetricFamily>>,
    created: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    render(py, &families, created, exposition::render_text)
}

/// OpenMetrics 1.0 for `families`, in order, without the final `# EOF`.
#[pyfunction]
#[pyo3(signature = (families, created=true))]
pub fn render_openmetrics<'py>(
    py: Python<'py>,
    families: Vec<Bound<'py, MetricFamily>>,
    created: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    render(py, &families, created, exposition::render_openmetrics)
}

/// Shards per metric child in this process.
#[pyfunction]
pub fn shard_count() -> usize {
    vumeter_core::shards::shard_count()
}
