//! Native (sparse, exponential) histogram buckets, kept beside a classic histogram's.
//!
//! What the settings mean is client_golang's: the bucket factor picks the starting
//! schema ([`schema::pick_schema`]); values whose magnitude is at most the zero
//! threshold go into the zero bucket; when a new bucket takes the count of buckets past
//! `max_buckets`, the whole histogram is reset if `min_reset_duration` has passed since
//! the last reset; otherwise the zero bucket is widened to take in the bucket closest
//! to zero, if `max_zero_threshold` allows; otherwise the resolution is halved (the
//! schema lowered by one, each pair of buckets merged). Either way a reset falls due
//! `min_reset_duration` after the last one, to bring the resolution back (run by the
//! next scrape of the histogram in this process, or its next `observe_many`).
//!
//! # Storage
//!
//! Buckets are recorded into the current [`table::Generation`]: per-thread shards of
//! lock-free tables at one schema. Lowering the resolution does not move any count: it
//! publishes a new generation at the coarser schema (writers switch with one atomic
//! load), and a scrape merges every generation, mapping the finer ones' buckets onto
//! the coarsest schema in use. So observing never takes a lock and a scrape is always
//! self-consistent: the count it reports is the sum of the zero bucket and every bucket
//! it reports. Generations are kept until the histogram is dropped (a writer may still
//! hold one) and reused after a reset, so a histogram has at most [`GENERATIONS`].
//!
//! In multi-process mode each generation's tables are placed in the process's cell
//! file, as a part of the histogram's series (its index and schema never change, also
//! when it is reused), so a scrape in another process reads and merges them the same
//! way (`multiprocess::view`); the bucket set stays in process memory.
//!
//! The sum is the classic histogram's (see `histogram`), so it is not kept twice.

mod bounds;
mod config;
pub mod schema;
mod snapshot;
pub mod spans;
pub mod table;

pub use config::NativeConfig;
pub use snapshot::NativeSnapshot;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::buckets::BulkValues;
use crate::clock::unix_now;
use crate::multiprocess::SeriesIdentity;
use crate::sync::Mutex;
use schema::{coarsen, upper_bound, Indexer, MIN_SCHEMA};
use table::{Added, Bucket, Generation};

/// client_golang's default zero threshold, 2^-128.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// The most generations a histogram keeps (see the module documentation).
pub const GENERATIONS: usize = 24;

/// The most slots a generation's tables have per shard. Without a bucket limit a table
/// that fills up is replaced by one twice as large until this size, then the
/// resolution is lowered instead.
const MAX_SLOTS: usize = 1 << 14;

/// Slots for tables that must hold `buckets` buckets: linear probing stays short
/// below two thirds full.
fn slots_for(buckets: usize) -> usize {
    (buckets + buckets / 2 + 1)
        .next_power_of_two()
        .clamp(16, MAX_SLOTS)
}

/// What the slow paths share, under one lock.
struct State {
    /// When the last reset was (the creation counts as one), Unix seconds.
    last_reset: f64,
    /// How many times another generation became the current one (see
    /// `Generation::mark_current`).
    switches: u64,
}

pub struct NativeHistogram {
    config: NativeConfig,
    shards: usize,
    /// The series whose generations live in the cell file, in multi-process mode.
    series: Option<Arc<SeriesIdentity>>,
    /// Every generation made so far; index 0 is the first, at the starting schema.
    generations: Box<[OnceLock<Box<Generation>>]>,
    /// The index of the generation writers record into.
    current: AtomicUsize,
    /// When a scheduled reset is due (f64 Unix seconds as bits; 0: none scheduled).
    reset_due: AtomicU64,
    /// The zero bucket's current width (f64 bits): the configured threshold, or wider
    /// once the bucket limit widened it.
    zero_threshold: AtomicU64,
    state: Mutex<State>,
}

/// Values bucketed into one private tally before it is published.
const BLOCK: usize = 256;

