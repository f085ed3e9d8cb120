//! What the text and OpenMetrics sample lines share: `name{labels} value`.

use super::labels::SeriesLabels;
use super::number::{write_go_count, write_go_float};
use super::samples::{Number, SampleKind};

/// A family's sample names and the current child's label text, prepared once per
/// family and once per child so that each line is a few copies and one number.
#[derive(Default)]
pub(super) struct SampleLine {
    name: String,
    /// `<name><suffix>` for every kind but buckets, in [`slot`] order.
    names: [Vec<u8>; 5],
    /// `{a="x"}` of the current child, or nothing when it has no labels.
    labels: Vec<u8>,
    /// `<name>_bucket{a="x",le="` and `",z="y"}` of the current child.
    bucket_head: Vec<u8>,
    bucket_tail: Vec<u8>,
    /// Whether the family has buckets (the bucket texts are prepared only then).
    buckets: bool,
}

fn slot(kind: SampleKind<'_>) -> usize {
    match kind {
        SampleKind::Value | SampleKind::Bucket(_) => 0,
        SampleKind::Total => 1,
        SampleKind::Created => 2,
        SampleKind::Count => 3,
        SampleKind::Sum => 4,
    }
}

impl SampleLine {
    pub(super) fn family(&mut self, name: &str, buckets: bool) {
        self.buckets = buckets;
        self.name.clear();
        self.name.push_str(name);
        for kind in [
            SampleKind::Value,
            SampleKind::Total,
            SampleKind::Created,
            SampleKind::Count,
            SampleKind::Sum,
        ] {
            let full = &mut self.names[slot(kind)];
            full.clear();
            full.extend_from_slice(name.as_bytes());
            full.extend_from_slice(kind.suffix().as_bytes());
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn series(&mut self, labels: &SeriesLabels) {
        self.labels.clear();
        labels.write(&mut self.labels);
        if !self.buckets {
            return;
        }
        self.bucket_head.clear();
        self.bucket_head.extend_from_slice(self.name.as_bytes());
        self.bucket_head.extend_from_slice(b"_bucket");
        labels.write_bucket_head(&mut self.bucket_head);
        self.bucket_tail.clear();
        labels.write_bucket_tail(&mut self.bucket_tail);
    }

    /// `name{labels}` of a sample of the current child.
    pub(super) fn write(&self, out: &mut Vec<u8>, kind: SampleKind<'_>) {
        if let SampleKind::Bucket(le) = kind {
            out.extend_from_slice(&self.bucket_head);
            out.extend_from_slice(le.as_bytes());
            out.extend_from_slice(&self.bucket_tail);
        } else {
            out.extend_from_slice(&self.names[slot(kind)]);
            out.extend_from_slice(&self.labels);
        }
    }
}

/// ` value`, as prometheus_client prints it (`floatToGoString`).
pub(super) fn write_value(out: &mut Vec<u8>, value: Number) {
    out.push(b' ');
    match value {
        Number::Count(n) => write_go_count(out, n),
        Number::Float(v) => write_go_float(out, v),
    }
}

/// Grows an output buffer once per family instead of by repeated doubling: once the
/// first child's lines are written, it reserves room for the other children at that size
/// and an eighth more (label texts differ a little from child to child). Two buffers
/// growing by turns (the text format's `_created` lines) would otherwise be copied at
/// almost every step; measured, that tripled the render time of 2,000 children.
#[derive(Default)]
pub(super) struct Growth {
    children: usize,
    seen: usize,
    start: usize,
}

impl Growth {
    pub(super) fn family(&mut self, children: usize, out: &[u8]) {
        *self = Growth {
            children,
            seen: 0,
            start: out.len(),
        };
    }

    /// As each child begins.
    pub(super) fn child(&mut self, out: &mut Vec<u8>) {
        self.seen += 1;
        if self.seen == 2 {
            let first = out.len() - self.start;
            out.reserve(first * self.children.saturating_sub(1) * 9 / 8);
        }
    }
}
