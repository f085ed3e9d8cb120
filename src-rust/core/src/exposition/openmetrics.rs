//! OpenMetrics 1.0 text, as prometheus_client's `openmetrics.exposition.generate_latest`
//! writes it, with exemplars, and without the final `# EOF` (the caller may append other
//! collectors first). Where prometheus_client writes what the OpenMetrics specification
//! forbids (`_count` without `_sum`), the shaping rules in `samples` decide.

use super::escape::write_escaped_quoted;
use super::labels::SeriesLabels;
use super::number::{write_go_float, write_python_repr};
use super::samples::{Sample, SampleSink};
use super::sink::{write_value, Growth, SampleLine};
use crate::exemplar::Exemplar;
use crate::family::{Descriptor, MetricKind};

pub(super) struct OpenMetricsSink<'o> {
    out: &'o mut Vec<u8>,
    line: SampleLine,
    growth: Growth,
}

impl<'o> OpenMetricsSink<'o> {
    pub(super) fn new(out: &'o mut Vec<u8>) -> Self {
        OpenMetricsSink {
            out,
            line: SampleLine::default(),
            growth: Growth::default(),
        }
    }

    /// Text rendered elsewhere, copied in between families.
    pub(super) fn verbatim(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

impl SampleSink for OpenMetricsSink<'_> {
    const EXEMPLARS: bool = true;

    fn family(&mut self, d: &Descriptor, children: usize) {
        self.line.family(&d.name, d.kind == MetricKind::Histogram);
        self.growth.family(children, self.out);
        let out = &mut *self.out;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(d.name.as_bytes());
        out.push(b' ');
        write_escaped_quoted(out, &d.help);
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(d.name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(d.kind.as_str().as_bytes());
        out.push(b'\n');
        if !d.unit.is_empty() {
            out.extend_from_slice(b"# UNIT ");
            out.extend_from_slice(d.name.as_bytes());
            out.push(b' ');
            out.extend_from_slice(d.unit.as_bytes());
            out.push(b'\n');
        }
    }

    fn series(&mut self, _values: &[String], labels: &SeriesLabels) {
        self.line.series(labels);
        self.growth.child(self.out);
    }

    fn sample(&mut self, sample: Sample<'_>) {
        self.line.write(self.out, sample.kind);
        write_value(self.out, sample.value);
        if let Some(exemplar) = sample.exemplar {
            write_exemplar(self.out, exemplar);
        }
        self.out.push(b'\n');
    }

    fn end_family(&mut self) {}
}

/// ` # {trace_id="..."} value timestamp` (the timestamp as Python's `str(float)`).
fn write_exemplar(out: &mut Vec<u8>, e: &Exemplar) {
    out.extend_from_slice(b" # {");
    for (i, (name, label)) in e.labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        write_escaped_quoted(out, label);
        out.push(b'"');
    }
    out.extend_from_slice(b"} ");
    write_go_float(out, e.value);
    out.push(b' ');
    write_python_repr(out, e.timestamp);
}
