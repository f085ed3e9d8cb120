//! The Prometheus protobuf exposition: `io.prometheus.client.MetricFamily` messages
//! (client_model's `metrics.proto`), each preceded by its length
//! (`encoding=delimited`). It is the one format that carries native histograms.
//!
//! The content is the text formats', laid out as client_golang lays it out: a counter
//! family is named with its `_total`, and `_created` becomes each metric's
//! `created_timestamp`; a histogram has its classic buckets without `+Inf` (unless that
//! bucket holds an exemplar; `sample_count` is the total), its native buckets as spans
//! and deltas, and, when it has native buckets, its exemplars again in `exemplars`
//! (which Prometheus reads for native histograms; they always carry a timestamp). A
//! native histogram with nothing in it and a zero threshold of 0 gets the no-op span
//! that marks it as native. The sum is always present: protobuf has no way to leave it
//! out, where the text formats drop it for histograms with a negative bound. A
//! multi-process merge is encoded by `protobuf_merged`, with the same layout.

use super::wire::Writer;
use super::{FamilyRef, Part, RenderOptions};
use crate::exemplar::Exemplar;
use crate::family::{ChildView, Descriptor};
use crate::histogram::HistogramCore;
use crate::native_histogram::spans::{encode, Span};
use crate::native_histogram::NativeSnapshot;

/// The content type of this format, as Prometheus asks for it.
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

// metrics.proto field numbers, by message.
pub(super) mod field {
    pub const FAMILY_NAME: u32 = 1;
    pub const FAMILY_HELP: u32 = 2;
    pub const FAMILY_TYPE: u32 = 3;
    pub const FAMILY_METRIC: u32 = 4;
    pub const FAMILY_UNIT: u32 = 5;
    pub const METRIC_LABEL: u32 = 1;
    pub const METRIC_GAUGE: u32 = 2;
    pub const METRIC_COUNTER: u32 = 3;
    pub const METRIC_SUMMARY: u32 = 4;
    pub const METRIC_HISTOGRAM: u32 = 7;
    pub const PAIR_NAME: u32 = 1;
    pub const PAIR_VALUE: u32 = 2;
    pub const VALUE: u32 = 1;
    pub const COUNTER_EXEMPLAR: u32 = 2;
    pub const COUNTER_CREATED: u32 = 3;
    pub const HISTOGRAM_COUNT: u32 = 1;
    pub const HISTOGRAM_SUM: u32 = 2;
    pub const HISTOGRAM_BUCKET: u32 = 3;
    pub const HISTOGRAM_SCHEMA: u32 = 5;
    pub const HISTOGRAM_ZERO_THRESHOLD: u32 = 6;
    pub const HISTOGRAM_ZERO_COUNT: u32 = 7;
    pub const HISTOGRAM_NEGATIVE_SPAN: u32 = 9;
    pub const HISTOGRAM_NEGATIVE_DELTA: u32 = 10;
    pub const HISTOGRAM_POSITIVE_SPAN: u32 = 12;
    pub const HISTOGRAM_POSITIVE_DELTA: u32 = 13;
    pub const HISTOGRAM_CREATED: u32 = 15;
    pub const HISTOGRAM_EXEMPLARS: u32 = 16;
    pub const BUCKET_COUNT: u32 = 1;
    pub const BUCKET_BOUND: u32 = 2;
    pub const BUCKET_EXEMPLAR: u32 = 3;
    pub const SPAN_OFFSET: u32 = 1;
    pub const SPAN_LENGTH: u32 = 2;
    pub const EXEMPLAR_LABEL: u32 = 1;
    pub const EXEMPLAR_VALUE: u32 = 2;
    pub const EXEMPLAR_TIMESTAMP: u32 = 3;
}

// MetricType values.
pub(super) const COUNTER: u64 = 0;
pub(super) const GAUGE: u64 = 1;
pub(super) const SUMMARY: u64 = 2;
pub(super) const HISTOGRAM: u64 = 4;

