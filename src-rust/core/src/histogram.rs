//! A histogram child: per shard, one count cell per bucket and one f64 sum cell.
//!
//! Counts are stored per bucket, not cumulatively, and `_count` is derived from them at
//! scrape time. So every scrape is self-consistent however many threads are writing:
//! cumulative buckets never decrease from one `le` to the next or from one scrape to
//! the next, and the `+Inf` bucket always equals `_count`. `_sum` is read in the same
//! pass; an observation in flight may be in the counts and not yet in the sum, never
//! the reverse in a way that lasts past the observation.
//!
//! `_sum` never becomes NaN through recorded values. NaN observations are refused. An
//! infinite observation is counted in its bucket and in `_count` and saturates `_sum`
//! to that infinity for good (so does a sum that overflows the largest float); an
//! infinity of the other sign after that is refused with nothing recorded, because
//! `+Inf + -Inf` is NaN. The sign `_sum` saturated to is kept once per child, apart
//! from the per-shard partial sums, so shards that overflowed apart can never add up
//! to NaN.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use crate::buckets::{BucketLayout, BulkValues};
use crate::clock::unix_now;
use crate::error::MetricError;
use crate::exemplar::{Exemplar, ExemplarSlots};
use crate::multiprocess::SeriesIdentity;
use crate::native_histogram::{NativeConfig, NativeHistogram};
use crate::shards::ShardedCells;

/// No infinity yet, `_sum` is `+Inf`, `_sum` is `-Inf`.
const FINITE: u8 = 0;
const POSITIVE: u8 = 1;
const NEGATIVE: u8 = 2;

fn sign_of(infinity: f64) -> u8 {
    if infinity > 0.0 {
        POSITIVE
    } else {
        NEGATIVE
    }
}

