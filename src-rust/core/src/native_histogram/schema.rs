//! Exponential bucket schemas: which schema a bucket factor picks, which bucket a value
//! falls into, and how bucket indices map to a coarser schema.
//!
//! At schema `s` the bucket with index `i` holds the magnitudes in
//! `(2^((i-1)/2^s), 2^(i/2^s)]`, so 1 is always a boundary and every power of two is
//! split into `2^s` buckets (for `s <= 0`, one bucket spans `2^-s` powers of two). These
//! are the Prometheus native histogram definitions; the index computation follows
//! client_golang (`math.Frexp` and client_golang's own table of boundaries, see
//! `bounds`), so that every value lands in the same bucket as it does in Go.

use std::sync::OnceLock;

use super::bounds::SCHEMA_8;

/// The finest schema Prometheus accepts.
pub const MAX_SCHEMA: i32 = 8;
/// The coarsest schema Prometheus accepts.
pub const MIN_SCHEMA: i32 = -4;

/// The schema client_golang's `pickSchema` picks for `factor`:
/// `-floor(log2(log2(factor)))` in floating point, capped at [`MAX_SCHEMA`] and
/// [`MIN_SCHEMA`]; about the coarsest schema whose growth factor `2^(2^-schema)` is at
/// most `factor`, so that no bucket is wider than the factor allows. `None` for a factor
/// that is not above 1. The logarithms are computed as Go computes them (see
/// [`go_log2`]), because a factor within an ulp of a growth factor (`2 ** 0.25`, say)
/// picks by how they round.
#[must_use]
pub fn pick_schema(factor: f64) -> Option<i32> {
    if factor.is_nan() || factor <= 1.0 {
        return None;
    }
    let floor = go_log2(go_log2(factor)).floor();
    Some(if floor <= -f64::from(MAX_SCHEMA) {
        MAX_SCHEMA
    } else if floor >= -f64::from(MIN_SCHEMA) {
        MIN_SCHEMA
    } else {
        // Within (-8, 4) here, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let floor = floor as i32;
        -floor
    })
}

/// Go's `math.Log2`: exact for powers of two, otherwise the natural logarithm of the
/// fraction scaled, plus the exponent. (`f64::log2` rounds differently.)
fn go_log2(x: f64) -> f64 {
    if x.is_infinite() {
        return x;
    }
    if x <= 0.0 {
        return if x == 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::NAN
        };
    }
    let (frac, exp) = frexp(x);
    #[allow(clippy::float_cmp)]
    if frac == 0.5 {
        return f64::from(exp - 1);
    }
    frac.ln() * (1.0 / std::f64::consts::LN_2) + f64::from(exp)
}

/// The growth factor from one bucket to the next at `schema`: `2^(2^-schema)`, exact for
/// `schema <= 0` and the boundary table's own value above.
#[must_use]
pub fn growth_factor(schema: i32) -> f64 {
    if schema <= 0 {
        pow2(1 << -schema)
    } else {
        2.0 * boundaries(schema).bounds[1]
    }
}

/// `2^exp`, exactly, for an exponent in the normal range.
fn pow2(exp: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&exp));
    f64::from_bits(((exp + 1023) as u64) << 52)
}

/// `(frac, exp)` with `value = frac * 2^exp` and `frac` in `[0.5, 1)`, for a finite
/// positive `value` (Go's `math.Frexp`).
#[inline]
fn frexp(value: f64) -> (f64, i32) {
    let bits = value.to_bits();
    let exponent_bits = ((bits >> 52) & 0x7ff) as i32;
    if exponent_bits == 0 {
        return frexp_subnormal(value);
    }
    let frac = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (frac, exponent_bits - 1022)
}

