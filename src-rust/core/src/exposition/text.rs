//! Prometheus text format 0.0.4, as prometheus_client's `generate_latest` writes it:
//! counters as `<name>_total`, and `_created` samples gathered into a gauge family that
//! follows each counter or histogram family.

use super::escape::write_escaped_help;
use super::labels::SeriesLabels;
use super::number::write_go_float;
use super::{bucket_labels, FamilyRef, RenderOptions};
use crate::family::Descriptor;

#[must_use]
pub fn render_text<H>(families: &[FamilyRef<'_, H>], options: RenderOptions) -> String {
    let mut out = String::with_capacity(4096);
    for family in families {
        match family {
            FamilyRef::Counter(f) => {
                let children = f.children();
                let name = format!("{}_total", f.descriptor.name);
                header(&mut out, &name, &f.descriptor.help, "counter");
                let mut created = Vec::with_capacity(children.len());
                for (values, core) in &children {
                    let labels = SeriesLabels::new(&f.descriptor, values);
                    let snapshot = core.snapshot();
                    sample(&mut out, &name, &labels, snapshot.value);
                    created.push((labels, snapshot.created));
                }
                if options.created {
                    created_family(&mut out, &f.descriptor, &created);
                }
            }
            FamilyRef::Gauge(f) => {
                let name = &f.descriptor.name;
                header(&mut out, name, &f.descriptor.help, "gauge");
                for (values, core) in f.children() {
                    let labels = SeriesLabels::new(&f.descriptor, &values);
                    sample(&mut out, name, &labels, core.value());
                }
            }
            FamilyRef::Histogram(f) => {
                let d = &f.descriptor;
                let children = f.children();
                header(&mut out, &d.name, &d.help, "histogram");
                let bucket_name = format!("{}_bucket", d.name);
                let count_name = format!("{}_count", d.name);
                let sum_name = format!("{}_sum", d.name);
                let mut created = Vec::with_capacity(children.len());
                let mut les: Option<Vec<String>> = None;
                for (values, core) in &children {
                    let labels = SeriesLabels::new(d, values);
                    let snapshot = core.snapshot();
                    let bounds = core.layout().bounds();
                    let les = les.get_or_insert_with(|| bucket_labels(bounds));
                    for (le, &count) in les.iter().zip(&snapshot.cumulative) {
                        out.push_str(&bucket_name);
                        labels.write_with_le(&mut out, le);
                        value(&mut out, count as f64);
                    }
                    sample(&mut out, &count_name, &labels, snapshot.count() as f64);
                    if bounds[0] >= 0.0 {
                        sample(&mut out, &sum_name, &labels, snapshot.sum);
                    }
                    created.push((labels, snapshot.created));
                }
                if options.created {
                    created_family(&mut out, d, &created);
                }
            }
        }
    }
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    write_escaped_help(out, help);
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

fn sample(out: &mut String, name: &str, labels: &SeriesLabels, v: f64) {
    out.push_str(name);
    labels.write(out);
    value(out, v);
}

fn value(out: &mut String, v: f64) {
    out.push(' ');
    write_go_float(out, v);
    out.push('\n');
}

fn created_family(out: &mut String, descriptor: &Descriptor, created: &[(SeriesLabels, f64)]) {
    if created.is_empty() {
        return;
    }
    let name = format!("{}_created", descriptor.name);
    header(out, &name, &descriptor.help, "gauge");
    for (labels, timestamp) in created {
        sample(out, &name, labels, *timestamp);
    }
}
