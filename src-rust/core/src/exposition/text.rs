//! Prometheus text format 0.0.4, as prometheus_client's `generate_latest` writes it:
//! counters as `<name>_total`, and `_created` samples gathered into a gauge family that
//! follows each counter or histogram family.

use super::escape::write_escaped_help;
use super::labels::SeriesLabels;
use super::samples::{Sample, SampleKind, SampleSink};
use super::sink::{write_value, Growth, SampleLine};
use crate::family::{Descriptor, MetricKind};

pub(super) struct TextSink<'o> {
    out: &'o mut Vec<u8>,
    line: SampleLine,
    /// The `_created` lines of the current family, written after it as their own family.
    created: &'o mut Vec<u8>,
    help: String,
    out_growth: Growth,
    created_growth: Growth,
}

impl<'o> TextSink<'o> {
    pub(super) fn new(out: &'o mut Vec<u8>, created: &'o mut Vec<u8>) -> Self {
        TextSink {
            out,
            line: SampleLine::default(),
            created,
            help: String::new(),
            out_growth: Growth::default(),
            created_growth: Growth::default(),
        }
    }

    /// Text rendered elsewhere, copied in between families.
    pub(super) fn verbatim(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

impl SampleSink for TextSink<'_> {
    const EXEMPLARS: bool = false;

    fn family(&mut self, d: &Descriptor, children: usize) {
        self.line.family(&d.name, d.kind == MetricKind::Histogram);
        if d.kind == MetricKind::Counter {
            header(self.out, &d.name, "_total", &d.help, "counter");
        } else {
            header(self.out, &d.name, "", &d.help, d.kind.as_str());
        }
        self.created.clear();
        self.help.clone_from(&d.help);
        self.out_growth.family(children, self.out);
        self.created_growth.family(children, self.created);
    }

    fn series(&mut self, _values: &[String], labels: &SeriesLabels) {
        self.line.series(labels);
        self.out_growth.child(self.out);
        self.created_growth.child(self.created);
    }

    fn sample(&mut self, sample: Sample<'_>) {
        if sample.kind == SampleKind::Created {
            self.line.write(self.created, sample.kind);
            write_value(self.created, sample.value);
            self.created.push(b'\n');
        } else {
            self.line.write(self.out, sample.kind);
            write_value(self.out, sample.value);
            self.out.push(b'\n');
        }
    }

    fn end_family(&mut self) {
        if !self.created.is_empty() {
            header(self.out, self.line.name(), "_created", &self.help, "gauge");
            self.out.extend_from_slice(self.created);
        }
    }
}

fn header(out: &mut Vec<u8>, name: &str, suffix: &str, help: &str, kind: &str) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    out.push(b' ');
    write_escaped_help(out, help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_bytes());
    out.push(b'\n');
}
