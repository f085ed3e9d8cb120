//! OpenMetrics 1.0 text, as prometheus_client's `openmetrics.exposition.generate_latest`
//! writes it, without the final `# EOF` (the caller may append other collectors first).

use super::escape::write_escaped_quoted;
use super::labels::SeriesLabels;
use super::number::{write_go_float, write_python_repr};
use super::{bucket_labels, FamilyRef, RenderOptions};
use crate::exemplar::Exemplar;
use crate::family::Descriptor;

#[must_use]
pub fn render_openmetrics<H>(families: &[FamilyRef<'_, H>], options: RenderOptions) -> String {
    let mut out = String::with_capacity(4096);
    for family in families {
        match family {
            FamilyRef::Counter(f) => {
                let d = &f.descriptor;
                header(&mut out, d);
                let total = format!("{}_total", d.name);
                let created = format!("{}_created", d.name);
                for (values, core) in f.children() {
                    let labels = SeriesLabels::new(d, &values);
                    let snapshot = core.snapshot();
                    out.push_str(&total);
                    labels.write(&mut out);
                    value(&mut out, snapshot.value, snapshot.exemplar.as_ref());
                    if options.created {
                        out.push_str(&created);
                        labels.write(&mut out);
                        value(&mut out, snapshot.created, None);
                    }
                }
            }
            FamilyRef::Gauge(f) => {
                let d = &f.descriptor;
                header(&mut out, d);
                for (values, core) in f.children() {
                    out.push_str(&d.name);
                    SeriesLabels::new(d, &values).write(&mut out);
                    value(&mut out, core.value(), None);
                }
            }
            FamilyRef::Histogram(f) => {
                let d = &f.descriptor;
                header(&mut out, d);
                let bucket = format!("{}_bucket", d.name);
                let count = format!("{}_count", d.name);
                let sum = format!("{}_sum", d.name);
                let created = format!("{}_created", d.name);
                let mut les: Option<Vec<String>> = None;
                for (values, core) in f.children() {
                    let labels = SeriesLabels::new(d, &values);
                    let snapshot = core.snapshot();
                    let bounds = core.layout().bounds();
                    let les = les.get_or_insert_with(|| bucket_labels(bounds));
                    for ((le, &n), exemplar) in les
                        .iter()
                        .zip(&snapshot.cumulative)
                        .zip(&snapshot.exemplars)
                    {
                        out.push_str(&bucket);
                        labels.write_with_le(&mut out, le);
                        value(&mut out, n as f64, exemplar.as_ref());
                    }
                    out.push_str(&count);
                    labels.write(&mut out);
                    value(&mut out, snapshot.count() as f64, None);
                    if bounds[0] >= 0.0 {
                        out.push_str(&sum);
                        labels.write(&mut out);
                        value(&mut out, snapshot.sum, None);
                    }
                    if options.created {
                        out.push_str(&created);
                        labels.write(&mut out);
                        value(&mut out, snapshot.created, None);
                    }
                }
            }
        }
    }
    out
}

fn header(out: &mut String, d: &Descriptor) {
    out.push_str("# HELP ");
    out.push_str(&d.name);
    out.push(' ');
    write_escaped_quoted(out, &d.help);
    out.push_str("\n# TYPE ");
    out.push_str(&d.name);
    out.push(' ');
    out.push_str(d.kind.as_str());
    out.push('\n');
    if !d.unit.is_empty() {
        out.push_str("# UNIT ");
        out.push_str(&d.name);
        out.push(' ');
        out.push_str(&d.unit);
        out.push('\n');
    }
}

fn value(out: &mut String, v: f64, exemplar: Option<&Exemplar>) {
    out.push(' ');
    write_go_float(out, v);
    if let Some(e) = exemplar {
        out.push_str(" # {");
        for (i, (name, label)) in e.labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push_str("=\"");
            write_escaped_quoted(out, label);
            out.push('"');
        }
        out.push_str("} ");
        write_go_float(out, e.value);
        out.push(' ');
        write_python_repr(out, e.timestamp);
    }
    out.push('\n');
}
