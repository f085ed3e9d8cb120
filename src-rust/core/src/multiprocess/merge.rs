//! Merging the series of many processes into one family each, by prometheus_client's
//! rules: counters, summaries and histograms sum; gauges follow their multiprocess
//! mode.
//!
//! Label names are kept sorted (the order every exposition writes them in), so series
//! from vumeter's files and from prometheus_client's, whose keys are JSON objects,
//! meet under one key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::exemplar::Exemplar;
use crate::native_histogram::NativeSnapshot;

/// The exemplar key of a counter's `_total` (a histogram's buckets use their bound's
/// bits; this one is a NaN pattern, which no bound is).
pub const TOTAL: u64 = u64::MAX;

/// A gauge's multiprocess mode, as prometheus_client names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GaugeMode {
    All,
    Liveall,
    Min,
    Livemin,
    Max,
    Livemax,
    Sum,
    Livesum,
    Mostrecent,
    Livemostrecent,
}

impl GaugeMode {
    #[must_use]
    pub fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "all" | "" => GaugeMode::All,
            "liveall" => GaugeMode::Liveall,
            "min" => GaugeMode::Min,
            "livemin" => GaugeMode::Livemin,
            "max" => GaugeMode::Max,
            "livemax" => GaugeMode::Livemax,
            "sum" => GaugeMode::Sum,
            "livesum" => GaugeMode::Livesum,
            "mostrecent" => GaugeMode::Mostrecent,
            "livemostrecent" => GaugeMode::Livemostrecent,
            _ => return None,
        })
    }

    /// Whether only live processes count (their series go when the process does).
    #[must_use]
    pub fn live_only(self) -> bool {
        matches!(
            self,
            GaugeMode::Liveall
                | GaugeMode::Livemin
                | GaugeMode::Livemax
                | GaugeMode::Livesum
                | GaugeMode::Livemostrecent
        )
    }

    /// Whether each process keeps a series of its own, labelled with its `pid`.
    #[must_use]
    pub fn per_process(self) -> bool {
        matches!(self, GaugeMode::All | GaugeMode::Liveall)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    #[must_use]
    pub fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "summary" => Kind::Summary,
            _ => return None,
        })
    }
}

/// One series' merged value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Counter(f64),
    /// Non-cumulative counts per upper bound (sorted, `+Inf` last) and the sum; the
    /// native buckets too for a histogram that records them.
    Histogram {
        buckets: Vec<(f64, f64)>,
        sum: f64,
        native: Option<Box<NativeSnapshot>>,
    },
    Summary {
        count: f64,
        sum: f64,
    },
    /// A gauge value and the time it was set (0 when never set).
    Gauge {
        value: f64,
        stamp: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MergedFamily {
    pub kind: Kind,
    pub help: String,
    /// Sorted; a per-process gauge mode adds `pid` to the series' labels.
    pub labels: Vec<String>,
    pub mode: Option<GaugeMode>,
    /// Label values in `labels` order (plus the pid for per-process gauges).
    pub series: BTreeMap<Vec<String>, Value>,
    /// The latest exemplar of each series' `_total` ([`TOTAL`]) or bucket (its bound's
    /// bits), over every process.
    pub exemplars: BTreeMap<(Vec<String>, u64), Exemplar>,
}

/// Where a series comes from: its process, and whether that process still runs.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub pid: &'a str,
    pub live: bool,
}

/// The families of every process merged so far, by name.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Merged {
    pub families: BTreeMap<String, MergedFamily>,
    /// Series that did not fit the family of the same name seen first (another kind
    /// or other label names), left out.
    pub conflicts: u64,
}

