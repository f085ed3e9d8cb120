//! The samples of a multi-process merge, fed to the same sinks as live families, so
//! the merged scrape is laid out byte for byte as the single-process one.
//!
//! What prometheus_client's `MultiProcessCollector` gives, it gives here: counters as
//! `_total`, histograms as cumulative buckets with `_count` and `_sum`, summaries as
//! `_count` and `_sum`, gauges by their mode with a `pid` label for `all` and
//! `liveall`, and no `_created` (the files keep no creation time). Exemplars survive
//! the merge: the latest of each series and bucket over every process.

use super::number::write_go_float;
use super::samples::{Number, Rules, Sample, SampleKind, SampleSink};
use super::SeriesLabels;
use crate::exemplar::Exemplar;
use crate::family::{Descriptor, MetricKind};
use crate::multiprocess::merge::{GaugeMode, Kind, Merged, Value, TOTAL};

fn metric_kind(kind: Kind) -> MetricKind {
    match kind {
        Kind::Counter => MetricKind::Counter,
        Kind::Gauge => MetricKind::Gauge,
        Kind::Histogram => MetricKind::Histogram,
        Kind::Summary => MetricKind::Summary,
    }
}

fn plain(kind: SampleKind<'_>, value: f64) -> Sample<'_> {
    Sample {
        kind,
        value: Number::Float(value),
        exemplar: None,
    }
}

/// Feeds every merged family to `sink`, in name order, series in label order.
pub fn shape_merged<S: SampleSink>(merged: &Merged, rules: Rules, sink: &mut S) {
    let mut le = Vec::new();
    for (name, family) in &merged.families {
        let mut labels = family.labels.clone();
        if family.mode.is_some_and(GaugeMode::per_process) {
            labels.push("pid".to_owned());
        }
        let descriptor = Descriptor::new(
            name.clone(),
            family.help.clone(),
            "",
            metric_kind(family.kind),
            labels,
        );
        sink.family(&descriptor, family.series.len());
        let with_exemplars = S::EXEMPLARS && !family.exemplars.is_empty();
        let mut key = (Vec::new(), TOTAL);
        for (values, value) in &family.series {
            sink.series(values, &SeriesLabels::new(&descriptor, values));
            if with_exemplars {
                key.0.clone_from(values);
            }
            let mut exemplar_of = |which: u64| -> Option<&Exemplar> {
                if !with_exemplars {
                    return None;
                }
                key.1 = which;
                family.exemplars.get(&key)
            };
            match value {
                Value::Counter(total) => sink.sample(Sample {
                    exemplar: exemplar_of(TOTAL),
                    ..plain(SampleKind::Total, *total)
                }),
                Value::Gauge { value, .. } => sink.sample(plain(SampleKind::Value, *value)),
                Value::Summary { count, sum } => {
                    sink.sample(plain(SampleKind::Count, *count));
                    sink.sample(plain(SampleKind::Sum, *sum));
                }
                // Native buckets exist only in the protobuf format.
                Value::Histogram { buckets, sum, .. } => {
                    let mut running = 0.0;
                    for &(bound, count) in buckets {
                        running += count;
                        le.clear();
                        write_go_float(&mut le, bound);
                        let text = std::str::from_utf8(&le).expect("numbers are ASCII");
                        sink.sample(Sample {
                            exemplar: exemplar_of(bound.to_bits()),
                            ..plain(SampleKind::Bucket(text), running)
                        });
                    }
                    // The rule of live histograms: no `_sum` when observations may be
                    // negative (OpenMetrics then drops `_count` with it).
                    let has_sum = buckets.first().is_none_or(|b| b.0 >= 0.0);
                    if has_sum || !rules.count_needs_sum {
                        sink.sample(plain(SampleKind::Count, running));
                    }
                    if has_sum {
                        sink.sample(plain(SampleKind::Sum, *sum));
                    }
                }
            }
        }
        sink.end_family();
    }
}