/// Slots of a [`Tally`]. It is published once it holds more than half as many buckets
/// less a block's worth, so that it is never more than half full: values cluster, and
/// a tally then spans many blocks, with one atomic add per bucket for all of them.
const TALLY_SLOTS: usize = 4 * BLOCK;

/// A block's counts per bucket, kept privately (plain integers, no atomics) in an
/// open-addressing table that is emptied as it is published.
struct Tally {
    tags: [u64; TALLY_SLOTS],
    counts: [u64; TALLY_SLOTS],
    /// The slots in use, in the order they were taken.
    used: [u16; TALLY_SLOTS / 2],
    len: usize,
    zero: u64,
}

impl Tally {
    fn new() -> Self {
        Tally {
            tags: [0; TALLY_SLOTS],
            counts: [0; TALLY_SLOTS],
            used: [0; TALLY_SLOTS / 2],
            len: 0,
            zero: 0,
        }
    }

    #[inline]
    fn add(&mut self, bucket: Bucket) {
        let tag = bucket.tag();
        let mut slot = table::home(tag, TALLY_SLOTS - 1);
        loop {
            if self.tags[slot] == tag {
                self.counts[slot] += 1;
                return;
            }
            if self.tags[slot] == 0 {
                self.tags[slot] = tag;
                self.counts[slot] = 1;
                self.used[self.len] = slot as u16;
                self.len += 1;
                return;
            }
            slot = (slot + 1) & (TALLY_SLOTS - 1);
        }
    }

    /// Every bucket and its count, emptying the tally.
    fn drain(&mut self) -> impl Iterator<Item = (Bucket, u64)> + '_ {
        self.zero = 0;
        let len = std::mem::take(&mut self.len);
        self.used[..len].iter().map(|&slot| {
            let slot = usize::from(slot);
            let tag = std::mem::take(&mut self.tags[slot]);
            (Bucket::from_tag(tag), self.counts[slot])
        })
    }
}

/// How often an observation retries after making room (each try lowers the resolution
/// or enlarges the tables, so a few suffice).
const TRIES: usize = 32;

impl NativeHistogram {
    #[must_use]
    pub fn new(config: NativeConfig, shards: usize) -> Self {
        Self::placed(config, shards, None)
    }

    /// A histogram whose generations live in the cell file when `series` is given
    /// (multi-process mode), each as a part of the series of its own.
    #[must_use]
    pub fn placed(
        config: NativeConfig,
        shards: usize,
        series: Option<Arc<SeriesIdentity>>,
    ) -> Self {
        let initial_slots = if config.max_buckets > 0 {
            slots_for(config.max_buckets)
        } else {
            256
        };
        let generations: Box<[OnceLock<Box<Generation>>]> =
            (0..GENERATIONS).map(|_| OnceLock::new()).collect();
        let first = Generation::placed(
            config.schema,
            initial_slots,
            shards,
            series.clone().map(|s| (s, 0)),
        );
        let _ = generations[0].set(Box::new(first));
        NativeHistogram {
            config,
            shards,
            series,
            generations,
            current: AtomicUsize::new(0),
            reset_due: AtomicU64::new(0),
            zero_threshold: AtomicU64::new(config.zero_threshold.to_bits()),
            state: Mutex::new(State {
                last_reset: unix_now(),
                switches: 0,
            }),
        }
    }

    #[must_use]
    pub fn config(&self) -> &NativeConfig {
        &self.config
    }

    fn generation(&self, index: usize) -> &Generation {
        // The current index is published only after its generation is set.
        self.generations[index].get().expect("published generation")
    }

