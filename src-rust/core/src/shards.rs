//! The shard storage seam.
//!
//! A metric child owns one [`ShardedCells`]: up to `shard_count()` copies (shards) of
//! its cells, each on its own cache lines. A thread always updates the same shard, so
//! concurrent writers on different cores do not contend for a cache line, and a scrape
//! sums the shards. A shard's lines are allocated on the first write of a thread that
//! maps to it, so a child pays for the shards its writers use (one for a child only
//! one thread touches), not for every core of the host: what is always there is one
//! pointer per shard. All allocation of metric cells goes through this module: in
//! multi-process mode a child's shards are *placed* cells in this process's
//! memory-mapped cell file instead (see `multiprocess`), with the same hot path.

use std::alloc::{self, Layout};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::multiprocess::{self, Part, SeriesIdentity};

/// Bytes in a cache line: every shard starts on its own line.
const LINE_BYTES: usize = 64;
const CELLS_PER_LINE: usize = LINE_BYTES / std::mem::size_of::<AtomicU64>();

/// The most shards a child can have. Writers on the same shard only share a cache
/// line, and with the interpreter lock few threads write at the same instant, so more
/// than 16 shards would cost 8 bytes per shard on every child for no measurable gain.
pub const MAX_SHARDS: usize = 16;

/// The environment variable that overrides the shard count (a power of two, 1 to 256),
/// read once per process: for sizing experiments and for hosts where the default does
/// not fit.
pub const SHARDS_ENV: &str = "VUMETER_SHARDS";

/// The default shard count for a host with `cpus` cores: about twice the cores, a power
/// of two, at least 4 and at most [`MAX_SHARDS`].
#[must_use]
pub fn shard_count_for(cpus: usize) -> usize {
    (cpus.max(1) * 2).next_power_of_two().clamp(4, MAX_SHARDS)
}

/// Shards per metric child in this process: `VUMETER_SHARDS` when set to a power of two
/// from 1 to 256, otherwise [`shard_count_for`] the available parallelism.
#[must_use]
pub fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    if let Some(&count) = COUNT.get() {
        return count;
    }
    // Initialised inside a fork gate section, so a fork never copies the once-lock
    // in the middle of its initialisation.
    let _section = crate::sync::enter();
    *COUNT.get_or_init(|| {
        let forced = std::env::var(SHARDS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| n.is_power_of_two() && *n <= 256);
        forced.unwrap_or_else(|| {
            shard_count_for(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
        })
    })
}

static NEXT_THREAD_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Threads are dealt shards round-robin in the order they first touch a metric.
    static THREAD_SLOT: usize = NEXT_THREAD_SLOT.fetch_add(1, Ordering::Relaxed);
}

/// This thread's slot; `slot % shards` is its shard.
#[inline]
#[must_use]
pub fn thread_slot() -> usize {
    THREAD_SLOT.with(|slot| *slot)
}

/// Up to `shards` copies of `cells` atomic u64 cells, each copy zero-initialised and
/// line-aligned, allocated on its first write.
pub struct ShardedCells {
    /// One pointer per shard to its `cells` cells, null until a thread writes it. A
    /// non-null pointer never changes until drop, except in a forked child, which
    /// clears placed pointers while it is the only thread (multiprocess::backend).
    shards: Box<[AtomicPtr<AtomicU64>]>,
    cells: usize,
    /// The series (and which of its parts) whose cells live in the cell file, in
    /// multi-process mode; boxed, so that cells in process memory pay one pointer.
    placed: Option<Box<(Arc<SeriesIdentity>, Part)>>,
}

impl ShardedCells {
    /// Cells for this process's [`shard_count`].
    #[must_use]
    pub fn new(cells: usize) -> Self {
        Self::with_shards(cells, shard_count())
    }

    /// Cells with `shards` shards (rounded up to a power of two).
    #[must_use]
    pub fn with_shards(cells: usize, shards: usize) -> Self {
        let shards = shards.max(1).next_power_of_two();
        ShardedCells {
            shards: (0..shards)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            cells,
            placed: None,
        }
    }

    /// Cells of `series` in this process's cell file (multi-process mode: the bindings
    /// pass a series only once `multiprocess::enable` has run), otherwise as
    /// [`with_shards`](Self::with_shards).
    #[must_use]
    pub fn placed(cells: usize, shards: usize, series: Option<Arc<SeriesIdentity>>) -> Self {
        Self::placed_part(cells, shards, series, Part::Cells)
    }

    /// As [`placed`](Self::placed), for `part` of the series (a generation of native
    /// buckets, say).
    #[must_use]
    pub fn placed_part(
        cells: usize,
        shards: usize,
        series: Option<Arc<SeriesIdentity>>,
        part: Part,
    ) -> Self {
        let mut this = Self::with_shards(cells, shards);
        if let Some(series) = series {
            multiprocess::backend::register(&this.shards);
            if part == Part::Cells {
                multiprocess::backend::announce(&series);
            }
            this.placed = Some(Box::new((series, part)));
        }
        this
    }

