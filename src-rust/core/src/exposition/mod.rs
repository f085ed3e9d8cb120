//! Exposition renderers: Prometheus text 0.0.4 and OpenMetrics 1.0, byte for byte what
//! prometheus_client prints for the same families.

mod escape;
mod labels;
pub mod number;
mod openmetrics;
mod text;

use crate::counter::CounterCore;
use crate::family::Family;
use crate::gauge::GaugeCore;
use crate::histogram::HistogramCore;

pub use openmetrics::render_openmetrics;
pub use text::render_text;

/// The line that ends an OpenMetrics document.
pub const OPENMETRICS_EOF: &str = "# EOF\n";

/// One family to render, whatever its kind.
#[derive(Clone, Copy)]
pub enum FamilyRef<'a> {
    Counter(&'a Family<CounterCore>),
    Gauge(&'a Family<GaugeCore>),
    Histogram(&'a Family<HistogramCore>),
}

#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Emit `_created` samples (prometheus_client's `disable_created_metrics()` turns
    /// them off).
    pub created: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { created: true }
    }
}

/// The `le` label values of a histogram's buckets.
fn bucket_labels(bounds: &[f64]) -> Vec<String> {
    bounds
        .iter()
        .map(|&b| {
            let mut s = String::new();
            number::write_go_float(&mut s, b);
            s
        })
        .collect()
}
