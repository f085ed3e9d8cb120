//! Exponential bucket schemas: which schema a bucket factor picks, which bucket a value
//! falls into, and how bucket indices map to a coarser schema.
//!
//! At schema `s` the bucket with index `i` holds the magnitudes in
//! `(2^((i-1)/2^s), 2^(i/2^s)]`, so 1 is always a boundary and every power of two is
//! split into `2^s` buckets (for `s <= 0`, one bucket spans `2^-s` powers of two). These
//! are the Prometheus native histogram definitions; the index computation follows
//! client_golang (`math.Frexp` and a table of boundaries per positive schema) so that a
//! value on a boundary lands in the same bucket as it does in Go.

use std::sync::OnceLock;

/// The finest schema Prometheus accepts.
pub const MAX_SCHEMA: i32 = 8;
/// The coarsest schema Prometheus accepts.
pub const MIN_SCHEMA: i32 = -4;

/// The largest schema whose growth factor `2^(2^-schema)` is at most `factor`
/// (client_golang's `pickSchema`), or `None` for a factor that is not above 1.
#[must_use]
pub fn pick_schema(factor: f64) -> Option<i32> {
    if factor.is_nan() || factor <= 1.0 {
        return None;
    }
    let floor = factor.log2().log2().floor();
    Some(if floor <= f64::from(-MAX_SCHEMA) {
        MAX_SCHEMA
    } else if floor >= f64::from(-MIN_SCHEMA) {
        MIN_SCHEMA
    } else {
        -(floor as i32)
    })
}

/// The growth factor from one bucket to the next at `schema`.
#[must_use]
pub fn growth_factor(schema: i32) -> f64 {
    (2.0f64).powf((2.0f64).powi(-schema))
}

/// `(frac, exp)` with `value = frac * 2^exp` and `frac` in `[0.5, 1)`, for a finite
/// positive `value` (Go's `math.Frexp`).
fn frexp(value: f64) -> (f64, i32) {
    let bits = value.to_bits();
    let exponent_bits = ((bits >> 52) & 0x7ff) as i32;
    if exponent_bits == 0 {
        // Subnormal: scale into the normal range first.
        let (frac, exp) = frexp(value * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
        return (frac, exp - 64);
    }
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exponent_bits - 1022)
}

/// For each positive schema `s`, the `2^s` fractions `2^(j/2^s - 1)`: the boundaries
/// within one power of two, in `[0.5, 1)`.
fn boundaries(schema: i32) -> &'static [f64] {
    static TABLES: OnceLock<Vec<Vec<f64>>> = OnceLock::new();
    let tables = TABLES.get().unwrap_or_else(|| {
        // Built inside a fork gate section, so a fork never copies the once-lock in the
        // middle of its initialisation.
        let _section = crate::sync::enter();
        TABLES.get_or_init(|| {
            (1..=MAX_SCHEMA)
                .map(|s| {
                    let n = 1u32 << s;
                    (0..n)
                        .map(|j| (f64::from(j) / f64::from(n) - 1.0).exp2())
                        .collect()
                })
                .collect()
        })
    });
    &tables[(schema - 1) as usize]
}

/// The index of the bucket that holds the magnitude `magnitude` (positive, or `+Inf`)
/// at `schema`. `+Inf` goes one bucket above the largest finite value, as in Go.
#[must_use]
pub fn bucket_index(magnitude: f64, schema: i32) -> i32 {
    let (value, beyond) = if magnitude.is_infinite() {
        (f64::MAX, 1)
    } else {
        (magnitude, 0)
    };
    let (frac, exp) = frexp(value);
    let index = if schema > 0 {
        let bounds = boundaries(schema);
        // The first boundary at or above `frac` (Go's sort.SearchFloat64s). A table has
        // at most 256 entries, so the casts are exact.
        #[allow(clippy::cast_possible_wrap)]
        let (within, per_power) = (
            bounds.partition_point(|&b| b < frac) as i32,
            bounds.len() as i32,
        );
        within + (exp - 1) * per_power
    } else {
        // frexp gives exactly 0.5 for a power of two, which tops the bucket below.
        #[allow(clippy::float_cmp)]
        let key = if frac == 0.5 { exp - 1 } else { exp };
        let offset = (1 << -schema) - 1;
        (key + offset) >> -schema
    };
    index + beyond
}