    /// Takes placed cells out of merged scrapes (the child was removed: its series
    /// goes, every part of it); nothing for cells in process memory.
    pub fn retire(&self) {
        if let Some(placed) = &self.placed {
            multiprocess::backend::retire(&placed.0);
        }
    }

    /// Copies `exemplar` into the cell file as the latest of `bucket`, when the cells
    /// are placed there (exemplars otherwise live in process memory only).
    pub fn mirror_exemplar(&self, bucket: usize, exemplar: &crate::exemplar::Exemplar) {
        if let Some(placed) = &self.placed {
            multiprocess::backend::store_exemplar(&placed.0, bucket, exemplar);
        }
    }

    /// Whether the cells live in the cell file.
    #[must_use]
    pub fn is_placed(&self) -> bool {
        self.placed.is_some()
    }

    fn layout(&self) -> Layout {
        let lines = self.cells.div_ceil(CELLS_PER_LINE).max(1);
        // A whole number of lines, line-aligned: never fails for a sane cell count.
        Layout::from_size_align(lines * LINE_BYTES, LINE_BYTES).expect("cell layout")
    }

    /// The cells behind a published shard pointer.
    #[inline]
    fn cells_at(&self, shard: NonNull<AtomicU64>) -> &[AtomicU64] {
        // SAFETY: a published pointer comes from `allocate`: a zeroed, `layout()`-sized
        // allocation of at least `cells` u64s (all zeros is a valid AtomicU64), owned
        // by `self` and freed only in `drop`, so it outlives `&self`; or from `place`:
        // `cells` zeroed cells in a mapping the backend never unmaps (or leaked memory). The slice is
        // derived from the allocation's own pointer, so it may span all of its lines.
        unsafe { std::slice::from_raw_parts(shard.as_ptr(), self.cells) }
    }

    /// The cells of shard `index` (taken modulo the shard count), allocated now if no
    /// thread wrote them before.
    #[inline]
    #[must_use]
    pub fn shard(&self, index: usize) -> &[AtomicU64] {
        let slot = &self.shards[index & (self.shards.len() - 1)];
        // Acquire: pairs with the publishing compare-exchange, so the zeroed cells are
        // visible before they are used.
        match NonNull::new(slot.load(Ordering::Acquire)) {
            Some(shard) => self.cells_at(shard),
            None => self.allocate(slot),
        }
    }

    #[cold]
    #[inline(never)]
    fn allocate(&self, slot: &AtomicPtr<AtomicU64>) -> &[AtomicU64] {
        if let Some(placed) = &self.placed {
            let (series, part) = &**placed;
            let index = self
                .shards
                .iter()
                .position(|s| ptr::eq(s, slot))
                .unwrap_or(0);
            return self.place(slot, series, *part, index);
        }
        let layout = self.layout();
        // SAFETY: the layout has a non-zero size.
        let fresh = unsafe { alloc::alloc_zeroed(layout) };
        // The layout is 64-byte aligned, so the cast to the 8-byte-aligned cell is too.
        #[allow(clippy::cast_ptr_alignment)]
        let fresh = fresh.cast::<AtomicU64>();
        let Some(fresh) = NonNull::new(fresh) else {
            alloc::handle_alloc_error(layout)
        };
        match slot.compare_exchange(
            ptr::null_mut(),
            fresh.as_ptr(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => self.cells_at(fresh),
            Err(winner) => {
                // SAFETY: `fresh` was allocated above with `layout` and never shared.
                unsafe { alloc::dealloc(fresh.as_ptr().cast(), layout) };
                // Another thread published its shard first (never null: the exchange
                // failed because the slot was no longer null).
                self.cells_at(NonNull::new(winner).expect("published shard"))
            }
        }
    }

    /// Places shard `index` in the cell file. Placement runs under the backend's lock,
    /// so two threads never place the same slot: the loser of a race finds the
    /// winner's cells. A placement the file cannot take (a full disk) falls back to
    /// process memory that is never freed, and is counted.
    #[cold]
    fn place(
        &self,
        slot: &AtomicPtr<AtomicU64>,
        series: &Arc<SeriesIdentity>,
        part: Part,
        index: usize,
    ) -> &[AtomicU64] {
        let cells =
            multiprocess::backend::place_once(slot, series, part, index, self.cells, || {
                let layout = self.layout();
                // SAFETY: the layout has a non-zero size.
                let fresh = unsafe { alloc::alloc_zeroed(layout) };
                if fresh.is_null() {
                    alloc::handle_alloc_error(layout)
                }
                #[allow(clippy::cast_ptr_alignment)]
                fresh.cast::<AtomicU64>()
            });
        self.cells_at(NonNull::new(cells).expect("placed cells"))
    }

    /// The calling thread's shard.
    #[inline]
    #[must_use]
    pub fn local(&self) -> &[AtomicU64] {
        self.shard(thread_slot())
    }

    /// Every shard written so far, for merging at scrape time. A shard nobody wrote
    /// holds only zeros, so skipping it changes no sum.
    pub fn shards(&self) -> impl Iterator<Item = &[AtomicU64]> + '_ {
        self.shards
            .iter()
            .filter_map(|slot| NonNull::new(slot.load(Ordering::Acquire)))
            .map(|shard| self.cells_at(shard))
    }