impl Merged {
    /// Adds one series of one process. `labels` and `values` pair up in any order.
    // The arguments are one series' fields, as each reader has them at hand.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        mode: Option<GaugeMode>,
        labels: &[String],
        values: &[String],
        value: Value,
        origin: Origin<'_>,
    ) {
        if mode.is_some_and(GaugeMode::live_only) && !origin.live {
            return;
        }
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
        let sorted: Vec<String> = order.iter().map(|&i| labels[i].clone()).collect();
        let family = self
            .families
            .entry(name.to_owned())
            .or_insert_with(|| MergedFamily {
                kind,
                help: help.to_owned(),
                labels: sorted.clone(),
                mode,
                series: BTreeMap::new(),
                exemplars: BTreeMap::new(),
            });
        if family.kind != kind || family.labels != sorted || values.len() != labels.len() {
            self.conflicts += 1;
            return;
        }
        let mut key: Vec<String> = order.iter().map(|&i| values[i].clone()).collect();
        let mode = family.mode;
        if mode.is_some_and(GaugeMode::per_process) {
            key.push(origin.pid.to_owned());
        }
        match family.series.entry(key) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                if let (
                    Some(GaugeMode::Mostrecent | GaugeMode::Livemostrecent),
                    Value::Gauge { stamp, .. },
                ) = (mode, &value)
                {
                    // prometheus_client shows a mostrecent gauge only once it was set.
                    if *stamp <= 0.0 {
                        return;
                    }
                }
                slot.insert(value);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                if !combine(slot.get_mut(), value, mode) {
                    self.conflicts += 1;
                }
            }
        }
    }

    /// Keeps `exemplar` for a series added with the same `labels` and `values` (its
    /// `_total`, or the bucket of bound bits `which`) unless a later one is kept.
    pub fn add_exemplar(
        &mut self,
        name: &str,
        labels: &[String],
        values: &[String],
        which: u64,
        exemplar: Exemplar,
    ) {
        let Some(family) = self.families.get_mut(name) else {
            return;
        };
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
        let key: Vec<String> = order.iter().map(|&i| values[i].clone()).collect();
        keep_latest(&mut family.exemplars, (key, which), exemplar);
    }

    /// Folds another merge into this one (the aggregate of dead processes into the
    /// live ones', say).
    pub fn absorb(&mut self, other: &Merged) {
        for (name, family) in &other.families {
            for (key, value) in &family.series {
                let mut values = key.clone();
                let pid = if family.mode.is_some_and(GaugeMode::per_process) {
                    values.pop()
                } else {
                    None
                };
                self.add(
                    name,
                    family.kind,
                    &family.help,
                    family.mode,
                    &family.labels,
                    &values,
                    value.clone(),
                    Origin {
                        pid: pid.as_deref().unwrap_or(""),
                        live: true,
                    },
                );
            }
        }
        for (name, family) in &other.families {
            if let Some(into) = self.families.get_mut(name) {
                for (key, exemplar) in &family.exemplars {
                    keep_latest(&mut into.exemplars, key.clone(), exemplar.clone());
                }
            }
        }
        self.conflicts += other.conflicts;
    }

    /// What of this merge outlives its processes once they are dead: counters,
    /// summaries, histograms and the gauges of modes that keep dead processes.
    #[must_use]
    pub fn without_live_only(mut self) -> Merged {
        self.families
            .retain(|_, f| !f.mode.is_some_and(GaugeMode::live_only));
        self
    }
}

fn keep_latest(
    exemplars: &mut BTreeMap<(Vec<String>, u64), Exemplar>,
    key: (Vec<String>, u64),
    exemplar: Exemplar,
) {
    match exemplars.entry(key) {
        std::collections::btree_map::Entry::Vacant(slot) => {
            slot.insert(exemplar);
        }
        std::collections::btree_map::Entry::Occupied(mut slot) => {
            if exemplar.timestamp > slot.get().timestamp {
                slot.insert(exemplar);
            }
        }
    }
}

/// Combines two values of one series; false when they are of different kinds.
fn combine(into: &mut Value, value: Value, mode: Option<GaugeMode>) -> bool {
    match (into, value) {
        (Value::Counter(total), Value::Counter(v)) => *total += v,
        (Value::Summary { count, sum }, Value::Summary { count: c, sum: s }) => {
            *count += c;
            *sum += s;
        }
        (
            Value::Histogram {
                buckets,
                sum,
                native,
            },
            Value::Histogram {
                buckets: other_buckets,
                sum: other_sum,
                native: other_native,
            },
        ) => {
            *sum += other_sum;
            add_buckets(buckets, &other_buckets);
            match (native, other_native) {
                (Some(native), Some(other)) => native.add(&other),
                (native @ None, other) => *native = other,
                (Some(_), None) => {}
            }
        }
        (Value::Gauge { value, stamp }, Value::Gauge { value: v, stamp: t }) => {
            match mode.unwrap_or(GaugeMode::All) {
                GaugeMode::Min | GaugeMode::Livemin => *value = value.min(v),
                GaugeMode::Max | GaugeMode::Livemax => *value = value.max(v),
                GaugeMode::Sum | GaugeMode::Livesum => *value += v,
                GaugeMode::Mostrecent | GaugeMode::Livemostrecent => {
                    if t > *stamp {
                        *value = v;
                        *stamp = t;
                    }
                }
                // One series per process: a second value for the same pid is the same
                // process seen again (its file and the aggregate), the later one wins.
                GaugeMode::All | GaugeMode::Liveall => *value = v,
            }
        }
        _ => return false,
    }
    true
}

/// Adds `more`'s counts into `buckets`, bound by bound (both sorted by bound).
fn add_buckets(buckets: &mut Vec<(f64, f64)>, more: &[(f64, f64)]) {
    if buckets.len() == more.len()
        && buckets
            .iter()
            .zip(more)
            .all(|(a, b)| a.0.to_bits() == b.0.to_bits())
    {
        for (a, b) in buckets.iter_mut().zip(more) {
            a.1 += b.1;
        }
        return;
    }
    for &(bound, count) in more {
        match buckets.binary_search_by(|(b, _)| b.total_cmp(&bound)) {
            Ok(i) => buckets[i].1 += count,
            Err(i) => buckets.insert(i, (bound, count)),
        }
    }
}