/// A subnormal value: scaled into the normal range first.
#[cold]
fn frexp_subnormal(value: f64) -> (f64, i32) {
    let (frac, exp) = frexp(value * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
    (frac, exp - 64)
}

/// Mantissa bits that pick a cell of [`Boundaries::first_at`]. A cell spans a relative
/// width of 2^-13 of `frac`, narrower than the 2^(1/256) between two boundaries of the
/// finest schema, so a cell holds at most one boundary.
const CELL_BITS: u32 = 12;

/// The boundaries of one positive schema within a power of two, and a table that finds
/// a fraction's bucket with one comparison instead of a binary search.
struct Boundaries {
    /// The `2^s` fractions `2^(j/2^s - 1)`, in `[0.5, 1)`, as client_golang's
    /// `nativeHistogramBounds` has them.
    bounds: Vec<f64>,
    /// For each cell of fractions (the top [`CELL_BITS`] bits of the mantissa), how many
    /// boundaries lie below the cell's lowest fraction.
    first_at: Vec<u16>,
}

impl Boundaries {
    fn new(schema: i32) -> Self {
        let stride = 1 << (MAX_SCHEMA - schema);
        let bounds: Vec<f64> = SCHEMA_8
            .iter()
            .step_by(stride)
            .map(|&bits| f64::from_bits(bits))
            .collect();
        let first_at = (0..1u32 << CELL_BITS)
            .map(|cell| {
                let lowest = 0.5 * (1.0 + f64::from(cell) / f64::from(1u32 << CELL_BITS));
                bounds.partition_point(|&b| b < lowest) as u16
            })
            .collect();
        Boundaries { bounds, first_at }
    }

    /// How many boundaries lie below `frac` (Go's `sort.SearchFloat64s`): the cell's
    /// count, plus one when the cell's boundary is below `frac` too.
    #[inline]
    fn position(&self, frac: f64) -> usize {
        let cell = ((frac.to_bits() >> (52 - CELL_BITS)) & ((1 << CELL_BITS) - 1)) as usize;
        let first = usize::from(self.first_at[cell]);
        first + usize::from(self.bounds.get(first).is_some_and(|&b| b < frac))
    }
}

static TABLES: [OnceLock<Boundaries>; MAX_SCHEMA as usize] =
    [const { OnceLock::new() }; MAX_SCHEMA as usize];

/// The boundaries of a positive schema, built on first use.
#[inline]
fn boundaries(schema: i32) -> &'static Boundaries {
    let slot = &TABLES[(schema - 1) as usize];
    match slot.get() {
        Some(table) => table,
        None => build_boundaries(slot, schema),
    }
}

