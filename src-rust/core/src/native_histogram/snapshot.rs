//! A read of native buckets: one histogram's generations merged at one schema, or
//! the reads of many processes added together (multi-process mode).

use std::sync::atomic::AtomicU64;

use super::schema::{bucket_index, coarsen, upper_bound};
use super::table::{read_shard, Bucket};

/// A self-consistent read of native buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NativeSnapshot {
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    /// `(index, count)` sorted by index, counts above zero.
    pub positive: Vec<(i32, u64)>,
    pub negative: Vec<(i32, u64)>,
    /// Buckets as read, at the schema of their generation, until [`finish`] merges
    /// them (kept empty otherwise, to reuse its memory).
    ///
    /// [`finish`]: NativeSnapshot::finish
    raw: Vec<(i32, Bucket, u64)>,
    /// The highest switch number among the shards added and its generation's schema:
    /// the generation that is current (see `table`), until [`finish`].
    ///
    /// [`finish`]: NativeSnapshot::finish
    current: (u64, i32),
}

impl NativeSnapshot {
    /// Buckets read elsewhere (sorted by index, counts above zero).
    #[must_use]
    pub fn new(
        schema: i32,
        zero_threshold: f64,
        zero_count: u64,
        positive: Vec<(i32, u64)>,
        negative: Vec<(i32, u64)>,
    ) -> Self {
        NativeSnapshot {
            schema,
            zero_threshold,
            zero_count,
            positive,
            negative,
            raw: Vec::new(),
            current: (0, 0),
        }
    }

    /// Every observation: the zero bucket and all others.
    #[must_use]
    pub fn count(&self) -> u64 {
        let sum = |b: &[(i32, u64)]| b.iter().map(|&(_, n)| n).sum::<u64>();
        self.zero_count + sum(&self.positive) + sum(&self.negative)
    }

    /// Starts a read: nothing counted yet, with a zero bucket of `zero_threshold`.
    pub fn start(&mut self, zero_threshold: f64) {
        self.zero_threshold = zero_threshold;
        self.zero_count = 0;
        self.raw.clear();
        self.current = (0, 0);
        self.positive.clear();
        self.negative.clear();
    }

    /// Adds the counts of one shard of a generation at `schema` (the cells as
    /// `table` lays them out), and its widened zero bucket.
    pub fn add_shard(&mut self, schema: i32, shard: &[AtomicU64]) {
        let raw = &mut self.raw;
        let switched = read_shard(
            shard,
            &mut self.zero_count,
            &mut self.zero_threshold,
            |bucket, count| raw.push((schema, bucket, count)),
        );
        if switched > self.current.0 {
            self.current = (switched, schema);
        }
    }

    /// Merges what was added at the coarsest schema it holds counts at, or the current
    /// generation's when coarser (`schema` when no shard says which one is current),
    /// after moving the buckets inside the zero bucket (widened after they were
    /// counted) into it.
    pub fn finish(&mut self, schema: i32) {
        let schema = match std::mem::take(&mut self.current) {
            (0, _) => schema,
            (_, current) => current.min(schema),
        };
        // A bucket inside a widened zero bucket, at the schema it was counted at: once
        // coarsened it may stick out of the zero bucket (client_golang moved its count
        // when it widened, before any later halving).
        let threshold = self.zero_threshold;
        let mut inside = 0;
        // The highest index inside the zero bucket, per schema (the last one asked).
        let mut last: Option<(i32, i32)> = None;
        self.raw.retain(|&(from, bucket, count)| {
            let top = match last {
                Some((schema, top)) if schema == from => top,
                _ => {
                    let top = top_index_inside(threshold, from);
                    last = Some((from, top));
                    top
                }
            };
            let keep = bucket.index > top;
            if !keep {
                inside += count;
            }
            keep
        });
        self.zero_count += inside;
        let schema = self
            .raw
            .iter()
            .map(|&(from, _, _)| from)
            .fold(schema, i32::min);
        self.schema = schema;
        for (from, bucket, _) in &mut self.raw {
            bucket.index = coarsen(bucket.index, *from - schema);
        }
        // By side, then index, as one integer (flipping the sign bit orders an i32 as a
        // u32): cheaper to compare than the pair.
        self.raw.sort_unstable_by_key(|&(_, bucket, _)| {
            (u64::from(bucket.negative) << 32)
                | u64::from(u32::from_ne_bytes(bucket.index.to_ne_bytes()) ^ (1 << 31))
        });
        self.positive.clear();
        self.negative.clear();
        for &(_, bucket, count) in &self.raw {
            let side = if bucket.negative {
                &mut self.negative
            } else {
                &mut self.positive
            };
            match side.last_mut() {
                Some((index, total)) if *index == bucket.index => *total += count,
                _ => side.push((bucket.index, count)),
            }
        }
        self.raw.clear();
    }