    /// Records `value` (not NaN: the classic histogram refuses it first). True when the
    /// bucket limit reset the histogram, so the caller resets its classic part too.
    #[inline]
    pub fn observe(&self, value: f64) -> bool {
        let mut reset = false;
        for _ in 0..TRIES {
            let index = self.current.load(Ordering::Acquire);
            let generation = self.generation(index);
            match self.add(generation, value) {
                // As in client_golang, every observation while over the limit applies
                // a remedy, not only one that adds a bucket (a halving may leave the
                // histogram over the limit).
                Added::Existing | Added::New => {
                    if self.over_limit(generation) && self.limit_exceeded(index) {
                        // The observation that broke the limit is kept, as in client_golang.
                        let _ = self.add(self.generation(0), value);
                        return true;
                    }
                    return reset;
                }
                Added::Overflowed => {
                    if self.make_room(index) {
                        let _ = self.add(self.generation(0), value);
                        return true;
                    }
                    // Counted, and carried into the table that made room: the limit
                    // applies as to any observation.
                    let index = self.current.load(Ordering::Acquire);
                    if self.over_limit(self.generation(index)) && self.limit_exceeded(index) {
                        let _ = self.add(self.generation(0), value);
                        return true;
                    }
                    return reset;
                }
                Added::Full => reset |= self.make_room(index),
            }
        }
        reset
    }

    fn over_limit(&self, generation: &Generation) -> bool {
        let limit = self.config.max_buckets;
        limit > 0 && generation.populated() > limit
    }

    /// Records every value of `values` (none NaN). True when a reset happened (the
    /// values of the tally being published when it did are dropped with the rest).
    ///
    /// Values are bucketed into a private tally first and published with one atomic
    /// add per bucket it touched, so a million values cost a few hundred atomic adds.
    pub fn observe_many<S: BulkValues + ?Sized>(&self, values: &S) -> bool {
        // A reset that fell due runs here too, not only at a scrape: in multi-process
        // mode this process may never render its own histograms.
        let mut reset = self.reset_if_due();
        let mut buffer = [0.0; BLOCK];
        let mut tally = Tally::new();
        let mut threshold = self.zero_threshold();
        let mut index = self.current.load(Ordering::Acquire);
        let mut indexer = Indexer::new(self.generation(index).schema);
        let mut start = 0;
        while start < values.len() {
            let end = (start + BLOCK).min(values.len());
            let block = values.block(start..end, &mut buffer[..end - start]);
            for &value in block {
                if value > threshold {
                    tally.add(Bucket {
                        negative: false,
                        index: indexer.index(value),
                    });
                } else if value < -threshold {
                    tally.add(Bucket {
                        negative: true,
                        index: indexer.index(-value),
                    });
                } else {
                    tally.zero += 1;
                }
            }
            start = end;
            if start == values.len() || tally.len > TALLY_SLOTS / 2 - BLOCK {
                reset |= self.publish(&mut tally, index);
                index = self.current.load(Ordering::Acquire);
                indexer = Indexer::new(self.generation(index).schema);
                threshold = self.zero_threshold();
            }
        }
        reset
    }

    /// Adds a tally (bucketed at generation `index`'s schema) to the current
    /// generation, mapping it to a coarser schema that making room switched to. True
    /// when the histogram was reset meanwhile.
    fn publish(&self, tally: &mut Tally, mut index: usize) -> bool {
        let from = self.generation(index).schema;
        let mut generation = self.generation(index);
        if tally.zero > 0 {
            generation.add_zero(tally.zero);
        }
        let mut reset = false;
        for (bucket, count) in tally.drain() {
            if reset {
                continue; // dropped by the reset, but the tally is still emptied
            }
            for _ in 0..TRIES {
                let at = Bucket {
                    negative: bucket.negative,
                    index: coarsen(bucket.index, from - generation.schema),
                };
                let remedied = match generation.add(at, count) {
                    Added::Existing | Added::New if !self.over_limit(generation) => break,
                    counted @ (Added::Existing | Added::New | Added::Overflowed) => {
                        let remedied = if counted == Added::Overflowed {
                            self.make_room(index)
                        } else {
                            self.limit_exceeded(index)
                        };
                        if !remedied {
                            // Counted; the limit may have been dealt with elsewhere.
                            index = self.current.load(Ordering::Acquire);
                            generation = self.generation(index);
                            break;
                        }
                        remedied
                    }
                    Added::Full => self.make_room(index),
                };
                index = self.current.load(Ordering::Acquire);
                generation = self.generation(index);
                if remedied || generation.schema > from {
                    reset = true; // reset here or by another thread
                    break;
                }
            }
        }
        reset
    }

