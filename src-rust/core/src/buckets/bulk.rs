//! The bulk kernels behind `observe_many`: a whole batch bucketed privately, block by
//! block, with no per-value atomic and no copy of the input.

use std::ops::Range;

use super::{BatchCounts, BucketLayout, Linear, BLOCK};
use crate::error::MetricError;

impl BucketLayout {
    /// Buckets `values` into per-bucket counts and a sum, or reports the first NaN (or
    /// the first infinity of the opposite sign to an earlier one).
    ///
    /// Works block by block on values read as f64 into a stack buffer (in place for a
    /// contiguous f64 slice):
    /// - up to `MAX_COUNTED_BOUNDS` finite bounds (the common case, linear or not): for
    ///   each bound (up to twelve per pass), how many values of the block lie at or
    ///   below it. These are compare-and-count loops the compiler turns into SIMD, with
    ///   no per-value memory scatter at all, so they beat any per-value index
    ///   computation here.
    /// - longer linear layouts: the O(1) arithmetic index with an exact correction.
    /// - longer arbitrary layouts: a branch-free binary search per value.
    ///
    /// On x86-64 with AVX2 the same code is compiled a second time for AVX2 and chosen
    /// at run time.
    pub fn count_batch<S: BulkValues + ?Sized>(
        &self,
        values: &S,
    ) -> Result<BatchCounts, MetricError> {
        let kernel = self.kernel();
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.count_batch_avx2(kernel, values) };
        }
        self.count_batch_portable(kernel, values)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) fn count_batch_avx2<S: BulkValues + ?Sized>(
        &self,
        kernel: Kernel,
        values: &S,
    ) -> Result<BatchCounts, MetricError> {
        self.count_batch_portable(kernel, values)
    }

    #[inline(always)]
    pub(super) fn count_batch_portable<S: BulkValues + ?Sized>(
        &self,
        kernel: Kernel,
        values: &S,
    ) -> Result<BatchCounts, MetricError> {
        let buckets = self.bounds.len();
        let counted = kernel == Kernel::Counted;
        // Counted layouts accumulate cumulative counts in `tables[..buckets]`; the
        // others per-bucket counts in four tables, one per lane.
        let mut tables = vec![0u64; buckets * LANES];
        let mut sums = [0.0f64; LANES];
        let mut infinities = Infinities::default();
        let mut buffer = [0.0f64; BLOCK];
        let mut index = [0u32; BLOCK];
        let total = values.len();
        for start in (0..total).step_by(BLOCK) {
            let end = (start + BLOCK).min(total);
            let x = values.block(start..end, &mut buffer[..end - start]);
            let mut block_sums = [0.0f64; LANES];
            let mut quads = x.chunks_exact(LANES);
            for q in &mut quads {
                block_sums[0] += q[0];
                block_sums[1] += q[1];
                block_sums[2] += q[2];
                block_sums[3] += q[3];
            }
            for (sum, v) in block_sums.iter_mut().zip(quads.remainder()) {
                *sum += v;
            }
            // A NaN or an infinity makes a partial sum non-finite, so the sums double as
            // the check; the scan runs only then (an overflow also triggers it).
            if block_sums.iter().any(|s| !s.is_finite()) {
                infinities.scan(x, start)?;
            }
            for (sum, block_sum) in sums.iter_mut().zip(block_sums) {
                *sum += block_sum;
            }
            if counted {
                // Up to GROUP bounds per pass over the block: one load of each value serves
                // all of their comparisons.
                for (group, cumulative) in self.bounds[..buckets - 1]
                    .chunks(GROUP)
                    .zip(tables[..buckets - 1].chunks_mut(GROUP))
                {
                    count_group(x, group, cumulative);
                }
                tables[buckets - 1] += x.len() as u64;
                continue;
            }
            let index = &mut index[..x.len()];
            match kernel {
                Kernel::Linear(linear) => self.linear_indices(linear, x, index),
                _ => {
                    for (i, &v) in index.iter_mut().zip(x.iter()) {
                        *i = self.search_index(v) as u32;
                    }
                }
            }
            let (t0, rest) = tables.split_at_mut(buckets);
            let (t1, rest) = rest.split_at_mut(buckets);
            let (t2, t3) = rest.split_at_mut(buckets);
            let mut quads = index.chunks_exact(LANES);
            for q in &mut quads {
                t0[q[0] as usize] += 1;
                t1[q[1] as usize] += 1;
                t2[q[2] as usize] += 1;
                t3[q[3] as usize] += 1;
            }
            for &i in quads.remainder() {
                t0[i as usize] += 1;
            }
        }
        let counts = if counted {
            let cumulative = &tables[..buckets];
            (0..buckets)
                .map(|b| cumulative[b] - if b == 0 { 0 } else { cumulative[b - 1] })
                .collect()
        } else {
            (0..buckets)
                .map(|b| (0..LANES).map(|lane| tables[lane * buckets + b]).sum())
                .collect()
        };
        // When the batch has infinities (all of one sign), the sum saturates to them.
        let sum = infinities.first.map_or_else(
            || {
                let sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
                if sum.is_nan() {
                    // Finite values whose lanes overflowed to opposite infinities: one
                    // lane in order cannot (once infinite, adding finite values keeps
                    // it so), and this is rare enough to read the values again.
                    sequential_sum(values, &mut buffer)
                } else {
                    sum
                }
            },
            |(_, infinity)| infinity,
        );
        Ok(BatchCounts {
            counts,
            sum,
            first_infinity: infinities.first,
        })
    }

    /// The kernel `count_batch` uses for this layout.
    pub(super) fn kernel(&self) -> Kernel {
        if self.bounds.len() - 1 <= MAX_COUNTED_BOUNDS {
            Kernel::Counted
        } else {
            self.linear.map_or(Kernel::Search, Kernel::Linear)
        }
    }

    /// The arithmetic kernel, when the layout is linear (tests run it on any size).
    #[cfg(test)]
    pub(super) fn linear_kernel(&self) -> Option<Kernel> {
        self.linear.map(Kernel::Linear)
    }

    /// Exact indices for a linear layout of non-NaN values: an arithmetic estimate, off
    /// by at most one, corrected against the neighbouring bounds.
    #[inline(always)]
    fn linear_indices(&self, linear: Linear, x: &[f64], index: &mut [u32]) {
        let finite = self.bounds.len() - 1;
        let padded = &self.padded[..finite + 2];
        for (i, &v) in index.iter_mut().zip(x) {
            let estimate = linear.estimate(v, finite);
            // SAFETY: estimate <= finite and bucket + 1 <= finite + 1 < padded.len().
            // padded[0] is NaN, so the downward step never leaves bucket 0.
            let (below, above) = unsafe {
                let down = usize::from(v <= *padded.get_unchecked(estimate));
                let bucket = estimate - down;
                (bucket, *padded.get_unchecked(bucket + 1))
            };
            *i = (below + usize::from(v > above)) as u32;
        }
    }
}

