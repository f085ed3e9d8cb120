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
    /// `-Inf`, then the bounds: lets the linear correction step read both neighbours
    /// without branches.
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
        padded.push(f64::NEG_INFINITY);
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
        let mut index = estimate.clamp(0, finite as i64) as usize;
        // padded[index] is bounds[index - 1]; padded[index + 1] is bounds[index].
        index = index.saturating_sub(usize::from(value <= self.padded[index]));
        index += usize::from(value > self.padded[index + 1]);
        index
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
    pub fn count_batch<T: Copy + Into<f64>>(&self, values: &[T]) -> Result<BatchCounts, MetricError> {
        let buckets = self.bounds.len();
        // Four private tables, one per lane, merged at the end.
        let mut tables = vec![0u64; buckets * 4];
        let mut sums = [0.0f64; 4];
        let mut chunks = values.chunks_exact(4);
        let mut offset = 0;
        for chunk in &mut chunks {
            let v = [chunk[0].into(), chunk[1].into(), chunk[2].into(), chunk[3].into()];
            if v.iter().any(|x: &f64| x.is_nan()) {
                let lane = v.iter().position(|x| x.is_nan()).unwrap_or(0);
                return Err(MetricError::NanInArray { index: offset + lane });
            }
            let idx = match self.linear {
                Some(linear) => v.map(|x| self.linear_index(linear, x)),
                None => v.map(|x| self.search_index(x)),
            };
            for lane in 0..4 {
                tables[lane * buckets + idx[lane]] += 1;
                sums[lane] += v[lane];
            }
            offset += 4;
        }
        for (lane, value) in chunks.remainder().iter().enumerate() {
            let x: f64 = (*value).into();
            if x.is_nan() {
                return Err(MetricError::NanInArray { index: offset + lane });
            }
            tables[self.index(x)] += 1;
            sums[lane] += x;
        }
        let counts = (0..buckets)
            .map(|b| (0..4).map(|lane| tables[lane * buckets + b]).sum())
            .collect();
        Ok(BatchCounts {
            counts,
            sum: (sums[0] + sums[1]) + (sums[2] + sums[3]),
        })
    }
}

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
        assert!(!BucketLayout::new(&[0.005, 0.01, 0.025, 0.05, 0.1]).unwrap().is_linear());
        assert!(BucketLayout::new(&[-1.0, 0.0, 1.0, 2.0]).unwrap().is_linear());
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
        assert_eq!(layout.count_batch(&floats).unwrap().counts, vec![1, 0, 1, 0]);
    }

    #[test]
    fn batches_report_first_nan() {
        let layout = quality_layout();
        let mut values = vec![0.5; 11];
        values[9] = f64::NAN;
        values[6] = f64::NAN;
        assert_eq!(layout.count_batch(&values), Err(MetricError::NanInArray { index: 6 }));
        assert_eq!(layout.count_batch(&values[7..]), Err(MetricError::NanInArray { index: 2 }));
    }
}