#[cold]
#[inline(never)]
fn build_boundaries(slot: &'static OnceLock<Boundaries>, schema: i32) -> &'static Boundaries {
    // Built inside a fork gate section, so a fork never copies the once-lock in the
    // middle of its initialisation.
    let _section = crate::sync::enter();
    slot.get_or_init(|| Boundaries::new(schema))
}

/// Bucket indices at one schema, with its boundary table looked up once (for loops
/// over many values).
#[derive(Clone, Copy)]
pub struct Indexer {
    schema: i32,
    table: Option<&'static Boundaries>,
}

impl Indexer {
    #[must_use]
    pub fn new(schema: i32) -> Self {
        Indexer {
            schema,
            table: (schema > 0).then(|| boundaries(schema)),
        }
    }

    /// See [`bucket_index`].
    #[inline]
    #[must_use]
    pub fn index(self, magnitude: f64) -> i32 {
        let (value, beyond) = if magnitude.is_infinite() {
            (f64::MAX, 1)
        } else {
            (magnitude, 0)
        };
        let (frac, exp) = frexp(value);
        let index = if let Some(table) = self.table {
            // A table has at most 256 entries, so the casts are exact.
            #[allow(clippy::cast_possible_wrap)]
            let (within, per_power) = (table.position(frac) as i32, table.bounds.len() as i32);
            within + (exp - 1) * per_power
        } else {
            // frexp gives exactly 0.5 for a power of two, which tops the bucket below.
            #[allow(clippy::float_cmp)]
            let key = if frac == 0.5 { exp - 1 } else { exp };
            let offset = (1 << -self.schema) - 1;
            (key + offset) >> -self.schema
        };
        index + beyond
    }
}

/// The index of the bucket that holds the magnitude `magnitude` (positive, or `+Inf`)
/// at `schema`. `+Inf` goes one bucket above the largest finite value, as in Go.
#[inline]
#[must_use]
pub fn bucket_index(magnitude: f64, schema: i32) -> i32 {
    Indexer::new(schema).index(magnitude)
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

/// `frac * 2^exp`, correctly rounded (Go's `math.Ldexp`), for `frac` in `[0.5, 1]`:
/// infinity past the largest float, subnormal or zero below the smallest normal one.
fn ldexp(frac: f64, exp: i32) -> f64 {
    if (-1022..=1023).contains(&exp) {
        frac * pow2(exp)
    } else if exp > 1023 {
        if exp - 1 > 1023 {
            f64::INFINITY
        } else {
            (frac * 2.0) * pow2(exp - 1)
        }
    } else if exp + 1074 < -1022 {
        0.0
    } else {
        // One rounding: an exact normal product, then scaled by the smallest subnormal.
        frac * pow2(exp + 1074) * f64::from_bits(1)
    }
}

/// The upper boundary of bucket `index` at `schema` (client_golang's `getLe`): the
/// boundary table's value within its power of two, scaled exactly; the bucket above
/// the largest float ends at the largest float, the one above it (where infinities
/// go) at `+Inf`.
#[must_use]
pub fn upper_bound(index: i32, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = index << -schema;
        return if exp == 1024 {
            f64::MAX
        } else {
            ldexp(1.0, exp)
        };
    }
    let per_power = 1 << schema;
    let (power, within) = (index.div_euclid(per_power), index.rem_euclid(per_power));
    let (frac, exp) = (boundaries(schema).bounds[within as usize], power + 1);
    // Bucket 0 of a power of two starts at exactly one half.
    if within == 0 && exp == 1025 {
        f64::MAX
    } else {
        ldexp(frac, exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds_cover_the_whole_float_range() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for v in [
                f64::from_bits(1),
                1e-310,
                f64::MIN_POSITIVE,
                1.0,
                1e300,
                f64::MAX,
            ] {
                let i = bucket_index(v, schema);
                let (lo, hi) = (upper_bound(i - 1, schema), upper_bound(i, schema));
                // Between subnormals a finer schema's bounds round onto the neighbours.
                let exact = v >= f64::MIN_POSITIVE || schema <= 0;
                assert!(
                    (lo < v || (!exact && lo == v)) && v <= hi,
                    "{v} at {schema}: ({lo}, {hi}]"
                );
            }
            let top = bucket_index(f64::MAX, schema);
            assert_eq!(upper_bound(top, schema), f64::MAX, "{schema}");
            assert_eq!(upper_bound(top + 1, schema), f64::INFINITY, "{schema}");
        }
        assert_eq!(upper_bound(-1074, 0), f64::from_bits(1));
        assert_eq!(upper_bound(-1075, 0), 0.0);
    }

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
            assert!(schema == MIN_SCHEMA || growth_factor(schema - 1) > factor);
        }
        // On the growth factors themselves (Go: -floor(log2(log2(f))) of the same floats),
        // which depend on how the logarithm rounds (not under Miri, whose logarithms err
        // on purpose).
        if !cfg!(miri) {
            assert_eq!(pick_schema(std::f64::consts::SQRT_2), Some(1));
        }
        assert_eq!(pick_schema(2.0), Some(0));
        assert_eq!(pick_schema(1.999_999), Some(1));
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
                let v = pow2(exp * step);
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
        let growth = if cfg!(miri) { 7.3 } else { 1.37 };
        while v < 1e9 {
            for schema in MIN_SCHEMA..=MAX_SCHEMA {
                let i = bucket_index(v, schema);
                let (lo, hi) = (upper_bound(i - 1, schema), upper_bound(i, schema));
                assert!(
                    lo < v * (1.0 + 1e-12) && v <= hi * (1.0 + 1e-12),
                    "{v} {schema}"
                );
            }
            v *= growth;
        }
    }

    #[test]
    fn the_cell_table_agrees_with_a_binary_search() {
        for schema in 1..=MAX_SCHEMA {
            let table = boundaries(schema);
            let check = |frac: f64| {
                let search = table.bounds.partition_point(|&b| b < frac);
                assert_eq!(table.position(frac), search, "{frac} at {schema}");
            };
            for &b in &table.bounds {
                // On, just below and just above every boundary.
                check(b);
                check(f64::from_bits(b.to_bits() + 1));
                if b > 0.5 {
                    check(f64::from_bits(b.to_bits() - 1));
                }
            }
            // Miri interprets every instruction: a coarser sweep there.
            let step = if cfg!(miri) { 0.003_7 } else { 0.000_037 };
            let mut frac = 0.5;
            while frac < 1.0 {
                check(frac);
                frac += step;
            }
            check(f64::from_bits(1.0f64.to_bits() - 1));
        }
    }

    #[test]
    fn coarser_boundaries_are_exactly_among_finer_ones() {
        for schema in 2..=MAX_SCHEMA {
            let (fine, coarse) = (&boundaries(schema).bounds, &boundaries(schema - 1).bounds);
            for (j, &b) in coarse.iter().enumerate() {
                assert_eq!(fine[2 * j].to_bits(), b.to_bits(), "{j} at {schema}");
            }
        }
        // client_golang's literal for 2^(-1/2), one ulp below the correctly rounded one.
        assert_eq!(boundaries(1).bounds, vec![0.5, 0.707_106_781_186_547_5]);
        // client_golang's table is within four ulps of the exact values (not checked
        // under Miri, whose exp2 errs on purpose).
        for schema in (1..=MAX_SCHEMA).filter(|_| !cfg!(miri)) {
            let n = f64::from(1u32 << schema);
            for (j, &b) in boundaries(schema).bounds.iter().enumerate() {
                let exact = (j as f64 / n - 1.0).exp2();
                assert!(
                    (b - exact).abs() <= 4.0 * f64::EPSILON * exact,
                    "{j} at {schema}"
                );
            }
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
