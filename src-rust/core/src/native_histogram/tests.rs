use super::*;
use schema::{bucket_index, upper_bound};

fn native(factor: f64, max_buckets: usize, min_reset: f64) -> NativeHistogram {
    let config = NativeConfig::new(factor, DEFAULT_ZERO_THRESHOLD, max_buckets, min_reset).unwrap();
    NativeHistogram::new(config, 4)
}

/// The zero count and the positive and negative `(index, count)` buckets.
type Expected = (u64, Vec<(i32, u64)>, Vec<(i32, u64)>);

/// Every value's bucket at the snapshot's schema, counted.
fn expected(values: &[f64], schema: i32, threshold: f64) -> Expected {
    let (mut zero, mut pos, mut neg) = (0, Vec::new(), Vec::new());
    for &v in values {
        if v.abs() <= threshold {
            zero += 1;
            continue;
        }
        let side: &mut Vec<(i32, u64)> = if v > 0.0 { &mut pos } else { &mut neg };
        side.push((bucket_index(v.abs(), schema), 1));
    }
    let merge = |mut side: Vec<(i32, u64)>| {
        side.sort_unstable();
        let mut out: Vec<(i32, u64)> = Vec::new();
        for (i, n) in side {
            match out.last_mut() {
                Some((j, m)) if *j == i => *m += n,
                _ => out.push((i, n)),
            }
        }
        out
    };
    (zero, merge(pos), merge(neg))
}

#[test]
fn settings_are_validated() {
    assert!(NativeConfig::new(1.0, 0.0, 0, 0.0).is_err());
    assert!(NativeConfig::new(1.1, -1.0, 0, 0.0).is_err());
    assert!(NativeConfig::new(1.1, f64::NAN, 0, 0.0).is_err());
    assert!(NativeConfig::new(1.1, 0.0, 0, -1.0).is_err());
    assert_eq!(NativeConfig::new(1.1, 0.0, 160, 0.0).unwrap().schema, 3);
}

#[test]
fn values_land_in_their_buckets_and_the_zero_bucket() {
    let h = native(1.1, 0, 0.0);
    let values = [
        0.0,
        1.0,
        1.05,
        1.1,
        2.0,
        -0.5,
        -0.5,
        1e-40,
        3.5e6,
        f64::INFINITY,
    ];
    for v in values {
        assert!(!h.observe(v));
    }
    let s = h.snapshot();
    assert_eq!(s.schema, 3);
    let (zero, pos, neg) = expected(&values, 3, DEFAULT_ZERO_THRESHOLD);
    assert_eq!((s.zero_count, &s.positive, &s.negative), (zero, &pos, &neg));
    assert_eq!(s.zero_count, 2, "0 and 1e-40 are within 2^-128");
    assert_eq!(s.count(), values.len() as u64);
    assert_eq!(s.positive[0], (0, 1), "1.0 tops bucket 0");
    assert_eq!(s.positive.last().unwrap().0, bucket_index(f64::MAX, 3) + 1);
}

#[test]
fn the_bucket_limit_widens_the_zero_bucket_before_lowering_the_resolution() {
    // Schema 0: bucket i is (2^(i-1), 2^i]. Three buckets allowed, the zero bucket may
    // widen to 1.
    let config = NativeConfig::new(2.0, 0.0, 3, 0.0)
        .unwrap()
        .with_max_zero_threshold(1.0)
        .unwrap();
    let h = NativeHistogram::new(config, 4);
    for v in [0.2, 0.3, -0.6, 3.0] {
        h.observe(v);
    }
    // 0.2 and 0.3 are bucket -2 (0.125, 0.25] and -1 (0.25, 0.5]; -0.6 is negative
    // bucket 0 (0.5, 1]; 3.0 is bucket 2. Four buckets: the closest to zero, -2,
    // goes into a zero bucket widened to 0.25.
    let s = h.snapshot();
    assert_eq!((s.schema, s.zero_threshold, s.zero_count), (0, 0.25, 1));
    assert_eq!(s.positive, [(-1, 1), (2, 1)]);
    assert_eq!(s.negative, [(0, 1)]);
    // 0.1 now counts in the zero bucket; 5.0 (bucket 3) widens it again, to 0.5.
    h.observe(0.1);
    h.observe(5.0);
    let s = h.snapshot();
    assert_eq!((s.schema, s.zero_threshold, s.zero_count), (0, 0.5, 3));
    assert_eq!(s.positive, [(2, 1), (3, 1)]);
    // Widening to 1.0 takes in both sides' bucket 0; beyond that the resolution
    // halves instead.
    h.observe(0.7);
    h.observe(9.0);
    let s = h.snapshot();
    assert_eq!((s.zero_threshold, s.zero_count), (1.0, 5));
    assert!(s.negative.is_empty());
    h.observe(20.0);
    h.observe(50.0);
    let s = h.snapshot();
    assert_eq!(s.zero_threshold, 1.0, "no wider than the maximum");
    assert!(s.schema < 0, "the resolution halved instead");
    assert_eq!(s.count(), 10);
}

