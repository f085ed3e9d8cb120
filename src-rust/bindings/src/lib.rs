//! `vumeter._native`: Python bindings over `vumeter-core`. This crate only converts
//! arguments, maps errors (in `errors`) and releases the GIL around bulk work.

// PyO3 extracts arguments into owned values, and `map_err` hands errors over by value.
#![allow(clippy::needless_pass_by_value)]

mod arrays;
mod counter;
mod errors;
mod exemplars;
mod fastcall;
mod gauge;
mod histogram;
mod labels;
mod multiprocess;
mod parse;
mod pyclock;
mod render;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _native {
    #[pymodule_export]
    use crate::counter::{CounterChild, CounterFamily};
    #[pymodule_export]
    use crate::errors::CardinalityLimitExceeded;
    #[pymodule_export]
    use crate::exemplars::set_exemplar_source;
    #[pymodule_export]
    use crate::fastcall::install_fast_paths;
    #[pymodule_export]
    use crate::gauge::{GaugeChild, GaugeFamily};
    #[pymodule_export]
    use crate::histogram::{HistogramChild, HistogramFamily};
    #[pymodule_export]
    use crate::labels::MetricFamily;
    #[pymodule_export]
    use crate::multiprocess::{
        multiprocess_directory, multiprocess_enable, multiprocess_file, multiprocess_fold,
        multiprocess_write_failures, MultiProcessSource,
    };
    #[pymodule_export]
    use crate::parse::parse_exposition;
    #[pymodule_export]
    use crate::render::{family_samples, render_openmetrics, render_text, shard_count};

    use pyo3::prelude::*;

    /// The fork gate's handlers and the shard count are set up at import rather than
    /// on first use, so that no first use can be in flight in one thread while another
    /// forks. (numpy is not imported here: `import vumeter` must not load it, so that
    /// the CLI can limit BLAS threads first.)
    #[pymodule_init]
    // PyO3 requires module initialisers to return PyResult.
    #[allow(clippy::unnecessary_wraps)]
    fn init(_m: &Bound<'_, PyModule>) -> PyResult<()> {
        vumeter_core::sync::install_fork_handlers();
        let _count = vumeter_core::shards::shard_count();
        Ok(())
    }
}
