//! A gauge child: a single f64 cell.
//!
//! Unlike counters and histograms a gauge is not sharded: `set` must win over every
//! earlier `inc` from any thread, which per-thread partial sums cannot express without
//! a lock. One atomic cell keeps every operation lock-free.

//!
//! In multi-process mode the cell lives in this process's cell file, with a second cell
//! for the time of the last `set` that the `mostrecent` modes compare across processes.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::atomic_float;
use crate::clock::unix_now;
use crate::multiprocess::SeriesIdentity;
use crate::shards::ShardedCells;

#[derive(Default)]
pub struct GaugeCore {
    value: AtomicU64,
    /// The value (cell 0) and the time of the last set (cell 1) in the cell file.
    placed: Option<ShardedCells>,
    /// Whether `set` records its time (the `mostrecent` modes).
    stamped: bool,
}

impl GaugeCore {
    #[must_use]
    pub fn new() -> Self {
        GaugeCore {
            value: AtomicU64::new(0.0f64.to_bits()),
            placed: None,
            stamped: false,
        }
    }

    /// A gauge whose cell lives in the cell file when `series` is given (multi-process
    /// mode); `stamped` makes `set` record its time.
    #[must_use]
    pub fn placed(series: Option<Arc<SeriesIdentity>>, stamped: bool) -> Self {
        GaugeCore {
            value: AtomicU64::new(0.0f64.to_bits()),
            placed: series.map(|s| ShardedCells::placed(2, 1, Some(s))),
            stamped,
        }
    }

    #[inline]
    fn cell(&self) -> &AtomicU64 {
        match &self.placed {
            None => &self.value,
            Some(cells) => &cells.shard(0)[0],
        }
    }

    #[inline]
    pub fn inc(&self, amount: f64) {
        atomic_float::add(self.cell(), amount);
    }

    #[inline]
    pub fn set(&self, value: f64) {
        if self.stamped {
            if let Some(cells) = &self.placed {
                atomic_float::store(&cells.shard(0)[1], unix_now());
            }
        }
        atomic_float::store(self.cell(), value);
    }

    /// The cells in the cell file, in multi-process mode.
    #[must_use]
    pub fn placed_cells(&self) -> Option<&ShardedCells> {
        self.placed.as_ref()
    }

    #[must_use]
    pub fn value(&self) -> f64 {
        atomic_float::load(self.cell())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inc_dec_set() {
        let g = GaugeCore::new();
        g.inc(3.0);
        g.inc(-1.5);
        assert_eq!(g.value(), 1.5);
        g.set(-7.0);
        assert_eq!(g.value(), -7.0);
    }
}
