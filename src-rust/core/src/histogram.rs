//! A histogram child: per shard, one count cell per bucket and one f64 sum cell.
//!
//! Counts are stored per bucket, not cumulatively, and `_count` is derived from them at
//! scrape time. So every scrape is self-consistent however many threads are writing:
//! cumulative buckets never decrease from one `le` to the next or from one scrape to
//! the next, and the `+Inf` bucket always equals `_count`. `_sum` is read in the same
//! pass; an observation in flight may be in the counts and not yet in the sum, never
//! the reverse in a way that lasts past the observation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::atomic_float;
use crate::buckets::BucketLayout;
use crate::clock::unix_now;
use crate::counter::lock;
use crate::error::MetricError;
use crate::exemplar::Exemplar;
use crate::shards::ShardedCells;

pub struct HistogramCore {
    layout: Arc<BucketLayout>,
    /// Cells 0..len are bucket counts; cell `len` is the sum.
    cells: ShardedCells,
    created: f64,
    exemplars: Box<[Mutex<Option<Exemplar>>]>,
    /// Set once any bucket has had an exemplar: until then a scrape takes no lock.
    has_exemplars: AtomicBool,
}

/// A self-consistent read of one histogram child.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts, one per bound (the last is `+Inf` and equals the count).
    pub cumulative: Vec<u64>,
    pub sum: f64,
    pub created: f64,
    pub exemplars: Vec<Option<Exemplar>>,
}

impl HistogramSnapshot {
    #[must_use]
    pub fn count(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }
}

impl HistogramCore {
    #[must_use]
    pub fn new(layout: Arc<BucketLayout>) -> Self {
        let buckets = layout.len();
        HistogramCore {
            cells: ShardedCells::new(buckets + 1),
            exemplars: (0..buckets).map(|_| Mutex::new(None)).collect(),
            has_exemplars: AtomicBool::new(false),
            created: unix_now(),
            layout,
        }
    }

    #[must_use]
    pub fn layout(&self) -> &BucketLayout {
        &self.layout
    }

    /// Records one value; NaN is refused before anything is written.
    #[inline]
    pub fn observe(&self, value: f64) -> Result<usize, MetricError> {
        if value.is_nan() {
            return Err(MetricError::NanObservation);
        }
        let bucket = self.layout.index(value);
        let shard = self.cells.local();
        shard[bucket].fetch_add(1, Ordering::Relaxed);
        atomic_float::add(&shard[self.layout.len()], value);
        Ok(bucket)
    }

    /// Records one value and keeps `exemplar` as the latest of the value's bucket.
    pub fn observe_with_exemplar(
        &self,
        value: f64,
        labels: Vec<(String, String)>,
    ) -> Result<(), MetricError> {
        if value.is_nan() {
            return Err(MetricError::NanObservation);
        }
        let exemplar = Exemplar::new(labels, value, unix_now())?;
        let bucket = self.observe(value)?;
        *lock(&self.exemplars[bucket]) = Some(exemplar);
        self.has_exemplars.store(true, Ordering::Release);
        Ok(())
    }

    /// Records every value of `values`, or none of them if one is NaN (the error names
    /// the first). The batch is bucketed privately and published with one atomic add
    /// per touched bucket.
    pub fn observe_many<T: crate::buckets::BulkValue>(
        &self,
        values: &[T],
    ) -> Result<(), MetricError> {
        if values.is_empty() {
            return Ok(());
        }
        let batch = self.layout.count_batch(values)?;
        let shard = self.cells.local();
        for (cell, &count) in shard.iter().zip(&batch.counts) {
            if count > 0 {
                cell.fetch_add(count, Ordering::Relaxed);
            }
        }
        atomic_float::add(&shard[self.layout.len()], batch.sum);
        Ok(())
    }

    /// Reads the cumulative bucket counts into `cumulative` (one per bound) and returns
    /// the sum, in one pass over the shards and without allocating: what a scrape reads.
    pub fn read_into(&self, cumulative: &mut [u64]) -> f64 {
        let buckets = self.layout.len();
        let cumulative = &mut cumulative[..buckets];
        cumulative.fill(0);
        let mut sum = 0.0;
        for shard in self.cells.shards() {
            for (total, cell) in cumulative.iter_mut().zip(&shard[..buckets]) {
                *total += cell.load(Ordering::Relaxed);
            }
            sum += atomic_float::load(&shard[buckets]);
        }
        let mut running = 0;
        for count in cumulative {
            running += *count;
            *count = running;
        }
        sum
    }

    #[must_use]
    pub fn created(&self) -> f64 {
        self.created
    }

    /// The latest exemplar of `bucket`, locked; `None` without locking while no bucket
    /// has ever had one.
    #[must_use]
    pub fn exemplar(&self, bucket: usize) -> Option<MutexGuard<'_, Option<Exemplar>>> {
        self.has_exemplars
            .load(Ordering::Acquire)
            .then(|| lock(&self.exemplars[bucket]))
    }

    #[must_use]
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = vec![0u64; self.layout.len()];
        let sum = self.read_into(&mut cumulative);
        HistogramSnapshot {
            cumulative,
            sum,
            created: self.created,
            exemplars: self.exemplars.iter().map(|e| lock(e).clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(bounds: &[f64]) -> HistogramCore {
        HistogramCore::new(Arc::new(BucketLayout::new(bounds).unwrap()))
    }

    #[test]
    fn observe_and_snapshot() {
        let h = core(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(v).unwrap();
        }
        let s = h.snapshot();
        assert_eq!(s.cumulative, vec![2, 3, 4]);
        assert_eq!(s.sum, 6.0);
        assert_eq!(s.count(), 4);
        assert!(h.observe(f64::NAN).is_err());
        assert_eq!(h.snapshot().count(), 4);
    }

    #[test]
    fn observe_many_is_all_or_nothing() {
        let h = core(&[0.5]);
        assert!(h.observe_many(&[0.1, f64::NAN, 0.9]).is_err());
        assert_eq!(h.snapshot().count(), 0);
        h.observe_many(&[0.1f32, 0.9]).unwrap();
        assert_eq!(h.snapshot().cumulative, vec![1, 2]);
    }

    #[test]
    fn exemplar_lands_in_the_observed_bucket() {
        let h = core(&[1.0, 2.0]);
        h.observe_with_exemplar(1.5, vec![("trace_id".into(), "t".into())])
            .unwrap();
        let s = h.snapshot();
        assert!(s.exemplars[0].is_none());
        assert_eq!(s.exemplars[1].as_ref().unwrap().value, 1.5);
        assert!(h
            .observe_with_exemplar(1.0, vec![("__bad".into(), String::new())])
            .is_err());
        assert_eq!(h.snapshot().count(), 1, "a bad exemplar records nothing");
    }

    #[test]
    fn concurrent_scrapes_are_self_consistent() {
        let h = core(&[0.25, 0.5, 0.75]);
        std::thread::scope(|s| {
            for t in 0..4 {
                let h = &h;
                s.spawn(move || {
                    for i in 0..20_000 {
                        h.observe(f64::from((i + t) % 10) / 10.0).unwrap();
                    }
                });
            }
            s.spawn(|| {
                // Scrapes until every write has landed (the writers finish in any case).
                let mut last = 0;
                while last < 80_000 {
                    let snap = h.snapshot();
                    assert!(snap.cumulative.windows(2).all(|w| w[0] <= w[1]));
                    assert!(snap.count() >= last);
                    last = snap.count();
                }
            });
        });
        assert_eq!(h.snapshot().count(), 80_000);
    }
}
