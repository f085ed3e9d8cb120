//! A multi-process merge in the protobuf exposition, laid out as live families are in
//! `protobuf`: counters named with `_total`, gauges by their mode (a `pid` label for the
//! per-process modes), histograms with cumulative classic buckets (`+Inf` only for its
//! exemplar) and `sample_count`, and their native buckets when they record them (the
//! count is then the native buckets' own total, as Prometheus requires), summaries as
//! count and sum. The files keep no creation time, so there are no created timestamps
//! (as in the text formats' merged scrape).

use super::protobuf::{
    family_header, field, write_exemplar, write_native, COUNTER, GAUGE, HISTOGRAM, SUMMARY,
};
use super::wire::Writer;
use crate::multiprocess::merge::{GaugeMode, Kind, Merged, MergedFamily, Value, TOTAL};
use crate::native_histogram::spans::Span;

/// Appends one delimited `MetricFamily` per merged family, in name order.
pub(super) fn render(out: &mut Vec<u8>, w: &mut Writer, merged: &Merged) {
    let mut scratch = (Vec::new(), Vec::new());
    for (name, family) in &merged.families {
        w.start();
        let (suffix, kind) = match family.kind {
            Kind::Counter => ("_total", COUNTER),
            Kind::Gauge => ("", GAUGE),
            Kind::Histogram => ("", HISTOGRAM),
            Kind::Summary => ("", SUMMARY),
        };
        family_header(w, name, suffix, &family.help, "", kind);
        let names = label_names(family);
        // Label pairs are written sorted by name (`pid` may sort anywhere).
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].cmp(names[b]));
        for (values, value) in &family.series {
            w.begin();
            for &i in &order {
                w.begin();
                w.string(field::PAIR_NAME, names[i]);
                w.string(field::PAIR_VALUE, &values[i]);
                w.end(field::METRIC_LABEL);
            }
            metric(w, &mut scratch, family, values, value);
            w.end(field::FAMILY_METRIC);
        }
        w.finish_delimited(out);
    }
}

fn label_names(family: &MergedFamily) -> Vec<&str> {
    let mut names: Vec<&str> = family.labels.iter().map(String::as_str).collect();
    if family.mode.is_some_and(GaugeMode::per_process) {
        names.push("pid");
    }
    names
}

fn metric(
    w: &mut Writer,
    (spans, deltas): &mut (Vec<Span>, Vec<i64>),
    family: &MergedFamily,
    values: &[String],
    value: &Value,
) {
    let exemplar = |which: u64| family.exemplars.get(&(values.to_vec(), which));
    match value {
        Value::Counter(total) => {
            w.begin();
            w.double(field::VALUE, *total);
            if let Some(e) = exemplar(TOTAL) {
                write_exemplar(w, field::COUNTER_EXEMPLAR, e);
            }
            w.end(field::METRIC_COUNTER);
        }
        Value::Gauge { value, .. } => {
            w.begin();
            w.double(field::VALUE, *value);
            w.end(field::METRIC_GAUGE);
        }
        Value::Summary { count, sum } => {
            w.begin();
            w.uint(field::HISTOGRAM_COUNT, *count as u64);
            w.double(field::HISTOGRAM_SUM, *sum);
            w.end(field::METRIC_SUMMARY);
        }
        Value::Histogram {
            buckets,
            sum,
            native,
        } => {
            w.begin();
            let count = match native {
                Some(native) => native.count(),
                None => buckets.iter().map(|&(_, count)| count).sum::<f64>() as u64,
            };
            w.uint(field::HISTOGRAM_COUNT, count);
            w.double(field::HISTOGRAM_SUM, *sum);
            let classic = buckets.len() > 1;
            let mut running = 0.0;
            for &(bound, count) in buckets {
                running += count;
                let e = exemplar(bound.to_bits());
                if !classic || (bound == f64::INFINITY && e.is_none()) {
                    continue;
                }
                w.begin();
                w.uint(field::BUCKET_COUNT, running as u64);
                w.double(field::BUCKET_BOUND, bound);
                if let Some(e) = e {
                    write_exemplar(w, field::BUCKET_EXEMPLAR, e);
                }
                w.end(field::HISTOGRAM_BUCKET);
            }
            if let Some(native) = native {
                write_native(w, spans, deltas, native);
                for &(bound, _) in buckets {
                    if let Some(e) = exemplar(bound.to_bits()) {
                        write_exemplar(w, field::HISTOGRAM_EXEMPLARS, e);
                    }
                }
            }
            w.end(field::METRIC_HISTOGRAM);
        }
    }
}