/// A [`Merged`] as the aggregate file stores it: JSON, with every float as its bit
/// pattern (JSON has no infinities or NaN).
#[derive(Serialize, Deserialize)]
pub struct Stored {
    families: Vec<StoredFamily>,
}

#[derive(Serialize, Deserialize)]
struct StoredFamily {
    name: String,
    kind: Kind,
    help: String,
    labels: Vec<String>,
    mode: Option<GaugeMode>,
    series: Vec<(Vec<String>, StoredValue)>,
    /// (series, which, labels, value bits, timestamp bits).
    #[serde(default)]
    exemplars: Vec<StoredExemplar>,
}

type StoredExemplar = (Vec<String>, u64, Vec<(String, String)>, u64, u64);

#[derive(Serialize, Deserialize)]
enum StoredValue {
    Counter(u64),
    Histogram(Vec<(u64, u64)>, u64),
    Summary(u64, u64),
    Gauge(u64, u64),
    /// A histogram with native buckets: as `Histogram`, then the native ones.
    NativeHistogram(Vec<(u64, u64)>, u64, StoredNative),
}

/// Schema, zero threshold bits, zero count, positive and negative `(index, count)`.
type StoredNative = (i32, u64, u64, Vec<(i32, u64)>, Vec<(i32, u64)>);

impl From<&Merged> for Stored {
    fn from(merged: &Merged) -> Self {
        let bits = f64::to_bits;
        Stored {
            families: merged
                .families
                .iter()
                .map(|(name, f)| StoredFamily {
                    name: name.clone(),
                    kind: f.kind,
                    help: f.help.clone(),
                    labels: f.labels.clone(),
                    mode: f.mode,
                    series: f
                        .series
                        .iter()
                        .map(|(key, value)| {
                            let stored = match value {
                                Value::Counter(v) => StoredValue::Counter(bits(*v)),
                                Value::Histogram {
                                    buckets,
                                    sum,
                                    native,
                                } => {
                                    let buckets =
                                        buckets.iter().map(|(b, c)| (bits(*b), bits(*c))).collect();
                                    match native {
                                        None => StoredValue::Histogram(buckets, bits(*sum)),
                                        Some(n) => StoredValue::NativeHistogram(
                                            buckets,
                                            bits(*sum),
                                            (
                                                n.schema,
                                                bits(n.zero_threshold),
                                                n.zero_count,
                                                n.positive.clone(),
                                                n.negative.clone(),
                                            ),
                                        ),
                                    }
                                }
                                Value::Summary { count, sum } => {
                                    StoredValue::Summary(bits(*count), bits(*sum))
                                }
                                Value::Gauge { value, stamp } => {
                                    StoredValue::Gauge(bits(*value), bits(*stamp))
                                }
                            };
                            (key.clone(), stored)
                        })
                        .collect(),
                    exemplars: f
                        .exemplars
                        .iter()
                        .map(|((key, which), e)| {
                            (
                                key.clone(),
                                *which,
                                e.labels.clone(),
                                bits(e.value),
                                bits(e.timestamp),
                            )
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<Stored> for Merged {
    fn from(stored: Stored) -> Self {
        let float = f64::from_bits;
        let mut merged = Merged::default();
        for f in stored.families {
            let series = f
                .series
                .into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        StoredValue::Counter(v) => Value::Counter(float(v)),
                        StoredValue::Histogram(buckets, sum) => Value::Histogram {
                            buckets: stored_buckets(buckets),
                            sum: float(sum),
                            native: None,
                        },
                        StoredValue::NativeHistogram(buckets, sum, native) => {
                            let (schema, zero_threshold, zero_count, positive, negative) = native;
                            Value::Histogram {
                                buckets: stored_buckets(buckets),
                                sum: float(sum),
                                native: Some(Box::new(NativeSnapshot::new(
                                    schema,
                                    float(zero_threshold),
                                    zero_count,
                                    positive,
                                    negative,
                                ))),
                            }
                        }
                        StoredValue::Summary(count, sum) => Value::Summary {
                            count: float(count),
                            sum: float(sum),
                        },
                        StoredValue::Gauge(value, stamp) => Value::Gauge {
                            value: float(value),
                            stamp: float(stamp),
                        },
                    };
                    (key, value)
                })
                .collect();
            merged.families.insert(
                f.name,
                MergedFamily {
                    kind: f.kind,
                    help: f.help,
                    labels: f.labels,
                    mode: f.mode,
                    series,
                    exemplars: f
                        .exemplars
                        .into_iter()
                        .map(|(key, which, labels, value, timestamp)| {
                            let exemplar = Exemplar {
                                labels,
                                value: float(value),
                                timestamp: float(timestamp),
                            };
                            ((key, which), exemplar)
                        })
                        .collect(),
                },
            );
        }
        merged
    }
}

fn stored_buckets(buckets: Vec<(u64, u64)>) -> Vec<(f64, f64)> {
    buckets
        .into_iter()
        .map(|(b, c)| (f64::from_bits(b), f64::from_bits(c)))
        .collect()
}