/// The index at `schema - delta` of the bucket that holds bucket `index` of `schema`:
/// `ceil(index / 2^delta)` (an arithmetic shift floors, for negative indices too).
#[must_use]
pub fn coarsen(index: i32, delta: i32) -> i32 {
    if delta == 0 {
        index
    } else {
        (index + (1 << delta) - 1) >> delta
    }
}

/// The upper boundary of bucket `index` at `schema` (for tests and documentation).
#[must_use]
pub fn upper_bound(index: i32, schema: i32) -> f64 {
    (f64::from(index) * (2.0f64).powi(-schema)).exp2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_pick_client_golangs_schemas() {
        // The table in the Prometheus native histogram specification.
        let table = [
            (65536.0, -4),
            (256.0, -3),
            (16.0, -2),
            (4.0, -1),
            (2.0, 0),
            (1.5, 1),
            (1.2, 2),
            (1.1, 3),
            (1.05, 4),
            (1.03, 5),
            (1.02, 6),
            (1.01, 7),
            (1.005, 8),
            (1.0001, 8),
            (1e9, -4),
        ];
        for (factor, schema) in table {
            assert_eq!(pick_schema(factor), Some(schema), "factor {factor}");
            assert!(growth_factor(schema) <= factor || schema == MAX_SCHEMA);
        }
        assert_eq!(pick_schema(1.0), None);
        assert_eq!(pick_schema(f64::NAN), None);
    }

    #[test]
    fn boundaries_are_upper_inclusive() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            assert_eq!(bucket_index(1.0, schema), 0, "1 is the top of bucket 0");
            assert_eq!(bucket_index(1.000_000_1, schema), 1);
            assert_eq!(bucket_index(0.999_999, schema), 0);
            // Powers of 2^(2^-schema) are boundaries.
            let step = if schema < 0 { 1 << -schema } else { 1 };
            for exp in [-20, -3, 1, 5, 40] {
                let v = (2.0f64).powi(exp * step);
                let i = bucket_index(v, schema);
                assert!(
                    upper_bound(i, schema) >= v * (1.0 - 1e-12),
                    "{v} at {schema}"
                );
                assert!(upper_bound(i - 1, schema) < v, "{v} at {schema}");
                assert_eq!(bucket_index(v * 1.000_000_001, schema), i + 1);
            }
        }
    }

    #[test]
    fn indices_match_the_definition_for_many_values() {
        let mut v = 1e-9;
        while v < 1e9 {
            for schema in MIN_SCHEMA..=MAX_SCHEMA {
                let i = bucket_index(v, schema);
                let (lo, hi) = (upper_bound(i - 1, schema), upper_bound(i, schema));
                assert!(
                    lo < v * (1.0 + 1e-12) && v <= hi * (1.0 + 1e-12),
                    "{v} {schema}"
                );
            }
            v *= 1.37;
        }
    }

    #[test]
    fn extremes() {
        assert_eq!(bucket_index(f64::MAX, 0), 1024);
        assert_eq!(bucket_index(f64::INFINITY, 0), 1025);
        assert_eq!(
            bucket_index(f64::INFINITY, 3),
            bucket_index(f64::MAX, 3) + 1
        );
        // The smallest subnormal is 2^-1074.
        assert_eq!(bucket_index(f64::from_bits(1), 0), -1074);
        assert_eq!(bucket_index(f64::MIN_POSITIVE, 0), -1022);
    }

    #[test]
    fn coarsening_merges_pairs_like_prometheus() {
        for schema in (MIN_SCHEMA + 1)..=MAX_SCHEMA {
            let mut v = 1e-6;
            while v < 1e6 {
                let fine = bucket_index(v, schema);
                assert_eq!(
                    coarsen(fine, 1),
                    bucket_index(v, schema - 1),
                    "{v} {schema}"
                );
                v *= 1.61;
            }
        }
        assert_eq!((coarsen(-3, 1), coarsen(-2, 1), coarsen(1, 1)), (-1, -1, 1));
        assert_eq!(coarsen(5, 0), 5);
    }
}
