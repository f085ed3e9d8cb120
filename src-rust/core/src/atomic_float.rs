//! f64 values stored as bit patterns in `AtomicU64`: the standard library has no atomic
//! float, and a compare-and-swap loop on the bits is lock-free on every target we ship.

use std::sync::atomic::{AtomicU64, Ordering};

/// Reads the f64 stored in `cell`.
#[inline]
#[must_use]
pub fn load(cell: &AtomicU64) -> f64 {
    f64::from_bits(cell.load(Ordering::Relaxed))
}

/// Stores `value` into `cell`.
#[inline]
pub fn store(cell: &AtomicU64, value: f64) {
    cell.store(value.to_bits(), Ordering::Relaxed);
}

/// Adds `delta` to the f64 in `cell`. On a per-thread shard the first attempt almost
/// always succeeds, so this costs one `lock cmpxchg`.
#[inline]
pub fn add(cell: &AtomicU64, delta: f64) {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_accumulates_in_order() {
        let cell = AtomicU64::new(0.0f64.to_bits());
        add(&cell, 0.1);
        add(&cell, 0.2);
        assert_eq!(load(&cell), 0.1 + 0.2);
        store(&cell, -3.5);
        assert_eq!(load(&cell), -3.5);
    }

    #[test]
    fn concurrent_adds_are_exact_for_integers() {
        let cell = AtomicU64::new(0.0f64.to_bits());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..crate::test_rounds(10_000) {
                        add(&cell, 1.0);
                    }
                });
            }
        });
        assert_eq!(load(&cell), 4.0 * f64::from(crate::test_rounds(10_000)));
    }
}