#[test]
fn a_zero_bucket_that_keeps_widening_loses_no_count() {
    // Every new bucket lies above all others, so each one widens the zero bucket: 3,000
    // widenings (60 under Miri), far more than a table of the limit's size has room
    // for.
    let config = NativeConfig::new(1.1, DEFAULT_ZERO_THRESHOLD, 10, 0.0)
        .unwrap()
        .with_max_zero_threshold(f64::MAX)
        .unwrap();
    let h = NativeHistogram::new(config, 2);
    let n: u64 = if cfg!(miri) { 60 } else { 3_000 };
    for i in 0..n {
        // From 1e-30 (above the zero bucket) to 1e94.
        let v = 1.1f64.powi(i32::try_from(i).unwrap()) * 1e-30;
        assert!(!h.observe(v), "never a reset");
    }
    let s = h.snapshot();
    assert_eq!(s.schema, 3, "widened every time, never halved");
    assert_eq!(s.count(), n);
    assert_eq!(s.positive.len(), 10);
    assert_eq!(s.zero_count, n - 10);
    assert!(s.zero_threshold > 1.1f64.powi(i32::try_from(n).unwrap() - 12) * 1e-30);
}

#[test]
fn a_reset_narrows_a_widened_zero_bucket_again() {
    let pause = 0.5;
    let config = NativeConfig::new(2.0, 0.0, 1, pause)
        .unwrap()
        .with_max_zero_threshold(1.0)
        .unwrap();
    let h = NativeHistogram::new(config, 1);
    h.observe(0.3);
    assert!(
        !h.observe(0.6),
        "within the reset interval: widened, not reset"
    );
    assert_eq!(h.snapshot().zero_threshold, 0.5);
    std::thread::sleep(std::time::Duration::from_secs_f64(pause * 1.2));
    assert!(
        h.observe(3.0),
        "past the limit, with the reset interval passed"
    );
    let s = h.snapshot();
    assert_eq!((s.zero_threshold, s.zero_count), (0.0, 0));
    assert_eq!(
        s.positive,
        [(2, 1)],
        "the observation that broke the limit is kept"
    );
    assert!(NativeConfig::new(2.0, 0.0, 1, 0.0)
        .unwrap()
        .with_max_zero_threshold(f64::NAN)
        .is_err());
}

#[test]
fn the_bucket_limit_lowers_the_resolution_and_keeps_every_count() {
    let h = native(1.005, 10, 0.0);
    assert_eq!(h.config().schema, 8);
    let values: Vec<f64> = (0..200).map(|i| 0.001 * 1.07f64.powi(i)).collect();
    h.observe_many(&values[..]);
    let s = h.snapshot();
    assert!(s.schema < 8, "the resolution was lowered");
    let buckets = s.positive.len();
    assert!(buckets <= 10, "{buckets} buckets at schema {}", s.schema);
    assert_eq!(s.count(), 200);
    // Merged at the final schema, the counts are what bucketing there gives.
    let (_, pos, _) = expected(&values, s.schema, DEFAULT_ZERO_THRESHOLD);
    assert_eq!(s.positive, pos);
    // Each bucket's range contains its values.
    for &(i, _) in &s.positive {
        assert!(upper_bound(i, s.schema) > upper_bound(i - 1, s.schema));
    }
}

#[test]
fn a_limit_breach_after_the_reset_duration_resets() {
    let h = native(1.1, 4, 1e-9);
    std::thread::sleep(std::time::Duration::from_millis(1));
    let mut resets = 0;
    for i in 0..5 {
        if h.observe(f64::from(1 << (2 * i))) {
            resets += 1;
        }
    }
    assert_eq!(resets, 1, "the fifth bucket breaks the limit");
    let s = h.snapshot();
    assert_eq!(s.schema, 3, "a reset keeps the resolution");
    assert_eq!(
        s.count(),
        1,
        "only the observation that broke the limit is kept"
    );
    assert_eq!(s.positive, vec![(bucket_index(256.0, 3), 1)]);
}

