//! The shard storage seam.
//!
//! A metric child owns one [`ShardedCells`]: `shard_count()` copies of its cells, each
//! copy on its own cache lines. A thread always updates the same shard, so concurrent
//! writers on different cores do not contend for a cache line, and a scrape sums the
//! shards. All allocation of metric cells goes through [`ShardedCells::new`]; a
//! shared-memory backend (several worker processes aggregating into one scrape) only
//! has to provide the lines here.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

const CELLS_PER_LINE: usize = 8;

/// One 64-byte cache line of cells.
#[repr(C, align(64))]
struct Line([AtomicU64; CELLS_PER_LINE]);

impl Line {
    fn zeroed() -> Self {
        Line(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// Number of shards per metric child: a power of two, at least 4 and at most 64, about
/// twice the available parallelism so that threads rarely share a shard.
#[must_use]
pub fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(4, std::num::NonZero::get);
        (cpus * 2).next_power_of_two().clamp(4, 64)
    })
}

static NEXT_THREAD_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Threads are dealt shards round-robin in the order they first touch a metric.
    static THREAD_SLOT: usize = NEXT_THREAD_SLOT.fetch_add(1, Ordering::Relaxed);
}

/// This thread's slot; `slot & (shard_count() - 1)` is its shard.
#[inline]
#[must_use]
pub fn thread_slot() -> usize {
    THREAD_SLOT.with(|slot| *slot)
}

/// `shards` copies of `cells` atomic u64 cells, zero-initialised, each copy line-aligned.
pub struct ShardedCells {
    lines: Box<[Line]>,
    cells: usize,
    lines_per_shard: usize,
    mask: usize,
}

impl ShardedCells {
    #[must_use]
    pub fn new(cells: usize) -> Self {
        let shards = shard_count();
        let lines_per_shard = cells.div_ceil(CELLS_PER_LINE).max(1);
        let lines = (0..shards * lines_per_shard)
            .map(|_| Line::zeroed())
            .collect();
        ShardedCells {
            lines,
            cells,
            lines_per_shard,
            mask: shards - 1,
        }
    }

    /// The cells of shard `index` (taken modulo the shard count).
    #[inline]
    #[must_use]
    pub fn shard(&self, index: usize) -> &[AtomicU64] {
        let first = &self.lines[(index & self.mask) * self.lines_per_shard];
        // SAFETY: `Line` is `repr(C)` with exactly `CELLS_PER_LINE` cells and no padding
        // (64 bytes, 64-aligned), so a shard's `lines_per_shard` consecutive lines are
        // `lines_per_shard * CELLS_PER_LINE >= cells` contiguous, initialised cells that
        // live as long as `self`.
        unsafe { std::slice::from_raw_parts(first.0.as_ptr(), self.cells) }
    }

    /// The calling thread's shard.
    #[inline]
    #[must_use]
    pub fn local(&self) -> &[AtomicU64] {
        self.shard(thread_slot())
    }

    /// Every shard, for merging at scrape time.
    pub fn shards(&self) -> impl Iterator<Item = &[AtomicU64]> + '_ {
        (0..=self.mask).map(move |i| self.shard(i))
    }

    /// Sets every cell of every shard to zero (counter reset).
    pub fn zero(&self) {
        for line in &self.lines {
            for cell in &line.0 {
                cell.store(0, Ordering::Relaxed);
            }
        }
    }

    #[must_use]
    pub fn cells(&self) -> usize {
        self.cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_line_aligned() {
        let cells = ShardedCells::new(11);
        let starts: Vec<usize> = cells.shards().map(|s| s.as_ptr() as usize).collect();
        assert_eq!(starts.len(), shard_count());
        for pair in starts.windows(2) {
            assert_eq!(pair[1] - pair[0], 128, "11 cells take two lines per shard");
        }
        assert!(starts.iter().all(|p| p % 64 == 0));
        cells.shard(1)[10].store(7, Ordering::Relaxed);
        let total: u64 = cells.shards().map(|s| s[10].load(Ordering::Relaxed)).sum();
        assert_eq!(total, 7);
        cells.zero();
        assert!(cells
            .shards()
            .all(|s| s.iter().all(|c| c.load(Ordering::Relaxed) == 0)));
    }

    #[test]
    fn threads_get_stable_slots() {
        let a = thread_slot();
        assert_eq!(a, thread_slot());
        let b = std::thread::spawn(thread_slot).join().unwrap();
        assert_ne!(a, b);
    }
}