/// How a batch is bucketed (see `count_batch`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kernel {
    /// Per bound, how many values are at or below it.
    Counted,
    /// The arithmetic index of a verified linear layout.
    Linear(Linear),
    /// A binary search per value.
    Search,
}

/// Bounds counted per pass over a block: each value is loaded once for all of them.
const GROUP: usize = 12;

/// Adds to `cumulative[k]` how many of `x` are at or below `group[k]` (1 to `GROUP`
/// bounds), in one pass with the group's size known at compile time.
#[inline(always)]
fn count_group(x: &[f64], group: &[f64], cumulative: &mut [u64]) {
    macro_rules! sized {
        ($($n:literal)*) => {
            match group.len() {
                $($n => add(cumulative, &count_at_or_below::<$n>(x, group.try_into().unwrap_or([0.0; $n]))),)*
                _ => unreachable!("bounds are counted in groups of at most GROUP"),
            }
        };
    }
    sized!(1 2 3 4 5 6 7 8 9 10 11 12);
}

fn add(cumulative: &mut [u64], counts: &[u64]) {
    for (total, count) in cumulative.iter_mut().zip(counts) {
        *total += count;
    }
}

/// How many of `x` are at or below each of `N` bounds, in one pass.
#[inline(always)]
fn count_at_or_below<const N: usize>(x: &[f64], bounds: [f64; N]) -> [u64; N] {
    let mut counts = [0u64; N];
    for &v in x {
        for (count, &bound) in counts.iter_mut().zip(&bounds) {
            *count += u64::from(v <= bound);
        }
    }
    counts
}