    /// The zero bucket's current width.
    #[inline]
    fn zero_threshold(&self) -> f64 {
        f64::from_bits(self.zero_threshold.load(Ordering::Relaxed))
    }

    #[inline]
    fn add(&self, generation: &Generation, value: f64) -> Added {
        let threshold = self.zero_threshold();
        let (negative, magnitude) = if value > threshold {
            (false, value)
        } else if value < -threshold {
            (true, -value)
        } else {
            generation.add_zero(1);
            return Added::Existing;
        };
        let index = Indexer::new(generation.schema).index(magnitude);
        generation.add(Bucket { negative, index }, 1)
    }

    /// client_golang's remedies for a generation with too many buckets: a reset when
    /// allowed, else a coarser schema. True when it reset.
    #[cold]
    fn limit_exceeded(&self, index: usize) -> bool {
        let mut state = self.state.lock();
        let generation = self.generation(index);
        if self.current.load(Ordering::Acquire) != index
            || generation.populated() <= self.config.max_buckets
        {
            return false; // another thread dealt with it
        }
        let pause = self.config.min_reset_duration;
        let now = unix_now();
        if pause > 0.0 {
            if now - state.last_reset >= pause {
                self.reset_locked(&mut state, now);
                return true;
            }
            let due = state.last_reset + pause;
            self.reset_due.store(due.to_bits(), Ordering::Relaxed);
        }
        if self.widen_zero_bucket_locked(generation) {
            return false;
        }
        if generation.schema > MIN_SCHEMA {
            return self.coarsen_locked(&mut state, generation.schema - 1, generation.slots());
        }
        false
    }

    /// client_golang's second remedy: the zero bucket widened to the upper bound of the
    /// bucket closest to zero (on either side), which it then takes in, when that bound
    /// is within the maximum zero threshold. The bucket's counts stay where they are: a
    /// scrape moves every bucket inside the zero bucket into it. True when it widened.
    fn widen_zero_bucket_locked(&self, generation: &Generation) -> bool {
        let current = self.zero_threshold();
        let max = self.config.max_zero_threshold;
        if current >= max {
            return false;
        }
        let schema = generation.schema;
        let mut closest: Option<i32> = None;
        generation.present(|bucket| {
            // Buckets taken in by an earlier widening are still listed.
            if upper_bound(bucket.index, schema) > current {
                closest = Some(closest.map_or(bucket.index, |c| c.min(bucket.index)));
            }
        });
        let Some(closest) = closest else {
            return false;
        };
        let widened = upper_bound(closest, schema);
        if widened > max {
            return false;
        }
        self.zero_threshold
            .store(widened.to_bits(), Ordering::Relaxed);
        generation.set_zero_threshold(widened);
        let mut taken = 0;
        generation.present(|bucket| {
            if bucket.index == closest {
                taken += 1;
            }
        });
        generation.forget(taken);
        true
    }

    /// A full table: a coarser schema (with a bucket limit, or at the largest tables)
    /// or larger tables at the same schema. True when it had to reset.
    #[cold]
    fn make_room(&self, index: usize) -> bool {
        let mut state = self.state.lock();
        if self.current.load(Ordering::Acquire) != index {
            return false;
        }
        let generation = self.generation(index);
        let (schema, slots) = (generation.schema, generation.slots());
        let limited = self.config.max_buckets > 0;
        if limited && generation.populated() <= self.config.max_buckets {
            // Within the limit, the table is full of buckets a widened zero bucket took
            // in (they keep their slots): a fresh table at the same schema, without them,
            // and larger, so that a zero bucket that keeps widening uses up few
            // generations.
            return self.coarsen_locked(&mut state, schema, (slots * 2).min(MAX_SLOTS));
        }
        if (limited || slots >= MAX_SLOTS) && schema > MIN_SCHEMA {
            self.coarsen_locked(&mut state, schema - 1, slots)
        } else {
            self.coarsen_locked(&mut state, schema, (slots * 2).min(MAX_SLOTS))
        }
    }

