//! Python's `time.time()` as the clock of `_created` and exemplar timestamps, as
//! prometheus_client reads it: looked up on every read, so a patched `time.time`
//! (`unittest.mock.patch("time.time")`, freezegun) is seen. Only metric and child
//! creation, `reset()`, `set_to_current_time()` and exemplars read it; an `inc` or
//! `observe` without an exemplar never does.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use vumeter_core::clock;

static TIME_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// `time.time()`; the system clock if that fails or returns no number (a clock must
/// not make a metric operation fail).
pub(crate) fn now(py: Python<'_>) -> f64 {
    let read = || -> PyResult<f64> {
        let module = TIME_MODULE.get_or_try_init(py, || py.import("time").map(Bound::unbind))?;
        module.bind(py).getattr("time")?.call0()?.extract()
    };
    read().unwrap_or_else(|_| clock::system_now())
}

/// Runs `f` with the core's clock pinned to `time.time()`.
pub(crate) fn at_now<R>(py: Python<'_>, f: impl FnOnce() -> R) -> R {
    clock::at(now(py), f)
}
