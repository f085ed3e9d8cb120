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

/// One family to render, whatever its kind (`H`: the handle its children carry, which
/// rendering ignores).
pub enum FamilyRef<'a, H = ()> {
    Counter(&'a Family<CounterCore, H>),
    Gauge(&'a Family<GaugeCore, H>),
    Histogram(&'a Family<HistogramCore, H>),
}

impl<H> Clone for FamilyRef<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H> Copy for FamilyRef<'_, H> {}

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::buckets::BucketLayout;
    use crate::exemplar::Exemplar;
    use crate::family::{Descriptor, MetricKind};

    fn counter() -> Family<CounterCore> {
        let d = Descriptor::new(
            "jobs",
            "Jobs \"done\"\nso far",
            "",
            MetricKind::Counter,
            vec!["zone".into(), "app".into()],
        );
        let f = Family::new(d, None);
        let c = f
            .get_or_create(vec!["e\"u".into(), "x".into()], CounterCore::new)
            .unwrap();
        let e = Exemplar::new(vec![("trace_id".into(), "ab".into())], 2.0, 1.5).unwrap();
        c.inc_with_exemplar(2.0, e).unwrap();
        f
    }

    fn histogram() -> Family<HistogramCore> {
        let d = Descriptor::new(
            "lat_seconds",
            "Latency",
            "seconds",
            MetricKind::Histogram,
            vec!["op".into()],
        );
        let f = Family::new(d, None);
        let layout = Arc::new(BucketLayout::new(&[0.5, 1.0]).unwrap());
        let h = f
            .get_or_create(vec!["read".into()], || HistogramCore::new(layout))
            .unwrap();
        h.observe(0.25).unwrap();
        h.observe(2.0).unwrap();
        f
    }

    fn mask_created(text: &str) -> String {
        text.lines()
            .map(|line| match line.split_once("_created") {
                Some((head, tail)) if !line.starts_with('#') => {
                    let labels = tail.rsplit_once(' ').map_or(tail, |(l, _)| l);
                    format!("{head}_created{labels} T")
                }
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn text_format_matches_prometheus_client_layout() {
        let (c, h) = (counter(), histogram());
        let text = render_text(
            &[FamilyRef::Counter(&c), FamilyRef::Histogram(&h)],
            RenderOptions::default(),
        );
        let expected = "\
# HELP jobs_total Jobs \"done\"\\nso far
# TYPE jobs_total counter
jobs_total{app=\"x\",zone=\"e\\\"u\"} 2.0
# HELP jobs_created Jobs \"done\"\\nso far
# TYPE jobs_created gauge
jobs_created{app=\"x\",zone=\"e\\\"u\"} T
# HELP lat_seconds Latency
# TYPE lat_seconds histogram
lat_seconds_bucket{le=\"0.5\",op=\"read\"} 1.0
lat_seconds_bucket{le=\"1.0\",op=\"read\"} 1.0
lat_seconds_bucket{le=\"+Inf\",op=\"read\"} 2.0
lat_seconds_count{op=\"read\"} 2.0
lat_seconds_sum{op=\"read\"} 2.25
# HELP lat_seconds_created Latency
# TYPE lat_seconds_created gauge
lat_seconds_created{op=\"read\"} T";
        assert_eq!(mask_created(&text), expected);
    }

    #[test]
    fn openmetrics_has_units_exemplars_and_no_created_when_disabled() {
        let (c, h) = (counter(), histogram());
        let text = render_openmetrics(
            &[FamilyRef::Counter(&c), FamilyRef::Histogram(&h)],
            RenderOptions { created: false },
        );
        let expected = "\
# HELP jobs Jobs \\\"done\\\"\\nso far
# TYPE jobs counter
jobs_total{app=\"x\",zone=\"e\\\"u\"} 2.0 # {trace_id=\"ab\"} 2.0 1.5
# HELP lat_seconds Latency
# TYPE lat_seconds histogram
# UNIT lat_seconds seconds
lat_seconds_bucket{le=\"0.5\",op=\"read\"} 1.0
lat_seconds_bucket{le=\"1.0\",op=\"read\"} 1.0
lat_seconds_bucket{le=\"+Inf\",op=\"read\"} 2.0
lat_seconds_count{op=\"read\"} 2.0
lat_seconds_sum{op=\"read\"} 2.25
";
        assert_eq!(text, expected);
    }

    #[test]
    fn empty_labelled_family_renders_only_its_header() {
        let d = Descriptor::new("idle", "Idle", "", MetricKind::Gauge, vec!["k".into()]);
        let g: Family<GaugeCore> = Family::new(d, None);
        let text = render_text(&[FamilyRef::Gauge(&g)], RenderOptions::default());
        assert_eq!(text, "# HELP idle Idle\n# TYPE idle gauge\n");
    }
}