/// The values of one `observe_many` call, read block by block as f64: a contiguous f64
/// slice in place, anything else (f32, strided views) copied one block at a time into a
/// stack buffer, so no input is ever copied whole.
pub trait BulkValues {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values at `range`, as f64; `buffer` has `range.len()` elements to copy them
    /// into when they are not f64 in place.
    fn block<'a>(&'a self, range: Range<usize>, buffer: &'a mut [f64]) -> &'a [f64];
}

impl BulkValues for [f64] {
    fn len(&self) -> usize {
        <[f64]>::len(self)
    }

    #[inline(always)]
    fn block<'a>(&'a self, range: Range<usize>, _buffer: &'a mut [f64]) -> &'a [f64] {
        &self[range]
    }
}

impl BulkValues for [f32] {
    fn len(&self) -> usize {
        <[f32]>::len(self)
    }

    #[inline(always)]
    fn block<'a>(&'a self, range: Range<usize>, buffer: &'a mut [f64]) -> &'a [f64] {
        for (wide, &narrow) in buffer.iter_mut().zip(&self[range]) {
            *wide = f64::from(narrow);
        }
        buffer
    }
}

impl<const N: usize, T> BulkValues for [T; N]
where
    [T]: BulkValues,
{
    fn len(&self) -> usize {
        N
    }

    #[inline(always)]
    fn block<'a>(&'a self, range: Range<usize>, buffer: &'a mut [f64]) -> &'a [f64] {
        self.as_slice().block(range, buffer)
    }
}

impl<T> BulkValues for Vec<T>
where
    [T]: BulkValues,
{
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    #[inline(always)]
    fn block<'a>(&'a self, range: Range<usize>, buffer: &'a mut [f64]) -> &'a [f64] {
        self.as_slice().block(range, buffer)
    }
}

/// The first infinity of a batch, and the check that no later one has the other sign.
#[derive(Default)]
struct Infinities {
    first: Option<(usize, f64)>,
}

impl Infinities {
    /// Scans one block (starting at `offset` in the batch) for NaN and infinities.
    #[cold]
    fn scan(&mut self, x: &[f64], offset: usize) -> Result<(), MetricError> {
        for (position, &v) in x.iter().enumerate() {
            let index = offset + position;
            if v.is_nan() {
                return Err(MetricError::NanInArray { index });
            }
            if v.is_infinite() {
                match self.first {
                    None => self.first = Some((index, v)),
                    Some((_, first)) if first.is_sign_positive() != v.is_sign_positive() => {
                        return Err(MetricError::OppositeInfinityInArray { index, value: v });
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// The sum of finite `values` added in order.
#[cold]
fn sequential_sum<S: BulkValues + ?Sized>(values: &S, buffer: &mut [f64; BLOCK]) -> f64 {
    let total = values.len();
    let mut sum = 0.0;
    for start in (0..total).step_by(BLOCK) {
        let end = (start + BLOCK).min(total);
        for v in values.block(start..end, &mut buffer[..end - start]) {
            sum += v;
        }
    }
    sum
}

/// Independent count tables and partial sums, so consecutive values in the same bucket
/// do not wait on each other's increments.
const LANES: usize = 4;
/// Up to this many finite bounds (two counting passes of GROUP), counting beats computing
/// an index per value (instruction counts under callgrind; timings in benches/).
const MAX_COUNTED_BOUNDS: usize = 24;