    /// Adds `other`'s counts, as Prometheus adds two native histograms: at the coarser
    /// of the two schemas, with the wider of the two zero buckets, into which the
    /// buckets that lie wholly inside it move.
    pub fn add(&mut self, other: &NativeSnapshot) {
        let schema = self.schema.min(other.schema);
        let (mine, theirs) = (self.schema - schema, other.schema - schema);
        self.positive = merge_sides(&self.positive, mine, &other.positive, theirs);
        self.negative = merge_sides(&self.negative, mine, &other.negative, theirs);
        self.schema = schema;
        self.zero_count += other.zero_count;
        self.zero_threshold = self.zero_threshold.max(other.zero_threshold);
        self.take_into_zero_bucket();
    }

    /// Moves the buckets that lie wholly inside the zero bucket into it.
    fn take_into_zero_bucket(&mut self) {
        let (schema, threshold) = (self.schema, self.zero_threshold);
        for side in [&mut self.positive, &mut self.negative] {
            // Sorted by index, so the buckets inside the zero bucket come first.
            let top = top_index_inside(threshold, schema);
            let inside = side.partition_point(|&(index, _)| index <= top);
            self.zero_count += side.drain(..inside).map(|(_, count)| count).sum::<u64>();
        }
    }
}

/// The highest bucket index at `schema` whose bucket lies wholly inside a zero bucket
/// of width `threshold` (`i32::MIN` when none does).
fn top_index_inside(threshold: f64, schema: i32) -> i32 {
    if threshold.is_nan() || threshold <= 0.0 {
        return i32::MIN;
    }
    let index = bucket_index(threshold.min(f64::MAX), schema);
    if upper_bound(index, schema) <= threshold {
        index
    } else {
        index - 1
    }
}

/// The buckets of two sorted sides coarsened by `a_delta` and `b_delta` schemas and
/// added, in one pass (coarsening keeps the order, merging neighbours).
fn merge_sides(a: &[(i32, u64)], a_delta: i32, b: &[(i32, u64)], b_delta: i32) -> Vec<(i32, u64)> {
    let mut out: Vec<(i32, u64)> = Vec::with_capacity(a.len().max(b.len()));
    let mut a = a.iter().map(|&(i, n)| (coarsen(i, a_delta), n)).peekable();
    let mut b = b.iter().map(|&(i, n)| (coarsen(i, b_delta), n)).peekable();
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
            (Some(_) | None, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => break,
        };
        let Some((index, count)) = next else { break };
        match out.last_mut() {
            Some((last, total)) if *last == index => *total += count,
            _ => out.push((index, count)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(schema: i32, zero: (f64, u64), positive: &[(i32, u64)]) -> NativeSnapshot {
        NativeSnapshot {
            schema,
            zero_threshold: zero.0,
            zero_count: zero.1,
            positive: positive.to_vec(),
            ..NativeSnapshot::default()
        }
    }

    #[test]
    fn adding_merges_at_the_coarser_schema() {
        // Schema 1 buckets 3 and 4 are schema 0 bucket 2; bucket 1 is bucket 1.
        let mut a = snapshot(1, (0.0, 2), &[(1, 1), (3, 5), (4, 7)]);
        let b = snapshot(0, (0.0, 1), &[(2, 10), (9, 1)]);
        a.add(&b);
        assert_eq!(a.schema, 0);
        assert_eq!(a.zero_count, 3);
        assert_eq!(a.positive, [(1, 1), (2, 22), (9, 1)]);
        assert_eq!(a.count(), 27);
        assert!(a.raw.is_empty());
    }

    #[test]
    fn adding_widens_the_zero_bucket_over_buckets_inside_it() {
        // At schema 0, bucket -1 is (0.25, 0.5], bucket 0 is (0.5, 1].
        let mut narrow = snapshot(0, (1e-9, 0), &[(-1, 4), (0, 2), (3, 1)]);
        let wide = snapshot(0, (0.5, 6), &[(0, 1)]);
        narrow.add(&wide);
        assert_eq!(narrow.zero_threshold, 0.5);
        assert_eq!(
            narrow.zero_count, 10,
            "bucket -1 lies inside the zero bucket"
        );
        assert_eq!(narrow.positive, [(0, 3), (3, 1)]);
        assert_eq!(narrow.count(), 14);
    }
}
