//! A counter child: one f64 cell per shard.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::atomic_float;
use crate::clock::unix_now;
use crate::error::MetricError;
use crate::exemplar::Exemplar;
use crate::shards::ShardedCells;

pub struct CounterCore {
    cells: ShardedCells,
    created: AtomicU64,
    exemplar: Mutex<Option<Exemplar>>,
    /// Set once the counter has had an exemplar: until then a scrape takes no lock.
    has_exemplar: AtomicBool,
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
        CounterCore {
            cells: ShardedCells::new(1),
            created: AtomicU64::new(unix_now().to_bits()),
            exemplar: Mutex::new(None),
            has_exemplar: AtomicBool::new(false),
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
        *lock(&self.exemplar) = Some(exemplar);
        self.has_exemplar.store(true, Ordering::Release);
        Ok(())
    }

    #[must_use]
    pub fn value(&self) -> f64 {
        self.cells
            .shards()
            .map(|shard| atomic_float::load(&shard[0]))
            .sum()
    }

    /// Back to zero, as if just created (prometheus_client's `Counter.reset`).
    pub fn reset(&self) {
        self.cells.zero();
        atomic_float::store(&self.created, unix_now());
        *lock(&self.exemplar) = None;
    }

    #[must_use]
    pub fn created(&self) -> f64 {
        atomic_float::load(&self.created)
    }

    /// The latest exemplar, locked; `None` without locking while there never was one.
    #[must_use]
    pub fn exemplar(&self) -> Option<MutexGuard<'_, Option<Exemplar>>> {
        self.has_exemplar
            .load(Ordering::Acquire)
            .then(|| lock(&self.exemplar))
    }

    #[must_use]
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            value: self.value(),
            created: atomic_float::load(&self.created),
            exemplar: lock(&self.exemplar).clone(),
        }
    }
}

/// Locks a mutex that guards plain data: a writer that panicked mid-update cannot leave
/// an `Option<Exemplar>` half-written, so a poisoned lock is still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
                    for _ in 0..5_000 {
                        c.inc(1.0).unwrap();
                    }
                });
            }
        });
        assert_eq!(c.value(), 40_000.0);
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
    fn keeps_latest_exemplar() {
        let c = CounterCore::new();
        let e = Exemplar::new(vec![("trace_id".into(), "abc".into())], 1.0, 5.0).unwrap();
        c.inc_with_exemplar(1.0, e.clone()).unwrap();
        assert_eq!(c.snapshot().exemplar, Some(e));
    }
}
