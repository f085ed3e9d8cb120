//! A gauge child: a single f64 cell.
//!
//! Unlike counters and histograms a gauge is not sharded: `set` must win over every
//! earlier `inc` from any thread, which per-thread partial sums cannot express without
//! a lock. One atomic cell keeps every operation lock-free.

use std::sync::atomic::AtomicU64;

use crate::atomic_float;

#[derive(Default)]
pub struct GaugeCore {
    value: AtomicU64,
}

impl GaugeCore {
    #[must_use]
    pub fn new() -> Self {
        GaugeCore {
            value: AtomicU64::new(0.0f64.to_bits()),
        }
    }

    #[inline]
    pub fn inc(&self, amount: f64) {
        atomic_float::add(&self.value, amount);
    }

    #[inline]
    pub fn set(&self, value: f64) {
        atomic_float::store(&self.value, value);
    }

    #[must_use]
    pub fn value(&self) -> f64 {
        atomic_float::load(&self.value)
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
