//! One generation of native buckets: a fixed schema and, per shard, a lock-free
//! open-addressing table of `(bucket, count)` slots beside the zero bucket's count.
//!
//! A shard is written by the threads that map to it (usually one), so a slot is claimed
//! with a compare-exchange of its tag and then counted with `fetch_add`: no lock and no
//! shared cache line on the hot path. Which buckets exist across all shards (what the
//! bucket limit counts) is kept in one shared set per generation, touched only when a
//! shard sees a bucket for the first time.
//!
//! Per shard, cell 0 is the zero bucket; cell 1 the zero bucket's width once the bucket
//! limit widened it (f64 bits; 0 until then); cell 2, in shard 0, when the generation
//! last became the current one (a number that grows with each switch; 0: never
//! switched to); cells `3 + 2*i`, `4 + 2*i` are slot `i`'s tag and count. Cells 1 and 2
//! are what a reader in another process needs to know beyond the counts. A tag packs
//! the sign and the index of a bucket and is never 0 (0 is an empty slot).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::multiprocess::{Part, SeriesIdentity};
use crate::shards::ShardedCells;

/// Cells before a shard's slots: the zero bucket, its width, the switch number.
const HEADER_CELLS: usize = 3;

/// A bucket as stored: its sign and index at the generation's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bucket {
    pub negative: bool,
    pub index: i32,
}

impl Bucket {
    pub(super) fn tag(self) -> u64 {
        (1 << 40) | (u64::from(self.negative) << 32) | u64::from(self.index as u32)
    }

    // The low 32 bits are the index's own bits: the casts round-trip.
    #[allow(clippy::cast_possible_wrap)]
    pub(super) fn from_tag(tag: u64) -> Self {
        Bucket {
            negative: (tag >> 32) & 1 == 1,
            index: tag as u32 as i32,
        }
    }
}

pub(super) fn home(tag: u64, mask: usize) -> usize {
    // Fibonacci hashing: neighbouring indices land far apart.
    (tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask
}

/// The outcome of counting into a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The bucket already had a slot in this table.
    Existing,
    /// The bucket took a free slot in this table.
    New,
    /// Every slot holds another bucket: nothing was counted.
    Full,
    /// The bucket took a free slot in this shard's table and was counted, but the
    /// generation's set of buckets is full, so it is not tracked: the caller makes room
    /// (and must not count it again).
    Overflowed,
}

/// Counts `n` into `bucket`'s slot among `slots` (pairs of tag and count cells).
fn add(slots: &[AtomicU64], mask: usize, bucket: Bucket, n: u64) -> Added {
    let tag = bucket.tag();
    let mut i = home(tag, mask);
    for _ in 0..=mask {
        let (tag_cell, count_cell) = (&slots[2 * i], &slots[2 * i + 1]);
        let mut current = tag_cell.load(Ordering::Relaxed);
        let mut added = Added::Existing;
        if current == 0 {
            match tag_cell.compare_exchange(0, tag, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    current = tag;
                    added = Added::New;
                }
                Err(actual) => current = actual,
            }
        }
        if current == tag {
            if n > 0 {
                count_cell.fetch_add(n, Ordering::Relaxed);
            }
            return added;
        }
        i = (i + 1) & mask;
    }
    Added::Full
}

/// Adds one shard's zero count to `zero`, widens `threshold` to the shard's widened
/// zero bucket, and calls `each` with every bucket it counted. The shard is a
/// generation's, or the same cells read from another process's cell file (see the
/// module documentation for the layout). Returns the shard's switch number.
pub fn read_shard(
    shard: &[AtomicU64],
    zero: &mut u64,
    threshold: &mut f64,
    mut each: impl FnMut(Bucket, u64),
) -> u64 {
    let [first, widened, switched, slots @ ..] = shard else {
        return 0;
    };
    *zero += first.load(Ordering::Relaxed);
    *threshold = threshold.max(f64::from_bits(widened.load(Ordering::Relaxed)));
    for slot in slots.chunks_exact(2) {
        let tag = slot[0].load(Ordering::Relaxed);
        let count = slot[1].load(Ordering::Relaxed);
        if tag != 0 && count != 0 {
            each(Bucket::from_tag(tag), count);
        }
    }
    switched.load(Ordering::Relaxed)
}

