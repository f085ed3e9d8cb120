//! A counter child: one f64 cell per shard.
//!
//! Only non-negative amounts are added, so the value can never become NaN: an
//! increment by `+Inf` (or a sum past the largest float) saturates the counter at
//! `+Inf`, where it stays until `reset()`, as in prometheus_client.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::atomic_float;
use crate::clock::unix_now;
use crate::error::MetricError;
use crate::exemplar::{Exemplar, ExemplarSlots};
use crate::multiprocess::SeriesIdentity;
use crate::shards::ShardedCells;

pub struct CounterCore {
    cells: ShardedCells,
    created: AtomicU64,
    exemplar: ExemplarSlots,
}

/// A consistent read of one counter child.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSnapshot {
    pub value: f64,
    pub created: f64,
    pub exemplar: Option<Exemplar>,
}

impl Default for CounterCore {
    fn default() -> Self {
        Self::new()
    }
}

impl CounterCore {
    #[must_use]
    pub fn new() -> Self {
        Self::with_shards(crate::shards::shard_count())
    }

    /// A counter with `shards` shards instead of this process's count (for sizing a
    /// host other than this one).
    /// A counter whose cells live in the cell file when `series` is given (multi-process
    /// mode).
    #[must_use]
    pub fn placed(series: Option<Arc<SeriesIdentity>>) -> Self {
        CounterCore {
            cells: ShardedCells::placed(1, crate::shards::shard_count(), series),
            created: AtomicU64::new(unix_now().to_bits()),
            exemplar: ExemplarSlots::new(),
        }
    }

    #[must_use]
    pub fn with_shards(shards: usize) -> Self {
        CounterCore {
            cells: ShardedCells::with_shards(1, shards),
            created: AtomicU64::new(unix_now().to_bits()),
            exemplar: ExemplarSlots::new(),
        }
    }

    /// Adds `amount`, which must be a non-negative number.
    #[inline]
    pub fn inc(&self, amount: f64) -> Result<(), MetricError> {
        // NaN is neither negative nor a valid amount.
        if amount.is_nan() || amount < 0.0 {
            return Err(MetricError::InvalidIncrement(amount));
        }
        atomic_float::add(&self.cells.local()[0], amount);
        Ok(())
    }

    /// Adds `amount` and keeps `exemplar` as the series' latest exemplar.
    pub fn inc_with_exemplar(&self, amount: f64, exemplar: Exemplar) -> Result<(), MetricError> {
        self.inc(amount)?;
        self.cells.mirror_exemplar(0, &exemplar);
        self.exemplar.store(1, 0, exemplar);
        Ok(())
    }

    #[must_use]
    pub fn value(&self) -> f64 {
        // Folded from +0.0: `sum()` of no shard at all would be -0.0.
        self.cells
            .shards()
            .fold(0.0, |total, shard| total + atomic_float::load(&shard[0]))
    }

    /// Back to zero, as if just created (prometheus_client's `Counter.reset`).
    pub fn reset(&self) {
        self.cells.zero();
        atomic_float::store(&self.created, unix_now());
        self.exemplar.clear();
    }

    /// The storage behind the counts.
    #[must_use]
    pub fn cells(&self) -> &ShardedCells {
        &self.cells
    }

    #[must_use]
    pub fn created(&self) -> f64 {
        atomic_float::load(&self.created)
    }

    /// The latest exemplar, locked; `None` without locking while there never was one.
    #[must_use]
    pub fn exemplar(&self) -> Option<crate::sync::MutexGuard<'_, Option<Exemplar>>> {
        self.exemplar.peek(0)
    }

    #[must_use]
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            value: self.value(),
            created: atomic_float::load(&self.created),
            exemplar: self.exemplar.get(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_threads_exactly() {
        let c = CounterCore::new();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..crate::test_rounds(5_000) {
                        c.inc(1.0).unwrap();
                    }
                });
            }
        });
        assert_eq!(c.value(), 8.0 * f64::from(crate::test_rounds(5_000)));
    }

    #[test]
    fn an_untouched_counter_is_positive_zero() {
        let c = CounterCore::new();
        assert!(c.value().is_sign_positive() && c.value() == 0.0);
    }

    #[test]
    fn refuses_negative_and_nan() {
        let c = CounterCore::new();
        assert!(c.inc(-1.0).is_err());
        assert!(c.inc(f64::NAN).is_err());
        c.inc(2.5).unwrap();
        assert_eq!(c.value(), 2.5);
        c.reset();
        assert_eq!(c.value(), 0.0);
    }

    #[test]
    fn infinity_saturates_and_never_becomes_nan() {
        let c = CounterCore::new();
        c.inc(f64::INFINITY).unwrap();
        c.inc(5.0).unwrap();
        c.inc(f64::INFINITY).unwrap();
        assert_eq!(c.value(), f64::INFINITY);
        assert!(c.inc(f64::NEG_INFINITY).is_err());
        // Overflow of finite amounts saturates the same way, in any shard.
        let big = CounterCore::new();
        std::thread::scope(|s| {
            s.spawn(|| big.inc(f64::MAX).unwrap());
            s.spawn(|| big.inc(f64::MAX).unwrap());
        });
        big.inc(f64::MAX).unwrap();
        assert_eq!(big.value(), f64::INFINITY);
        c.reset();
        assert_eq!(c.value(), 0.0);
    }

    #[test]
    fn keeps_latest_exemplar() {
        let c = CounterCore::new();
        let e = Exemplar::new(vec![("trace_id".into(), "abc".into())], 1.0, 5.0).unwrap();
        c.inc_with_exemplar(1.0, e.clone()).unwrap();
        assert_eq!(c.snapshot().exemplar, Some(e));
    }
}