/// What a render reuses from one histogram child to the next.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) writer: Writer,
    cumulative: Vec<u64>,
    native: NativeSnapshot,
    spans: Vec<Span>,
    deltas: Vec<i64>,
}

/// Appends the delimited messages of `parts` to `out` (verbatim parts are already
/// delimited messages, rendered elsewhere).
pub(super) fn render<H>(out: &mut Vec<u8>, parts: &[Part<'_, H>], options: RenderOptions) {
    let mut scratch = Scratch::default();
    for part in parts {
        match *part {
            Part::Family(family) => render_family(out, &mut scratch, family, options),
            Part::Merged(merged) => {
                super::protobuf_merged::render(out, &mut scratch.writer, merged);
            }
            Part::Verbatim(bytes) => out.extend_from_slice(bytes),
        }
    }
}

fn render_family<H>(
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
    family: FamilyRef<'_, H>,
    options: RenderOptions,
) {
    let descriptor = family.descriptor();
    scratch.writer.start();
    let w = &mut scratch.writer;
    match family {
        FamilyRef::Counter(f) => {
            header(w, descriptor, "_total", COUNTER);
            f.visit(|child| {
                let w = &mut scratch.writer;
                metric_start(w, descriptor, &child);
                let core = child.core();
                w.begin();
                w.double(field::VALUE, core.value());
                if let Some(exemplar) = core.exemplar() {
                    if let Some(e) = exemplar.as_ref() {
                        write_exemplar(w, field::COUNTER_EXEMPLAR, e);
                    }
                }
                if options.created {
                    w.timestamp(field::COUNTER_CREATED, core.created());
                }
                w.end(field::METRIC_COUNTER);
                w.end(field::FAMILY_METRIC);
            });
        }
        FamilyRef::Gauge(f) => {
            header(w, descriptor, "", GAUGE);
            f.visit(|child| {
                let w = &mut scratch.writer;
                metric_start(w, descriptor, &child);
                w.begin();
                w.double(field::VALUE, child.core().value());
                w.end(field::METRIC_GAUGE);
                w.end(field::FAMILY_METRIC);
            });
        }
        FamilyRef::Histogram(f) => {
            header(w, descriptor, "", HISTOGRAM);
            f.visit(|child| {
                metric_start(&mut scratch.writer, descriptor, &child);
                histogram(scratch, child.core(), options);
                scratch.writer.end(field::FAMILY_METRIC);
            });
        }
    }
    scratch.writer.finish_delimited(out);
}

fn header(w: &mut Writer, d: &Descriptor, suffix: &str, kind: u64) {
    family_header(w, &d.name, suffix, &d.help, &d.unit, kind);
}

/// A `MetricFamily`'s name, help, type and unit.
pub(super) fn family_header(
    w: &mut Writer,
    name: &str,
    suffix: &str,
    help: &str,
    unit: &str,
    kind: u64,
) {
    if suffix.is_empty() {
        w.string(field::FAMILY_NAME, name);
    } else {
        w.string(field::FAMILY_NAME, &format!("{name}{suffix}"));
    }
    w.string(field::FAMILY_HELP, help);
    w.uint(field::FAMILY_TYPE, kind);
    if !unit.is_empty() {
        w.string(field::FAMILY_UNIT, unit);
    }
}

/// Opens a `Metric` with the child's labels, sorted by name.
fn metric_start<C>(w: &mut Writer, d: &Descriptor, child: &ChildView<'_, C>) {
    w.begin();
    let values = child.values();
    for &index in &d.sorted_labels {
        w.begin();
        w.string(field::PAIR_NAME, &d.label_names[index]);
        w.string(field::PAIR_VALUE, &values[index]);
        w.end(field::METRIC_LABEL);
    }
}

pub(super) fn write_exemplar(w: &mut Writer, at: u32, e: &Exemplar) {
    w.begin();
    for (name, value) in &e.labels {
        w.begin();
        w.string(field::PAIR_NAME, name);
        w.string(field::PAIR_VALUE, value);
        w.end(field::EXEMPLAR_LABEL);
    }
    w.double(field::EXEMPLAR_VALUE, e.value);
    w.timestamp(field::EXEMPLAR_TIMESTAMP, e.timestamp);
    w.end(at);
}

fn histogram(scratch: &mut Scratch, core: &HistogramCore, options: RenderOptions) {
    let bounds = core.layout().bounds();
    scratch.cumulative.resize(bounds.len(), 0);
    let sum = core.read_into(&mut scratch.cumulative);
    let native = core.native();
    let count = match native {
        Some(native) => {
            native.read_into(&mut scratch.native);
            scratch.native.count()
        }
        None => scratch.cumulative.last().copied().unwrap_or(0),
    };
    let w = &mut scratch.writer;
    w.begin();
    w.uint(field::HISTOGRAM_COUNT, count);
    w.double(field::HISTOGRAM_SUM, sum);
    let classic = bounds.len() > 1;
    for (bucket, (&bound, &cumulative)) in bounds.iter().zip(&scratch.cumulative).enumerate() {
        let exemplar = core.exemplar(bucket);
        let exemplar = exemplar.as_ref().and_then(|e| e.as_ref());
        if !classic || (bound == f64::INFINITY && exemplar.is_none()) {
            continue;
        }
        w.begin();
        w.uint(field::BUCKET_COUNT, cumulative);
        w.double(field::BUCKET_BOUND, bound);
        if let Some(e) = exemplar {
            write_exemplar(w, field::BUCKET_EXEMPLAR, e);
        }
        w.end(field::HISTOGRAM_BUCKET);
    }
    if options.created {
        w.timestamp(field::HISTOGRAM_CREATED, core.created());
    }
    if native.is_some() {
        write_native(w, &mut scratch.spans, &mut scratch.deltas, &scratch.native);
        for bucket in 0..bounds.len() {
            if let Some(exemplar) = core.exemplar(bucket) {
                if let Some(e) = exemplar.as_ref() {
                    write_exemplar(w, field::HISTOGRAM_EXEMPLARS, e);
                }
            }
        }
    }
    w.end(field::METRIC_HISTOGRAM);
}

/// A histogram's native buckets: schema, zero bucket, and the spans and deltas of each
/// side, with the no-op span that marks an empty histogram without a zero bucket as
/// native. `spans` and `deltas` are scratch space.
pub(super) fn write_native(
    w: &mut Writer,
    spans: &mut Vec<Span>,
    deltas: &mut Vec<i64>,
    snap: &NativeSnapshot,
) {
    w.sint(field::HISTOGRAM_SCHEMA, i64::from(snap.schema));
    w.double(field::HISTOGRAM_ZERO_THRESHOLD, snap.zero_threshold);
    w.uint(field::HISTOGRAM_ZERO_COUNT, snap.zero_count);
    for (buckets, span_field, delta_field) in [
        (
            &snap.negative,
            field::HISTOGRAM_NEGATIVE_SPAN,
            field::HISTOGRAM_NEGATIVE_DELTA,
        ),
        (
            &snap.positive,
            field::HISTOGRAM_POSITIVE_SPAN,
            field::HISTOGRAM_POSITIVE_DELTA,
        ),
    ] {
        encode(buckets, spans, deltas);
        for span in spans.iter() {
            write_span(w, span_field, *span);
        }
        w.packed_sints(delta_field, deltas);
    }
    let empty = snap.positive.is_empty() && snap.negative.is_empty();
    if empty && snap.zero_threshold == 0.0 && snap.zero_count == 0 {
        write_span(
            w,
            field::HISTOGRAM_POSITIVE_SPAN,
            Span {
                offset: 0,
                length: 0,
            },
        );
    }
}

fn write_span(w: &mut Writer, at: u32, span: Span) {
    w.begin();
    w.sint(field::SPAN_OFFSET, i64::from(span.offset));
    w.uint(field::SPAN_LENGTH, u64::from(span.length));
    w.end(at);
}