/// A generation: the buckets of one schema since it became current.
pub struct Generation {
    pub schema: i32,
    /// Slots per shard table minus one (the slot count is a power of two).
    mask: usize,
    cells: ShardedCells,
    /// The buckets any shard has, as tags in `2 * (mask + 1)` cells (count cells unused):
    /// one shared shard, allocated with the generation's first bucket.
    present: ShardedCells,
    /// How many buckets `present` holds.
    populated: AtomicUsize,
}

impl Generation {
    /// A generation of `schema` with `slots` slots per shard (rounded up to a power of
    /// two) on `shards` shards.
    #[must_use]
    pub fn new(schema: i32, slots: usize, shards: usize) -> Self {
        Self::placed(schema, slots, shards, None)
    }

    /// As [`new`](Self::new), with the tables in the cell file as generation
    /// `placement.1` of series `placement.0` (multi-process mode). The bucket set stays
    /// in process memory: only this process's writers consult it.
    #[must_use]
    pub fn placed(
        schema: i32,
        slots: usize,
        shards: usize,
        placement: Option<(Arc<SeriesIdentity>, u32)>,
    ) -> Self {
        let slots = slots.max(8).next_power_of_two();
        let cells = HEADER_CELLS + 2 * slots;
        let cells = match placement {
            Some((series, generation)) => ShardedCells::placed_part(
                cells,
                shards,
                Some(series),
                Part::Native { generation, schema },
            ),
            None => ShardedCells::with_shards(cells, shards),
        };
        Generation {
            schema,
            mask: slots - 1,
            cells,
            present: ShardedCells::with_shards(2 * slots, 1),
            populated: AtomicUsize::new(0),
        }
    }

    #[must_use]
    pub fn slots(&self) -> usize {
        self.mask + 1
    }