#[test]
fn a_breach_before_the_reset_duration_coarsens_and_schedules_a_reset() {
    // Long enough that the breaches come first, also under Miri's slow interpretation.
    let pause = if cfg!(miri) { 2.0 } else { 0.05 };
    let h = native(1.1, 4, pause);
    for i in 0..6 {
        assert!(!h.observe(f64::from(1 << (2 * i))));
    }
    assert!(h.snapshot().schema < 3);
    assert_eq!(h.snapshot().count(), 6);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !h.reset_if_due() {
        assert!(
            std::time::Instant::now() < deadline,
            "the reset never came due"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let s = h.snapshot();
    assert_eq!((s.schema, s.count()), (3, 0));
    assert!(!h.reset_if_due(), "one reset per schedule");
}

#[test]
fn without_a_limit_tables_grow_and_the_schema_stays() {
    let h = native(1.1, 0, 0.0);
    let values: Vec<f64> = (0..1000).map(|i| 1.0 + f64::from(i) * 0.5).collect();
    h.observe_many(&values[..]);
    let s = h.snapshot();
    assert_eq!(s.schema, 3);
    let (_, pos, _) = expected(&values, 3, DEFAULT_ZERO_THRESHOLD);
    assert_eq!(s.positive, pos);
    assert!(pos.len() > 60);
}

#[test]
fn a_zero_threshold_of_zero_keeps_only_zero_in_the_zero_bucket() {
    let config = NativeConfig::new(2.0, 0.0, 0, 0.0).unwrap();
    let h = NativeHistogram::new(config, 1);
    for v in [0.0, -0.0, 1e-300] {
        h.observe(v);
    }
    let s = h.snapshot();
    assert_eq!((s.zero_count, s.positive.len()), (2, 1));
}

#[test]
fn concurrent_writers_and_scrapes_stay_consistent_through_coarsening() {
    let h = native(1.005, 20, 0.0);
    let rounds = crate::test_rounds(20_000);
    let total = 4 * u64::from(rounds);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let h = &h;
            s.spawn(move || {
                for i in 0..rounds {
                    let v = 1e-3 * 1.01f64.powi(i32::try_from((i * 7 + t * 13) % 1500).unwrap());
                    h.observe(if i % 5 == 0 { -v } else { v });
                }
            });
        }
        s.spawn(|| {
            let mut last = 0;
            while last < total {
                let snap = h.snapshot();
                assert!(snap.count() >= last, "counts never go back");
                assert!(snap.positive.windows(2).all(|w| w[0].0 < w[1].0));
                last = snap.count();
            }
        });
    });
    let s = h.snapshot();
    assert_eq!(s.count(), total);
    assert!(s.schema < 8);
}

mod beside_classic {
    use std::sync::Arc;

    use super::*;
    use crate::buckets::BucketLayout;
    use crate::histogram::HistogramCore;

    fn config(max_buckets: usize, min_reset: f64) -> NativeConfig {
        NativeConfig::new(1.1, DEFAULT_ZERO_THRESHOLD, max_buckets, min_reset).unwrap()
    }

    #[test]
    fn native_only_histograms_keep_one_inf_bucket_and_the_sum() {
        let h = HistogramCore::with_native(Arc::new(BucketLayout::native_only()), config(0, 0.0));
        h.observe(0.5).unwrap();
        h.observe_many(&[1.5, 2.5, -1.0][..]).unwrap();
        assert!(h.observe(f64::NAN).is_err());
        assert!(
            h.observe_many(&[1.0, f64::NAN][..]).is_err(),
            "all or nothing"
        );
        let classic = h.snapshot();
        assert_eq!((classic.cumulative.clone(), classic.sum), (vec![4], 3.5));
        let native = h.native().unwrap().snapshot();
        assert_eq!(native.count(), 4);
        assert_eq!(native.negative, vec![(0, 1)]);
    }

    #[test]
    fn classic_and_native_count_the_same_observations() {
        let layout = Arc::new(BucketLayout::new(&[0.1, 1.0, 10.0]).unwrap());
        let h = HistogramCore::with_native(layout, config(160, 0.0));
        let values: Vec<f64> = (1..=500).map(|i| f64::from(i) * 0.037).collect();
        h.observe_many(&values[..]).unwrap();
        for &v in &values[..50] {
            h.observe(v).unwrap();
        }
        assert_eq!(h.snapshot().count(), 550);
        assert_eq!(h.native().unwrap().snapshot().count(), 550);
    }

    #[test]
    fn a_native_reset_resets_the_classic_buckets_too() {
        let layout = Arc::new(BucketLayout::new(&[1.0]).unwrap());
        let h = HistogramCore::with_native(layout, config(2, 1e-9));
        std::thread::sleep(std::time::Duration::from_millis(1));
        for v in [1.0, 4.0, 16.0] {
            h.observe(v).unwrap();
        }
        let classic = h.snapshot();
        assert_eq!(
            (classic.count(), classic.sum),
            (1, 16.0),
            "the breaking value is kept"
        );
        assert_eq!(h.native().unwrap().snapshot().count(), 1);
    }
}

#[test]
fn bulk_writers_through_coarsening_lose_nothing() {
    let h = native(1.005, 30, 0.0);
    let per_thread = crate::test_rounds(20_000) as usize;
    std::thread::scope(|s| {
        for t in 0..3 {
            let h = &h;
            s.spawn(move || {
                let values: Vec<f64> = (0..per_thread)
                    .map(|i| 1e-4 * 1.003f64.powi(i32::try_from((i * 31 + t) % 5000).unwrap()))
                    .collect();
                for chunk in values.chunks(1000) {
                    h.observe_many(chunk);
                }
            });
        }
    });
    let s = h.snapshot();
    assert_eq!(s.count(), 3 * per_thread as u64);
    assert!(s.positive.len() <= 30 + 3, "{} buckets", s.positive.len());
}
