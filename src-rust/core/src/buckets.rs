//! Histogram bucket layouts and bucketing kernels.
//!
//! A value `v` belongs to the first bucket whose upper bound `le` satisfies `v <= le`; the
//! last bound is always `+Inf`. Evenly spaced layouts (quality scores in 0.1 steps) get an
//! arithmetic O(1) index with an exact correction step; other layouts a branch-free binary
//! search. The bulk kernels work on four values at a time into four private count tables
//! so that runs of equal buckets do not serialise on one memory location.

use crate::error::MetricError;

/// Relative tolerance for recognising evenly spaced bounds typed as decimal literals
/// (`0.1, 0.2, 0.3` are not exactly evenly spaced in binary).
const LINEAR_TOLERANCE: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Linear {
    start: f64,
    inv_width: f64,
}

/// Validated upper bounds of a histogram, `+Inf` last.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketLayout {
    bounds: Box<[f64]>,
    /// NaN, then the bounds: lets the linear correction step read both neighbours of an
    /// estimate without branches (nothing compares <= NaN, so bucket 0 never steps down).
    padded: Box<[f64]>,
    linear: Option<Linear>,
}

/// Counts per bucket (not cumulative) and the sum of one batch of values.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCounts {
    pub counts: Vec<u64>,
    pub sum: f64,
}

impl BucketLayout {
    /// Builds a layout from upper bounds, appending `+Inf` when missing. Errors (with
    /// prometheus_client's messages) on unsorted bounds, NaN, or fewer than two buckets.
    pub fn new(bounds: &[f64]) -> Result<Self, MetricError> {
        if bounds.iter().any(|b| b.is_nan()) {
            return Err(MetricError::InvalidBuckets(
                "Buckets must be numbers, got NaN".to_string(),
            ));
        }
        if bounds.windows(2).any(|w| w[0] > w[1]) {
            return Err(MetricError::InvalidBuckets(
                "Buckets not in sorted order".to_string(),
            ));
        }
        let mut all: Vec<f64> = bounds.to_vec();
        if all.last() != Some(&f64::INFINITY) {
            all.push(f64::INFINITY);
        }
        if all.len() < 2 {
            return Err(MetricError::InvalidBuckets(
                "Must have at least two buckets".to_string(),
            ));
        }
        let mut padded = Vec::with_capacity(all.len() + 1);
        padded.push(f64::NAN);
        padded.extend_from_slice(&all);
        let linear = detect_linear(&all[..all.len() - 1]);
        Ok(BucketLayout {
            bounds: all.into_boxed_slice(),
            padded: padded.into_boxed_slice(),
            linear,
        })
    }

    /// Upper bounds including the final `+Inf`.
    #[must_use]
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Whether the finite bounds are evenly spaced (the O(1) path).
    #[must_use]
    pub fn is_linear(&self) -> bool {
        self.linear.is_some()
    }

    /// The bucket of a non-NaN `value`.
    #[inline]
    #[must_use]
    pub fn index(&self, value: f64) -> usize {
        match self.linear {
            Some(linear) => self.linear_index(linear, value),
            None => self.search_index(value),
        }
    }

    #[inline]
    fn linear_index(&self, linear: Linear, value: f64) -> usize {
        let finite = self.bounds.len() - 1;
        // trunc(x) + 1 is ceil(x) for positive non-integral x; the correction below fixes
        // integral x (a value exactly on a bound) and rounding either way.
        let estimate = (((value - linear.start) * linear.inv_width) as i64).saturating_add(1);
        self.correct_linear(
            value,
            estimate.clamp(0, i64::try_from(finite).unwrap_or(i64::MAX)) as usize,
        )
    }

    #[inline]
    fn search_index(&self, value: f64) -> usize {
        let bounds = &self.bounds;
        let mut base = 0;
        let mut size = bounds.len();
        while size > 1 {
            let half = size / 2;
            if bounds[base + half] < value {
                base += half;
            }
            size -= half;
        }
        base + usize::from(bounds[base] < value)
    }

