//! Histogram bucket layouts and bucketing kernels.
//!
//! A value `v` belongs to the first bucket whose upper bound `le` satisfies `v <= le`; the
//! last bound is always `+Inf`. Evenly spaced layouts (quality scores in 0.1 steps) get an
//! arithmetic O(1) index with an exact correction step; other layouts a branch-free binary
//! search. The bulk kernels work on four values at a time into four private count tables
//! so that runs of equal buckets do not serialise on one memory location.
//!
//! Every path gives the bucket a binary search gives, for every input: the counting and
//! search paths compare against the bounds themselves, and a layout takes the
//! arithmetic path only when it is proven exact (see `Linear::verified`).

mod bulk;
#[cfg(test)]
mod tests;

pub use bulk::BulkValues;

use crate::error::MetricError;

/// The arithmetic index of an evenly spaced layout: `trunc((v - start) * inv_width) + 1`,
/// clamped to the buckets, then corrected by one step against the neighbouring bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Linear {
    start: f64,
    inv_width: f64,
}

impl Linear {
    /// The uncorrected estimate for a non-NaN `value` among `finite` finite bounds,
    /// computed exactly as the scalar and bulk paths compute it.
    #[inline(always)]
    fn estimate(self, value: f64, finite: usize) -> usize {
        // Clamped to [-1, finite] first (NaN never gets here), so the truncation is
        // exact and the estimate is in 0..=finite.
        let t = ((value - self.start) * self.inv_width)
            .max(-1.0)
            .min(finite as f64);
        // SAFETY: t is finite and within [-1, finite], which fits in i32 (layouts have
        // far fewer than 2^31 bounds).
        let truncated = unsafe { t.to_int_unchecked::<i32>() };
        ((truncated + 1) as usize).min(finite)
    }

    /// The candidate for `finite` (the finite bounds, sorted), if the corrected
    /// estimate provably equals the binary search for every input.
    ///
    /// The correction step fixes an estimate that is off by at most one bucket either
    /// way. The estimate is monotone in the value (a subtraction, a multiplication by a
    /// positive constant, truncation and clamping all are, under IEEE rounding), so over
    /// the values of bucket `i`, the interval `(b[i-1], b[i]]`, it ranges from its
    /// value at `next_up(b[i-1])` to its value at `b[i]`. Checking those two ends for
    /// every bucket therefore proves the estimate within one of `i` for every value in
    /// it. Bounds that are only nearly even (a large offset, a typo) fail the check.
    fn verified(finite: &[f64]) -> Option<Linear> {
        let n = finite.len();
        if n < 2 || n > i32::MAX as usize / 2 || finite.iter().any(|b| !b.is_finite()) {
            return None;
        }
        let start = finite[0];
        let width = (finite[n - 1] - start) / (n - 1) as f64;
        let inv_width = 1.0 / width;
        if !(width > 0.0 && width.is_finite() && inv_width.is_finite() && inv_width > 0.0) {
            return None;
        }
        let linear = Linear { start, inv_width };
        let within_one = |value: f64, bucket: usize| {
            let estimate = linear.estimate(value, n);
            estimate + 1 >= bucket && estimate <= bucket + 1
        };
        // Bucket 0 is (-inf, b[0]]; bucket n is (b[n-1], +inf]: their outer ends clamp
        // to 0 and n, which are in range.
        let mut lower = f64::NEG_INFINITY;
        for bucket in 0..=n {
            let upper = finite.get(bucket).copied().unwrap_or(f64::INFINITY);
            if lower < upper {
                let first = if lower == f64::NEG_INFINITY {
                    lower
                } else {
                    next_up(lower)
                };
                if !(within_one(first, bucket) && within_one(upper, bucket)) {
                    return None;
                }
            }
            lower = upper;
        }
        Some(linear)
    }
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
    /// The sum of the values: never NaN (infinities of one sign saturate it).
    pub sum: f64,
    /// The index and value of the batch's first infinity, if it has one (all its
    /// infinities then have that sign).
    pub first_infinity: Option<(usize, f64)>,
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
        let linear = Linear::verified(&all[..all.len() - 1]);
        Ok(BucketLayout {
            bounds: all.into_boxed_slice(),
            padded: padded.into_boxed_slice(),
            linear,
        })
    }

    /// `+Inf` alone: the classic part of a histogram with native buckets only, which the
    /// text formats show as one `+Inf` bucket beside `_count` and `_sum` (what
    /// client_golang writes for such a histogram). `new` refuses it: a classic histogram
    /// needs two buckets.
    #[must_use]
    pub fn native_only() -> Self {
        BucketLayout {
            bounds: Box::new([f64::INFINITY]),
            padded: Box::new([f64::NAN, f64::INFINITY]),
            linear: None,
        }
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

    /// Whether the finite bounds are evenly spaced, exactly enough that the O(1)
    /// arithmetic index is proven to match a binary search.
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
        // trunc(x) + 1 is ceil(x) for positive non-integral x; the correction fixes
        // integral x (a value exactly on a bound) and rounding either way.
        self.correct_linear(value, linear.estimate(value, self.bounds.len() - 1))
    }

    /// The bucket by binary search, whatever the layout (the reference every other
    /// path agrees with).
    #[inline]
    #[must_use]
    pub fn search(&self, value: f64) -> usize {
        self.search_index(value)
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

    #[inline]
    fn correct_linear(&self, value: f64, estimate: usize) -> usize {
        // padded[0] is NaN: no value compares <= it, so bucket 0 never steps down.
        let bucket = estimate - usize::from(value <= self.padded[estimate]);
        bucket + usize::from(value > self.padded[bucket + 1])
    }
}

/// The next float above a finite `x` (`f64::next_up`, which needs a newer Rust).
fn next_up(x: f64) -> f64 {
    if x == 0.0 {
        // Either zero: the smallest subnormal.
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

/// Values bucketed per block: small enough that a block's values and indices stay in L1.
const BLOCK: usize = 512;