pub struct HistogramCore {
    layout: Arc<BucketLayout>,
    /// Cells 0..len are bucket counts; cell `len` is the sum.
    cells: ShardedCells,
    /// Which infinity `_sum` saturated to, if any (FINITE, POSITIVE, NEGATIVE); set once.
    saturated: AtomicU8,
    created: f64,
    exemplars: ExemplarSlots,
    /// Native buckets beside the classic ones (see `native_histogram`), which then share
    /// this histogram's sum; a reset of the native buckets resets the classic ones too.
    native: Option<NativeHistogram>,
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
        Self::with_shards(layout, crate::shards::shard_count())
    }

    /// A histogram with native buckets too when `native` is given, whose cells (classic
    /// and native) live in the cell file when `series` is given (multi-process mode).
    #[must_use]
    pub fn placed(
        layout: Arc<BucketLayout>,
        native: Option<NativeConfig>,
        series: Option<Arc<SeriesIdentity>>,
    ) -> Self {
        let buckets = layout.len();
        let shards = crate::shards::shard_count();
        HistogramCore {
            native: native.map(|config| NativeHistogram::placed(config, shards, series.clone())),
            cells: ShardedCells::placed(buckets + 1, shards, series),
            saturated: AtomicU8::new(FINITE),
            exemplars: ExemplarSlots::new(),
            created: unix_now(),
            layout,
        }
    }

    /// A histogram with `shards` shards instead of this process's count (for sizing a
    /// host other than this one).
    #[must_use]
    pub fn with_shards(layout: Arc<BucketLayout>, shards: usize) -> Self {
        let buckets = layout.len();
        HistogramCore {
            cells: ShardedCells::with_shards(buckets + 1, shards),
            saturated: AtomicU8::new(FINITE),
            exemplars: ExemplarSlots::new(),
            created: unix_now(),
            layout,
            native: None,
        }
    }

    /// A histogram that records native buckets as well as the classic `layout` (a
    /// layout of `+Inf` alone for a histogram with native buckets only).
    #[must_use]
    pub fn with_native(layout: Arc<BucketLayout>, native: NativeConfig) -> Self {
        Self::placed(layout, Some(native), None)
    }

    #[must_use]
    pub fn native(&self) -> Option<&NativeHistogram> {
        self.native.as_ref()
    }

    #[must_use]
    pub fn layout(&self) -> &BucketLayout {
        &self.layout
    }

    /// Marks `_sum` as saturated to the sign of `infinity`; true when that is (now) the
    /// saturated sign, false when `_sum` already saturated to the other one.
    fn saturate(&self, infinity: f64) -> bool {
        let sign = sign_of(infinity);
        match self
            .saturated
            .compare_exchange(FINITE, sign, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(current) => current == sign,
        }
    }

    /// Refuses NaN, and an infinity opposite to the one `_sum` holds, before anything is
    /// written; claims the saturation sign for an accepted infinity.
    #[cold]
    fn admit_non_finite(&self, value: f64) -> Result<(), MetricError> {
        if value.is_nan() {
            return Err(MetricError::NanObservation);
        }
        if self.saturate(value) {
            Ok(())
        } else {
            Err(MetricError::OppositeInfinity { value })
        }
    }

    /// Adds `value` to a shard's partial sum. A partial sum becomes non-finite only
    /// after the saturation sign was claimed (the first claim stands), so while no sign
    /// is set every partial sum is finite and their total cannot be NaN.
    #[inline]
    fn add_to_sum(&self, cell: &AtomicU64, value: f64) {
        let mut current = cell.load(Ordering::Relaxed);
        loop {
            let next = f64::from_bits(current) + value;
            if !next.is_finite() && !next.is_nan() {
                self.saturate(next);
            }
            // Release: a scrape that reads a non-finite partial sum also sees the sign.
            match cell.compare_exchange_weak(
                current,
                next.to_bits(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Records one value; NaN, and an infinity opposite to `_sum`'s, are refused
    /// before anything is written. Returns the value's bucket.
    #[inline]
    pub fn observe(&self, value: f64) -> Result<usize, MetricError> {
        if !value.is_finite() {
            self.admit_non_finite(value)?;
        }
        if let Some(native) = &self.native {
            if native.observe(value) {
                self.cells.zero();
            }
        }
        let bucket = self.layout.index(value);
        let shard = self.cells.local();
        shard[bucket].fetch_add(1, Ordering::Relaxed);
        self.add_to_sum(&shard[self.layout.len()], value);
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
        self.cells.mirror_exemplar(bucket, &exemplar);
        self.exemplars.store(self.layout.len(), bucket, exemplar);
        Ok(())
    }

    /// Records every value of `values`, or none of them if one is NaN or an infinity
    /// opposite to an earlier one or to `_sum`'s (the error names the first). The
    /// batch is bucketed privately and published with one atomic add per touched
    /// bucket.
    pub fn observe_many<S: BulkValues + ?Sized>(&self, values: &S) -> Result<(), MetricError> {
        if values.is_empty() {
            return Ok(());
        }
        let batch = self.layout.count_batch(values)?;
        if let Some((index, value)) = batch.first_infinity {
            if !self.saturate(value) {
                return Err(MetricError::OppositeInfinityInArray { index, value });
            }
        }
        if let Some(native) = &self.native {
            if native.observe_many(values) {
                self.cells.zero();
            }
        }
        let shard = self.cells.local();
        for (cell, &count) in shard.iter().zip(&batch.counts) {
            if count > 0 {
                cell.fetch_add(count, Ordering::Relaxed);
            }
        }
        self.add_to_sum(&shard[self.layout.len()], batch.sum);
        Ok(())
    }

    /// Reads the cumulative bucket counts into `cumulative` (one per bound) and returns
    /// the sum, in one pass over the shards and without allocating: what a scrape reads.
    pub fn read_into(&self, cumulative: &mut [u64]) -> f64 {
        if let Some(native) = &self.native {
            // A reset the bucket limit scheduled runs at the first scrape after it is due.
            if native.reset_if_due() {
                self.cells.zero();
            }
        }
        let buckets = self.layout.len();
        let cumulative = &mut cumulative[..buckets];
        cumulative.fill(0);
        let mut sum = 0.0;
        for shard in self.cells.shards() {
            for (total, cell) in cumulative.iter_mut().zip(&shard[..buckets]) {
                *total += cell.load(Ordering::Relaxed);
            }
            sum += f64::from_bits(shard[buckets].load(Ordering::Acquire));
        }
        let sum = match self.saturated.load(Ordering::Acquire) {
            POSITIVE => f64::INFINITY,
            NEGATIVE => f64::NEG_INFINITY,
            _ => sum,
        };
        let mut running = 0;
        for count in cumulative {
            running += *count;
            *count = running;
        }
        sum
    }

    /// The storage behind the counts.
    #[must_use]
    pub fn cells(&self) -> &ShardedCells {
        &self.cells
    }

    #[must_use]
    pub fn created(&self) -> f64 {
        self.created
    }

    /// The latest exemplar of `bucket`, locked; `None` without locking while no bucket
    /// has ever had one.
    #[must_use]
    pub fn exemplar(&self, bucket: usize) -> Option<crate::sync::MutexGuard<'_, Option<Exemplar>>> {
        self.exemplars.peek(bucket)
    }

    #[must_use]
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = vec![0u64; self.layout.len()];
        let sum = self.read_into(&mut cumulative);
        HistogramSnapshot {
            cumulative,
            sum,
            created: self.created,
            exemplars: self.exemplars.snapshot(self.layout.len()),
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
    fn sum_saturates_to_the_first_infinity_and_never_becomes_nan() {
        let h = core(&[1.0]);
        h.observe(f64::INFINITY).unwrap();
        h.observe(2.0).unwrap();
        assert_eq!(
            h.observe(f64::NEG_INFINITY),
            Err(MetricError::OppositeInfinity {
                value: f64::NEG_INFINITY
            })
        );
        h.observe(f64::INFINITY).unwrap();
        let s = h.snapshot();
        assert_eq!((s.sum, s.count(), s.cumulative[0]), (f64::INFINITY, 3, 0));
        // Bulk: an opposite infinity anywhere records nothing.
        assert_eq!(
            h.observe_many(&[0.5, f64::NEG_INFINITY]),
            Err(MetricError::OppositeInfinityInArray {
                index: 1,
                value: f64::NEG_INFINITY
            })
        );
        h.observe_many(&[0.5, f64::INFINITY]).unwrap();
        assert_eq!(h.snapshot().count(), 5);
        assert_eq!(h.snapshot().sum, f64::INFINITY);

        let fresh = core(&[1.0]);
        assert_eq!(
            fresh.observe_many(&[f64::NEG_INFINITY, 1.0, f64::INFINITY]),
            Err(MetricError::OppositeInfinityInArray {
                index: 2,
                value: f64::INFINITY
            })
        );
        assert_eq!(fresh.snapshot().count(), 0);
        assert_eq!(fresh.snapshot().sum, 0.0);
    }

    #[test]
    fn shards_that_overflow_apart_never_sum_to_nan() {
        let h = core(&[0.0]);
        // Two threads (two shards) overflow to opposite infinities with finite values.
        std::thread::scope(|s| {
            s.spawn(|| {
                h.observe(f64::MAX).unwrap();
                h.observe(f64::MAX).unwrap();
            });
        });
        std::thread::scope(|s| {
            s.spawn(|| {
                h.observe(-f64::MAX).unwrap();
                h.observe(-f64::MAX).unwrap();
            });
        });
        let s = h.snapshot();
        assert_eq!(s.count(), 4);
        assert_eq!(s.sum, f64::INFINITY, "the first overflow's sign stands");
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
        let rounds = crate::test_rounds(20_000);
        let total = 4 * u64::from(rounds);
        std::thread::scope(|s| {
            for t in 0..4 {
                let h = &h;
                s.spawn(move || {
                    for i in 0..rounds {
                        h.observe(f64::from((i + t) % 10) / 10.0).unwrap();
                    }
                });
            }
            s.spawn(|| {
                // Scrapes until every write has landed (the writers finish in any case).
                let mut last = 0;
                while last < total {
                    let snap = h.snapshot();
                    assert!(snap.cumulative.windows(2).all(|w| w[0] <= w[1]));
                    assert!(snap.count() >= last);
                    last = snap.count();
                }
            });
        });
        assert_eq!(h.snapshot().count(), total);
    }
}