    /// Buckets `values` into per-bucket counts and a sum, or reports the first NaN.
    ///
    /// Works block by block on values converted to f64 in a stack buffer:
    /// - up to `MAX_COUNTED_BOUNDS` finite bounds (the common case, linear or not): for
    ///   each bound (up to twelve per pass), how many values of the block lie at or below it. These are
    ///   compare-and-count loops the compiler turns into SIMD, with no per-value
    ///   memory scatter at all, so they beat any per-value index computation here.
    /// - longer linear layouts: the O(1) arithmetic index with an exact correction.
    /// - longer arbitrary layouts: a branch-free binary search per value.
    ///
    /// On x86-64 with AVX2 the same code is compiled a second time for AVX2 and chosen
    /// at run time.
    pub fn count_batch<T: BulkValue>(&self, values: &[T]) -> Result<BatchCounts, MetricError> {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.count_batch_avx2(values) };
        }
        self.count_batch_portable(values)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn count_batch_avx2<T: BulkValue>(&self, values: &[T]) -> Result<BatchCounts, MetricError> {
        self.count_batch_portable(values)
    }

    #[inline(always)]
    fn count_batch_portable<T: BulkValue>(&self, values: &[T]) -> Result<BatchCounts, MetricError> {
        let buckets = self.bounds.len();
        let counted = buckets - 1 <= MAX_COUNTED_BOUNDS;
        // Counted layouts accumulate cumulative counts in `tables[..buckets]`; the
        // others per-bucket counts in four tables, one per lane.
        let mut tables = vec![0u64; buckets * LANES];
        let mut sums = [0.0f64; LANES];
        let mut buffer = [0.0f64; BLOCK];
        let mut index = [0u32; BLOCK];
        for (block_number, block) in values.chunks(BLOCK).enumerate() {
            let x = T::as_f64(block, &mut buffer[..block.len()]);
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
            // A NaN makes the block's sum NaN, so the sum doubles as the NaN check; the
            // scan runs only then (the sum can also be NaN from +Inf + -Inf).
            if block_sums.iter().any(|s| s.is_nan()) {
                if let Some(position) = x.iter().position(|v| v.is_nan()) {
                    return Err(MetricError::NanInArray {
                        index: block_number * BLOCK + position,
                    });
                }
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
            let index = &mut index[..block.len()];
            match self.linear {
                Some(linear) => self.linear_indices(linear, x, index),
                None => {
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
        Ok(BatchCounts {
            counts,
            sum: (sums[0] + sums[1]) + (sums[2] + sums[3]),
        })
    }

    /// Exact indices for a linear layout of non-NaN values: an arithmetic estimate, off
    /// by at most one, corrected against the neighbouring bounds.
    #[inline(always)]
    fn linear_indices(&self, linear: Linear, x: &[f64], index: &mut [u32]) {
        let finite = self.bounds.len() - 1;
        let last = finite as f64;
        let padded = &self.padded[..finite + 2];
        for (i, &v) in index.iter_mut().zip(x) {
            // Clamped to [-1, finite] first (NaN never gets here), so the truncation is
            // exact and the estimate is in 0..=finite.
            let t = ((v - linear.start) * linear.inv_width).max(-1.0).min(last);
            // SAFETY: t is finite and within [-1, finite], which fits in i32.
            let estimate = (unsafe { t.to_int_unchecked::<i32>() } + 1) as usize;
            let estimate = estimate.min(finite);
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

    #[inline]
    fn correct_linear(&self, value: f64, estimate: usize) -> usize {
        // padded[0] is NaN: no value compares <= it, so bucket 0 never steps down.
        let bucket = estimate - usize::from(value <= self.padded[estimate]);
        bucket + usize::from(value > self.padded[bucket + 1])
    }
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

/// Element types `observe_many` accepts: f64 is used in place, f32 is widened into a
/// block buffer.
pub trait BulkValue: Copy {
    fn as_f64<'a>(block: &'a [Self], buffer: &'a mut [f64]) -> &'a [f64];
}

impl BulkValue for f64 {
    #[inline(always)]
    fn as_f64<'a>(block: &'a [Self], _buffer: &'a mut [f64]) -> &'a [f64] {
        block
    }
}

impl BulkValue for f32 {
    #[inline(always)]
    fn as_f64<'a>(block: &'a [Self], buffer: &'a mut [f64]) -> &'a [f64] {
        for (wide, &narrow) in buffer.iter_mut().zip(block) {
            *wide = f64::from(narrow);
        }
        buffer
    }
}

/// Values bucketed per block: small enough that a block's values and indices stay in L1.
const BLOCK: usize = 512;
/// Independent count tables and partial sums, so consecutive values in the same bucket
/// do not wait on each other's increments.
const LANES: usize = 4;
/// Up to this many finite bounds (two counting passes of GROUP), counting beats computing
/// an index per value (instruction counts under callgrind; timings in benches/).
const MAX_COUNTED_BOUNDS: usize = 24;

fn detect_linear(finite: &[f64]) -> Option<Linear> {
    if finite.len() < 2 || finite.iter().any(|b| !b.is_finite()) {
        return None;
    }
    let start = finite[0];
    let width = (finite[finite.len() - 1] - start) / (finite.len() - 1) as f64;
    if width <= 0.0 || !width.is_finite() {
        return None;
    }
    let scale = start.abs().max(finite[finite.len() - 1].abs()).max(width);
    let even = finite
        .iter()
        .enumerate()
        .all(|(i, &b)| (b - (start + width * i as f64)).abs() <= LINEAR_TOLERANCE * scale);
    even.then_some(Linear {
        start,
        inv_width: 1.0 / width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_index(bounds: &[f64], v: f64) -> usize {
        bounds.iter().position(|&b| v <= b).unwrap()
    }

    fn quality_layout() -> BucketLayout {
        BucketLayout::new(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]).unwrap()
    }

    #[test]
    fn appends_inf_and_validates() {
        let l = BucketLayout::new(&[1.0, 2.0]).unwrap();
        assert_eq!(l.bounds(), &[1.0, 2.0, f64::INFINITY]);
        assert!(BucketLayout::new(&[2.0, 1.0]).is_err());
        assert!(BucketLayout::new(&[]).is_err());
        assert!(BucketLayout::new(&[f64::INFINITY]).is_err());
        assert!(BucketLayout::new(&[f64::NAN]).is_err());
        assert_eq!(BucketLayout::new(&[5.0, f64::INFINITY]).unwrap().len(), 2);
    }

    #[test]
    fn detects_linear_layouts() {
        assert!(quality_layout().is_linear());
        assert!(!BucketLayout::new(&[0.005, 0.01, 0.025, 0.05, 0.1])
            .unwrap()
            .is_linear());
        assert!(BucketLayout::new(&[-1.0, 0.0, 1.0, 2.0])
            .unwrap()
            .is_linear());
    }

    #[test]
    fn bounds_are_inclusive_on_both_paths() {
        let linear = quality_layout();
        let search = BucketLayout::new(&[0.005, 0.01, 0.5, 1.0, 2.5]).unwrap();
        for layout in [&linear, &search] {
            let bounds = layout.bounds().to_vec();
            let mut probes = vec![f64::NEG_INFINITY, f64::INFINITY, -1.0, 0.0, 1e300];
            for &b in &bounds {
                probes.extend([b, b.next_down(), b.next_up()]);
            }
            for v in probes {
                assert_eq!(layout.index(v), reference_index(&bounds, v), "value {v}");
            }
        }
    }

    #[test]
    fn dense_sweep_matches_reference() {
        let layout = quality_layout();
        let bounds = layout.bounds().to_vec();
        for i in -200..=1200 {
            let v = f64::from(i) / 1000.0;
            assert_eq!(layout.index(v), reference_index(&bounds, v), "value {v}");
        }
    }

    #[test]
    fn batches_count_and_sum() {
        let layout = BucketLayout::new(&[1.0, 2.0, 3.0]).unwrap();
        let values = [0.5f64, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 100.0, -1.0];
        let batch = layout.count_batch(&values).unwrap();
        assert_eq!(batch.counts, vec![3, 2, 2, 2]);
        assert_eq!(batch.sum, values.iter().sum::<f64>());
        let floats = [0.5f32, 2.5];
        assert_eq!(
            layout.count_batch(&floats).unwrap().counts,
            vec![1, 0, 1, 0]
        );
    }

    /// Every bulk path (counted, long linear, long arbitrary) agrees with the scalar
    /// reference on values that include bounds exactly and their neighbours.
    #[test]
    fn every_bulk_path_matches_reference() {
        let long_linear: Vec<f64> = (1..=50).map(|i| f64::from(i) * 0.02).collect();
        let long_arbitrary: Vec<f64> = (1..=40).map(|i| f64::from(i * i) / 1600.0).collect();
        let layouts = [
            quality_layout(),
            BucketLayout::new(&[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]).unwrap(),
            BucketLayout::new(&long_linear).unwrap(),
            BucketLayout::new(&long_arbitrary).unwrap(),
        ];
        assert!(layouts[2].is_linear() && !layouts[3].is_linear());
        let mut seed = 7u64;
        for layout in &layouts {
            let mut values: Vec<f64> = (0..5000)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (seed >> 11) as f64 / (1u64 << 53) as f64 * 1.2 - 0.1
                })
                .collect();
            for &b in layout.bounds() {
                values.extend([b, b.next_down(), b.next_up()]);
            }
            values.extend([f64::NEG_INFINITY, f64::INFINITY]);
            let mut expected = vec![0u64; layout.len()];
            for &v in &values {
                expected[reference_index(layout.bounds(), v)] += 1;
            }
            assert_eq!(layout.count_batch(&values).unwrap().counts, expected);
        }
    }

    #[test]
    fn batches_report_first_nan() {
        let layout = quality_layout();
        let mut values = vec![0.5; 11];
        values[9] = f64::NAN;
        values[6] = f64::NAN;
        assert_eq!(
            layout.count_batch(&values),
            Err(MetricError::NanInArray { index: 6 })
        );
        assert_eq!(
            layout.count_batch(&values[7..]),
            Err(MetricError::NanInArray { index: 2 })
        );
    }
}