    /// Makes a generation at `schema` with at least `slots` slots current, marking the
    /// buckets the others hold (mapped to `schema`) as present in it. True when no
    /// generation was left to use and the histogram was reset instead.
    fn coarsen_locked(&self, state: &mut State, schema: i32, slots: usize) -> bool {
        let mut carried: Vec<Bucket> = Vec::new();
        let threshold = self.zero_threshold();
        for generation in self.generations.iter().filter_map(OnceLock::get) {
            if generation.schema < schema {
                continue; // late writes from before a reset: a scrape maps them
            }
            let delta = generation.schema - schema;
            let mut zero = 0;
            let from = generation.schema;
            generation.read(&mut zero, |bucket, _| {
                // Buckets inside a widened zero bucket (at their own schema) are not
                // buckets any more.
                if upper_bound(bucket.index, from) > threshold {
                    carried.push(Bucket {
                        negative: bucket.negative,
                        index: coarsen(bucket.index, delta),
                    });
                }
            });
        }
        carried.sort_unstable();
        carried.dedup();
        let slots = slots.max(slots_for(carried.len()));
        let current = self.current.load(Ordering::Acquire);
        // An emptied generation of the same shape is reused (after a reset).
        let reusable = self.generations.iter().enumerate().position(|(i, cell)| {
            i != current
                && cell
                    .get()
                    .is_some_and(|g| g.schema == schema && g.slots() >= slots && g.populated() == 0)
        });
        let free = || {
            self.generations
                .iter()
                .position(|cell| cell.get().is_none())
        };
        let index = if let Some(i) = reusable {
            i
        } else if let Some(free) = free() {
            let placement = self.series.clone().map(|s| (s, free as u32));
            let fresh = Generation::placed(schema, slots, self.shards, placement);
            let _ = self.generations[free].set(Box::new(fresh));
            free
        } else {
            // Every generation is in use: start over rather than grow.
            self.reset_locked(state, unix_now());
            return true;
        };
        let target = self.generation(index);
        state.switches += 1;
        target.mark_current(state.switches);
        // After marking, so that the shard marking placed carries the width too.
        target.set_zero_threshold(threshold);
        for bucket in carried {
            target.mark_present(bucket);
        }
        self.current.store(index, Ordering::Release);
        false
    }

    /// Empties every generation and makes the first current again.
    fn reset_locked(&self, state: &mut State, now: f64) {
        for generation in self.generations.iter().filter_map(OnceLock::get) {
            generation.clear();
        }
        if state.switches > 0 {
            // Readers elsewhere must know the first generation is current again.
            state.switches += 1;
            self.generation(0).mark_current(state.switches);
        }
        self.current.store(0, Ordering::Release);
        self.reset_due.store(0, Ordering::Relaxed);
        self.zero_threshold
            .store(self.config.zero_threshold.to_bits(), Ordering::Relaxed);
        state.last_reset = now;
    }

    /// Runs a scheduled reset that is due (at a scrape or a bulk observe: there is no
    /// timer thread). True when it reset.
    pub fn reset_if_due(&self) -> bool {
        let due = self.reset_due.load(Ordering::Relaxed);
        if due == 0 || unix_now() < f64::from_bits(due) {
            return false;
        }
        let mut state = self.state.lock();
        if self.reset_due.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.reset_locked(&mut state, unix_now());
        true
    }

    /// Reads every generation into `out`, merged at the coarsest schema that holds
    /// counts, reusing `out`'s memory.
    pub fn read_into(&self, out: &mut NativeSnapshot) {
        let _state = self.state.lock();
        out.start(self.zero_threshold());
        for generation in self.generations.iter().filter_map(OnceLock::get) {
            for shard in generation.shards() {
                out.add_shard(generation.schema, shard);
            }
        }
        out.finish(self.generation(self.current.load(Ordering::Acquire)).schema);
    }

    #[must_use]
    pub fn snapshot(&self) -> NativeSnapshot {
        let mut out = NativeSnapshot::default();
        self.read_into(&mut out);
        out
    }
}

#[cfg(test)]
mod tests;