    /// Shards allocated so far (at most the shard count).
    #[must_use]
    pub fn allocated(&self) -> usize {
        self.shards().count()
    }

    /// Sets every cell of every shard to zero (counter reset).
    pub fn zero(&self) {
        for shard in self.shards() {
            for cell in shard {
                cell.store(0, Ordering::Relaxed);
            }
        }
    }

    #[must_use]
    pub fn cells(&self) -> usize {
        self.cells
    }
}

impl Drop for ShardedCells {
    fn drop(&mut self) {
        if self.placed.is_some() {
            // Placed cells belong to the mapped file (or were leaked on purpose), and
            // keep counting: a process that ends drops its metrics, and what it
            // recorded must stay in the merge. Only a removal retires them.
            multiprocess::backend::deregister(&self.shards);
            return;
        }
        let layout = self.layout();
        for slot in &mut self.shards {
            let shard = *slot.get_mut();
            if !shard.is_null() {
                // SAFETY: every non-null pointer was allocated by `allocate` with this
                // layout, and `&mut self` means no reference to its cells is left.
                unsafe { alloc::dealloc(shard.cast(), layout) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_line_aligned_and_lazy() {
        let cells = ShardedCells::with_shards(11, 4);
        assert_eq!(cells.allocated(), 0);
        let starts: Vec<usize> = (0..4).map(|i| cells.shard(i).as_ptr() as usize).collect();
        assert_eq!(cells.allocated(), 4);
        assert!(starts.iter().all(|p| p % 64 == 0));
        for (i, a) in starts.iter().enumerate() {
            for b in &starts[i + 1..] {
                assert!(a.abs_diff(*b) >= 128, "11 cells take two lines per shard");
            }
        }
        // Every cell of a multi-line shard is usable (the slice spans its lines).
        for (i, cell) in cells.shard(1).iter().enumerate() {
            cell.store(i as u64, Ordering::Relaxed);
        }
        cells.shard(5)[10].store(7, Ordering::Relaxed);
        let total: u64 = cells.shards().map(|s| s[10].load(Ordering::Relaxed)).sum();
        assert_eq!(total, 7, "index 5 is shard 1: 10 was overwritten with 7");
        cells.zero();
        assert!(cells
            .shards()
            .all(|s| s.iter().all(|c| c.load(Ordering::Relaxed) == 0)));
    }

    #[test]
    fn a_child_pays_for_the_shards_its_writers_use() {
        let cells = ShardedCells::with_shards(3, 16);
        cells.local()[0].fetch_add(1, Ordering::Relaxed);
        cells.local()[0].fetch_add(1, Ordering::Relaxed);
        assert_eq!(cells.allocated(), 1);
        std::thread::scope(|s| {
            s.spawn(|| cells.local()[2].fetch_add(5, Ordering::Relaxed));
        });
        let sum: u64 = cells.shards().map(|s| s[0].load(Ordering::Relaxed)).sum();
        assert_eq!(sum, 2);
        assert!(cells.allocated() <= 2);
    }

    #[test]
    fn racing_first_writes_publish_one_shard() {
        let cells = ShardedCells::with_shards(9, 1);
        let threads = if cfg!(miri) { 3 } else { 8 };
        let rounds = if cfg!(miri) { 20 } else { 10_000 };
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..rounds {
                        cells.shard(0)[8].fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(cells.allocated(), 1);
        assert_eq!(cells.shard(0)[8].load(Ordering::Relaxed), threads * rounds);
    }

    #[test]
    fn default_counts_are_capped_powers_of_two() {
        assert_eq!(shard_count_for(1), 4);
        assert_eq!(shard_count_for(2), 4);
        assert_eq!(shard_count_for(4), 8);
        assert_eq!(shard_count_for(32), MAX_SHARDS);
        assert_eq!(shard_count_for(128), MAX_SHARDS);
        assert!(shard_count().is_power_of_two());
    }

    #[test]
    fn threads_get_stable_slots() {
        let a = thread_slot();
        assert_eq!(a, thread_slot());
        let b = std::thread::spawn(thread_slot).join().unwrap();
        assert_ne!(a, b);
    }
}
