//! Exposition renderers: Prometheus text 0.0.4 and OpenMetrics 1.0, byte for byte what
//! prometheus_client prints for the same families (apart from where OpenMetrics forbids
//! what prometheus_client writes: see `samples`), and the delimited protobuf format that
//! carries native histograms (`protobuf`, over the wire encoding in `wire`).
//!
//! - `samples` decides which samples each family has (the shaping rules, in one place);
//!   the renderers and Python's `collect()` are [`SampleSink`]s fed by [`shape`].
//! - `text` and `openmetrics` lay the samples out; `sink` holds their shared line
//!   writer, `labels` the label text rendered once per child, `number` the float
//!   formatting and `escape` the escaping.
//!
//! # Where the time goes
//!
//! Rendering 1,000 histogram children (8 bounds and `+Inf`) and 1,000 counter children,
//! 14,000 sample lines with `_created`, takes about 6.7 million instructions (callgrind:
//! `python -m benches.bench_render --callgrind`), some 480 per line, and 0.6 ms on the
//! development machine when its caches are warm:
//! - shortest digits for the 3,000 values that are not integral (1,000 `_sum`s and
//!   2,000 `_created` timestamps): zmij and the reading of its digits, about 530
//!   instructions each, a quarter of the total (caching each child's `_created` text
//!   would save most of that: it changes only on `reset()`);
//! - the 13,000 integral values (bucket counts, `_count`, counters), about 50 each;
//! - copying the prepared name, label and `le` text: four `memcpy` calls per line (70
//!   instructions) and the line writer around them (100);
//! - reading the shards: 4 shards of 10 cells per histogram child on this machine, 350
//!   instructions per child.
//!
//! There is no allocation per line or per child: the line writer, the `le` texts and the
//! count buffer are reused, each output grows once per family, and the bindings keep
//! the [`RenderBuffers`] of each thread for its next render. With cold caches (a
//! scrape every 15 s in a busy worker) the same render takes about twice as long: most
//! of the extra time is reading the shards from memory (4 x 64-byte lines per counter
//! child and 8 per histogram child on this machine).

mod escape;
mod labels;
pub mod merged;
pub mod number;
mod openmetrics;
pub mod protobuf;
mod protobuf_merged;
pub mod samples;
mod sink;
mod text;
mod wire;

use crate::counter::CounterCore;
use crate::family::{Descriptor, Family};
use crate::gauge::GaugeCore;
use crate::histogram::HistogramCore;

pub use labels::SeriesLabels;
pub use merged::shape_merged;
pub use samples::{shape, Number, Rules, Sample, SampleKind, SampleSink};

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

impl<'a, H> FamilyRef<'a, H> {
    #[must_use]
    pub fn descriptor(self) -> &'a Descriptor {
        match self {
            FamilyRef::Counter(f) => &f.descriptor,
            FamilyRef::Gauge(f) => &f.descriptor,
            FamilyRef::Histogram(f) => &f.descriptor,
        }
    }

    /// How many children the family has now.
    #[must_use]
    pub fn len(self) -> usize {
        match self {
            FamilyRef::Counter(f) => f.len(),
            FamilyRef::Gauge(f) => f.len(),
            FamilyRef::Histogram(f) => f.len(),
        }
    }

    #[must_use]
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl<H> Clone for Part<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H> Copy for Part<'_, H> {}