    /// Counts one value into the zero bucket of this thread's shard.
    #[inline]
    pub fn add_zero(&self, n: u64) {
        self.cells.local()[0].fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` into `bucket` on this thread's shard; `New` only when the bucket is
    /// new to the whole generation (it then counts toward the bucket limit).
    #[inline]
    pub fn add(&self, bucket: Bucket, n: u64) -> Added {
        match add(&self.cells.local()[HEADER_CELLS..], self.mask, bucket, n) {
            Added::New => match self.mark_present(bucket) {
                Added::Full => Added::Overflowed,
                tracked => tracked,
            },
            other => other,
        }
    }

    /// Records that `bucket` exists (a first write on some shard, or a bucket carried
    /// over from an older generation); `New` when no shard had it before.
    pub fn mark_present(&self, bucket: Bucket) -> Added {
        let added = add(self.present.shard(0), self.mask, bucket, 0);
        if added == Added::New {
            self.populated.fetch_add(1, Ordering::Relaxed);
        }
        added
    }

    /// How many distinct buckets the generation holds (the zero bucket aside).
    #[must_use]
    pub fn populated(&self) -> usize {
        self.populated.load(Ordering::Relaxed)
    }

    /// Calls `each` with the zero count and every counted bucket of every shard (a
    /// bucket once per shard that has it).
    pub fn read(&self, zero: &mut u64, mut each: impl FnMut(Bucket, u64)) {
        let mut threshold = 0.0;
        for shard in self.cells.shards() {
            let _ = read_shard(shard, zero, &mut threshold, &mut each);
        }
    }

    /// Calls `each` with every bucket the generation has (on any shard), including
    /// those a widened zero bucket took in.
    pub fn present(&self, mut each: impl FnMut(Bucket)) {
        for slot in self.present.shard(0).chunks_exact(2) {
            let tag = slot[0].load(Ordering::Relaxed);
            if tag != 0 {
                each(Bucket::from_tag(tag));
            }
        }
    }

    /// Records the zero bucket's new width in every shard written so far (for readers
    /// in other processes; this process keeps it in the histogram).
    pub fn set_zero_threshold(&self, threshold: f64) {
        for shard in self.cells.shards() {
            shard[1].store(threshold.to_bits(), Ordering::Relaxed);
        }
    }

    /// Records that the generation became the current one, as switch number `switch`
    /// (placing shard 0 now if no thread wrote it yet).
    pub fn mark_current(&self, switch: u64) {
        self.cells.shard(0)[2].store(switch, Ordering::Relaxed);
    }

    /// Stops counting `buckets` buckets toward the limit (a widened zero bucket took
    /// them in; their slots stay, and no value maps to them again).
    pub fn forget(&self, buckets: usize) {
        self.populated.fetch_sub(buckets, Ordering::Relaxed);
    }

    /// Every shard written so far (see [`read_shard`]).
    pub fn shards(&self) -> impl Iterator<Item = &[AtomicU64]> + '_ {
        self.cells.shards()
    }

    /// Empties the generation: counts, slots and the bucket set. A write racing the
    /// reset may land in a slot being freed, and is then lost or counted in the bucket
    /// that claims the slot next (a reset drops observations in any case).
    pub fn clear(&self) {
        self.cells.zero();
        self.present.zero();
        self.populated.store(0, Ordering::Relaxed);
    }

    /// Whether any count is non-zero.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        let mut zero = 0;
        let mut any = false;
        self.read(&mut zero, |_, _| any = true);
        !any && zero == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(index: i32) -> Bucket {
        Bucket {
            negative: false,
            index,
        }
    }

    #[test]
    fn tags_round_trip() {
        for (negative, index) in [(false, 0), (true, -1), (false, i32::MIN), (true, i32::MAX)] {
            let bucket = Bucket { negative, index };
            assert_ne!(bucket.tag(), 0);
            assert_eq!(Bucket::from_tag(bucket.tag()), bucket);
        }
    }

    #[test]
    fn counts_land_per_bucket_and_the_table_reports_full() {
        let g = Generation::new(3, 8, 2);
        assert_eq!(g.add(b(5), 1), Added::New);
        assert_eq!(g.add(b(5), 2), Added::Existing);
        assert_eq!(
            g.add(
                Bucket {
                    negative: true,
                    index: 5
                },
                1
            ),
            Added::New
        );
        for i in 0..6 {
            assert_eq!(g.add(b(100 + i), 1), Added::New);
        }
        assert_eq!(g.populated(), 8);
        assert_eq!(g.add(b(999), 1), Added::Full);
        g.add_zero(4);
        let mut zero = 0;
        let mut seen = Vec::new();
        g.read(&mut zero, |bucket, n| seen.push((bucket, n)));
        seen.sort();
        assert_eq!(zero, 4);
        assert_eq!(seen.len(), 8);
        assert_eq!(seen[0], (b(5), 3));
        g.clear();
        assert!(g.is_empty());
        assert_eq!(g.populated(), 0);
    }

    #[test]
    fn a_bucket_first_seen_on_two_shards_is_new_once() {
        let g = Generation::new(0, 16, 4);
        assert_eq!(g.add(b(1), 1), Added::New);
        let other = std::thread::scope(|s| s.spawn(|| g.add(b(1), 1)).join().unwrap());
        assert_eq!(
            other,
            Added::Existing,
            "new to the shard, not to the generation"
        );
        assert_eq!(g.populated(), 1);
    }

    #[test]
    fn concurrent_claims_never_lose_counts() {
        let g = Generation::new(0, 64, 1);
        let rounds = crate::test_rounds(5_000);
        std::thread::scope(|s| {
            for t in 0..4 {
                let g = &g;
                s.spawn(move || {
                    for i in 0..rounds {
                        g.add(b(i32::try_from((i + t) % 40).unwrap()), 1);
                    }
                });
            }
        });
        let mut zero = 0;
        let mut total = 0;
        g.read(&mut zero, |_, n| total += n);
        assert_eq!(total, 4 * u64::from(rounds));
        assert_eq!(g.populated(), (rounds as usize + 3).min(40));
    }
}
