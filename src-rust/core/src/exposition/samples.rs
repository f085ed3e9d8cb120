//! The samples of each family, in order: the one place where the shaping rules live.
//! The text and OpenMetrics renderers and Python's `collect()` all consume these.
//!
//! - A counter child gives `_total` (with its exemplar) and `_created`.
//! - A gauge child gives its value.
//! - A histogram child gives one cumulative `_bucket` per bound (with the bucket's
//!   exemplar), `_count`, `_sum` and `_created`. `_sum` is left out when the first bound
//!   is negative: the observations may then be negative, and a sum that can decrease is
//!   not a counter, which is all `_sum` may be (prometheus_client's rule, and the
//!   OpenMetrics specification's). OpenMetrics also requires `_count` exactly when
//!   `_sum` is present, so [`Rules::count_needs_sum`] drops the pair together there (the
//!   `+Inf` bucket still carries the count); prometheus_client's text format and its
//!   `collect()` keep `_count` alone, and so do vumeter's. (The other shape OpenMetrics
//!   allows, a gauge histogram with `_gsum` and `_gcount`, would rename the series
//!   between the two formats, declare the buckets gauges, which they are not, so that
//!   `rate()` over them would be wrong, and forbid `_created`.)
//! - `_created` is present only when [`Rules::created`] is set (prometheus_client's
//!   `disable_created_metrics()` clears it).

use super::number::write_go_float;
use super::{FamilyRef, RenderOptions};
use crate::exemplar::Exemplar;
use crate::family::{ChildView, Descriptor};
use crate::sync::MutexGuard;

/// What a sample is to its family: the suffix of its name, and the `le` of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind<'a> {
    /// A gauge's value, named as the family.
    Value,
    Total,
    Created,
    /// A histogram bucket with the `le` label value (`floatToGoString` of its bound).
    Bucket(&'a str),
    Count,
    Sum,
}

impl SampleKind<'_> {
    /// The suffix appended to the family name.
    #[must_use]
    pub fn suffix(self) -> &'static str {
        match self {
            SampleKind::Value => "",
            SampleKind::Total => "_total",
            SampleKind::Created => "_created",
            SampleKind::Bucket(_) => "_bucket",
            SampleKind::Count => "_count",
            SampleKind::Sum => "_sum",
        }
    }
}

/// A sample's value: counts stay integers until they are printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Count(u64),
    Float(f64),
}

impl Number {
    #[must_use]
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Count(n) => n as f64,
            Number::Float(v) => v,
        }
    }
}

/// One sample of the child last announced with [`SampleSink::series`].
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub kind: SampleKind<'a>,
    pub value: Number,
    pub exemplar: Option<&'a Exemplar>,
}

/// Which of the format-dependent rules apply.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub created: bool,
    /// `_count` only together with `_sum` (OpenMetrics).
    pub count_needs_sum: bool,
}

impl Rules {
    #[must_use]
    pub fn text(options: RenderOptions) -> Self {
        Rules {
            created: options.created,
            count_needs_sum: false,
        }
    }

    #[must_use]
    pub fn openmetrics(options: RenderOptions) -> Self {
        Rules {
            created: options.created,
            count_needs_sum: true,
        }
    }
}

/// Receives the samples of a family. [`shape`] calls `family` once, then for each child
/// `series` and its samples, then `end_family`. `series` and `sample` may run under the
/// family's children lock: they must not block or run Python code.
pub trait SampleSink {
    /// Whether samples should carry exemplars (reading them takes a lock per child).
    const EXEMPLARS: bool;

    /// A family begins; it has about `children` children (others may come and go).
    fn family(&mut self, descriptor: &Descriptor, children: usize);
    /// The child whose samples follow; what the sink needs of it must be copied now.
    fn series(&mut self, values: &[String], labels: &super::SeriesLabels);
    fn sample(&mut self, sample: Sample<'_>);
    fn end_family(&mut self);
}

/// Feeds `family`'s samples to `sink`, child by child in insertion order.
pub fn shape<S: SampleSink, H>(family: FamilyRef<'_, H>, rules: Rules, sink: &mut S) {
    match family {
        FamilyRef::Counter(f) => {
            sink.family(&f.descriptor, f.len());
            f.visit(|child| {
                announce(sink, &child);
                let core = child.core();
                let exemplar = if S::EXEMPLARS { core.exemplar() } else { None };
                sink.sample(Sample {
                    kind: SampleKind::Total,
                    value: Number::Float(core.value()),
                    exemplar: held(exemplar.as_ref()),
                });
                if rules.created {
                    sink.sample(plain(SampleKind::Created, Number::Float(core.created())));
                }
            });
        }
        FamilyRef::Gauge(f) => {
            sink.family(&f.descriptor, f.len());
            f.visit(|child| {
                announce(sink, &child);
                sink.sample(plain(
                    SampleKind::Value,
                    Number::Float(child.core().value()),
                ));
            });
        }
        FamilyRef::Histogram(f) => {
            sink.family(&f.descriptor, f.len());
            let mut les = BucketLabels::default();
            let mut cumulative = Vec::new();
            f.visit(|child| {
                announce(sink, &child);
                let core = child.core();
                let bounds = core.layout().bounds();
                cumulative.resize(bounds.len(), 0);
                let sum = core.read_into(&mut cumulative);
                for (bucket, (le, &count)) in les.of(bounds).zip(&cumulative).enumerate() {
                    let exemplar = if S::EXEMPLARS {
                        core.exemplar(bucket)
                    } else {
                        None
                    };
                    sink.sample(Sample {
                        kind: SampleKind::Bucket(le),
                        value: Number::Count(count),
                        exemplar: held(exemplar.as_ref()),
                    });
                }
                let has_sum = bounds[0] >= 0.0;
                if has_sum || !rules.count_needs_sum {
                    let count = cumulative.last().copied().unwrap_or(0);
                    sink.sample(plain(SampleKind::Count, Number::Count(count)));
                }
                if has_sum {
                    sink.sample(plain(SampleKind::Sum, Number::Float(sum)));
                }
                if rules.created {
                    sink.sample(plain(SampleKind::Created, Number::Float(core.created())));
                }
            });
        }
    }
    sink.end_family();
}

fn announce<S: SampleSink, C>(sink: &mut S, child: &ChildView<'_, C>) {
    sink.series(child.values(), child.labels());
}

fn plain(kind: SampleKind<'_>, value: Number) -> Sample<'_> {
    Sample {
        kind,
        value,
        exemplar: None,
    }
}

fn held<'a>(guard: Option<&'a MutexGuard<'_, Option<Exemplar>>>) -> Option<&'a Exemplar> {
    guard.and_then(|g| g.as_ref())
}

/// The `le` values of a family's buckets, formatted once per family (every child of a
/// family shares one layout; a differing one is formatted anew).
#[derive(Default)]
struct BucketLabels {
    bounds: Vec<f64>,
    text: String,
    ends: Vec<usize>,
}

impl BucketLabels {
    fn of(&mut self, bounds: &[f64]) -> impl Iterator<Item = &str> {
        if self.bounds != bounds {
            let mut text = Vec::new();
            self.ends.clear();
            for &bound in bounds {
                write_go_float(&mut text, bound);
                self.ends.push(text.len());
            }
            self.text = String::from_utf8(text).expect("formatted numbers are ASCII");
            self.bounds = bounds.to_vec();
        }
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.text[start..end])
    }
}