/// A piece of a whole exposition: a family rendered here, or text rendered elsewhere
/// (prometheus_client's collectors) copied in as it is.
pub enum Part<'a, H = ()> {
    Family(FamilyRef<'a, H>),
    /// The families of every process, merged (multi-process mode).
    Merged(&'a crate::multiprocess::Merged),
    Verbatim(&'a [u8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0 text, `# EOF` included.
    OpenMetrics,
    /// Delimited `io.prometheus.client.MetricFamily` protobuf messages (the format that
    /// carries native histograms; see `protobuf`).
    Protobuf,
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

/// The buffers a render writes into. A caller that keeps them between renders (the
/// bindings keep one per thread) writes into memory that is already mapped: fresh
/// buffers for 2,000 children cost some 190 page faults, measured at up to 0.6 ms a
/// render when other allocations keep the allocator from reusing freed memory.
#[derive(Default)]
pub struct RenderBuffers {
    /// The exposition, after [`render_into`].
    pub out: Vec<u8>,
    /// The text format's `_created` lines of the family being rendered.
    created: Vec<u8>,
}

impl RenderBuffers {
    /// The bytes the buffers hold on to.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.out.capacity() + self.created.capacity()
    }
}

/// Renders the whole exposition of `parts` in `format` into `buffers.out` (replacing
/// what it held).
pub fn render_into<H>(
    buffers: &mut RenderBuffers,
    parts: &[Part<'_, H>],
    format: Format,
    options: RenderOptions,
) {
    let RenderBuffers { out, created } = buffers;
    out.clear();
    match format {
        Format::Text => {
            let mut sink = text::TextSink::new(out, created);
            for part in parts {
                match *part {
                    Part::Family(family) => shape(family, Rules::text(options), &mut sink),
                    Part::Merged(merged) => shape_merged(merged, Rules::text(options), &mut sink),
                    Part::Verbatim(bytes) => sink.verbatim(bytes),
                }
            }
        }
        Format::OpenMetrics => {
            let mut sink = openmetrics::OpenMetricsSink::new(out);
            for part in parts {
                match *part {
                    Part::Family(family) => shape(family, Rules::openmetrics(options), &mut sink),
                    Part::Merged(merged) => {
                        shape_merged(merged, Rules::openmetrics(options), &mut sink);
                    }
                    Part::Verbatim(bytes) => sink.verbatim(bytes),
                }
            }
            out.extend_from_slice(OPENMETRICS_EOF.as_bytes());
        }
        Format::Protobuf => protobuf::render(out, parts, options),
    }
}

/// `families` as delimited protobuf messages.
#[must_use]
pub fn render_protobuf<H>(families: &[FamilyRef<'_, H>], options: RenderOptions) -> Vec<u8> {
    let parts: Vec<Part<'_, H>> = families.iter().map(|&f| Part::Family(f)).collect();
    let mut buffers = RenderBuffers::default();
    render_into(&mut buffers, &parts, Format::Protobuf, options);
    buffers.out
}

fn render_string<H>(
    families: &[FamilyRef<'_, H>],
    format: Format,
    options: RenderOptions,
) -> String {
    let parts: Vec<Part<'_, H>> = families.iter().map(|&f| Part::Family(f)).collect();
    let mut buffers = RenderBuffers::default();
    render_into(&mut buffers, &parts, format, options);
    String::from_utf8(buffers.out).expect("the renderers write only UTF-8 text")
}

/// `families` in Prometheus text 0.0.4.
#[must_use]
pub fn render_text<H>(families: &[FamilyRef<'_, H>], options: RenderOptions) -> String {
    render_string(families, Format::Text, options)
}

/// `families` in OpenMetrics 1.0, `# EOF` included.
#[must_use]
pub fn render_openmetrics<H>(families: &[FamilyRef<'_, H>], options: RenderOptions) -> String {
    render_string(families, Format::OpenMetrics, options)
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
# EOF
";
        assert_eq!(text, expected);
    }

    fn snr_histogram() -> Family<HistogramCore> {
        let d = Descriptor::new("snr_db", "SNR", "", MetricKind::Histogram, vec![]);
        let f = Family::new(d, None);
        let layout = Arc::new(BucketLayout::new(&[-5.0, 0.0, 5.0]).unwrap());
        let h = f
            .get_or_create(Vec::new(), || HistogramCore::new(layout))
            .unwrap();
        h.observe(-7.0).unwrap();
        h.observe(3.0).unwrap();
        f
    }

    #[test]
    fn negative_bounds_drop_sum_and_in_openmetrics_count_too() {
        let h = snr_histogram();
        let options = RenderOptions { created: false };
        let buckets = "\
snr_db_bucket{le=\"-5.0\"} 1.0
snr_db_bucket{le=\"0.0\"} 1.0
snr_db_bucket{le=\"5.0\"} 2.0
snr_db_bucket{le=\"+Inf\"} 2.0
";
        let text = render_text(&[FamilyRef::Histogram(&h)], options);
        assert_eq!(
            text,
            format!("# HELP snr_db SNR\n# TYPE snr_db histogram\n{buckets}snr_db_count 2.0\n")
        );
        let om = render_openmetrics(&[FamilyRef::Histogram(&h)], options);
        assert_eq!(
            om,
            format!("# HELP snr_db SNR\n# TYPE snr_db histogram\n{buckets}# EOF\n")
        );
    }

    #[test]
    fn verbatim_parts_keep_their_place() {
        let h = snr_histogram();
        let parts = [
            Part::Verbatim(b"# first\n"),
            Part::Family(FamilyRef::Histogram(&h)),
            Part::Verbatim(b"# last\n"),
        ];
        let mut buffers = RenderBuffers::default();
        for format in [Format::Text, Format::OpenMetrics, Format::OpenMetrics] {
            // The buffers are reused: each render replaces what the last one wrote.
            render_into(&mut buffers, &parts, format, RenderOptions::default());
            let text = std::str::from_utf8(&buffers.out).unwrap();
            assert!(text.starts_with("# first\n# HELP snr_db SNR\n"), "{text}");
            let end = if format == Format::Text {
                "\n# last\n"
            } else {
                "\n# last\n# EOF\n"
            };
            assert!(text.ends_with(end), "{text}");
        }
    }

    #[test]
    fn empty_labelled_family_renders_only_its_header() {
        let d = Descriptor::new("idle", "Idle", "", MetricKind::Gauge, vec!["k".into()]);
        let g: Family<GaugeCore> = Family::new(d, None);
        let text = render_text(&[FamilyRef::Gauge(&g)], RenderOptions::default());
        assert_eq!(text, "# HELP idle Idle\n# TYPE idle gauge\n");
    }
}
