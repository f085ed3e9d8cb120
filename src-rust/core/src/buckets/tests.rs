//! Every bucketing path (scalar; counted, linear and search bulk kernels; portable and
//! AVX2 builds) against a binary search, on layouts chosen to break shortcuts.

use super::bulk::Kernel;
use super::*;

fn reference_index(bounds: &[f64], v: f64) -> usize {
    bounds.iter().position(|&b| v <= b).unwrap()
}

fn quality_layout() -> BucketLayout {
    BucketLayout::new(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]).unwrap()
}

/// A small deterministic generator (no dependency, same values on every run).
struct Lcg(u64);

impl Lcg {
    fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Bounds, their float neighbours, points between them and beyond them.
fn probes(layout: &BucketLayout, random: usize, seed: u64) -> Vec<f64> {
    let finite = &layout.bounds()[..layout.len() - 1];
    let mut values = vec![0.0, -0.0, f64::MIN_POSITIVE, -f64::MIN_POSITIVE, 5e-324];
    values.extend([f64::MAX, -f64::MAX, 1e300, -1e300]);
    for pair in finite.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        values.extend([a + (b - a) / 4.0, a + (b - a) / 2.0, a + (b - a) * 0.75]);
    }
    for &b in finite {
        let mut up = b;
        let mut down = b;
        for _ in 0..3 {
            values.extend([up, down]);
            up = up.next_up();
            down = down.next_down();
        }
    }
    let (lo, hi) = (finite[0], finite[finite.len() - 1]);
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let mut rng = Lcg(seed);
    for _ in 0..random {
        values.push(lo - span * 0.1 + rng.next_unit() * span * 1.2);
    }
    values
}

/// Every kernel that applies to `layout`, in every build of the bulk code on this CPU.
fn kernel_counts(layout: &BucketLayout, values: &[f64]) -> Vec<(String, Vec<u64>)> {
    let mut kernels = vec![Kernel::Counted, Kernel::Search];
    kernels.extend(layout.linear_kernel());
    let mut out = Vec::new();
    for kernel in kernels {
        let portable = layout.count_batch_portable(kernel, values).unwrap();
        out.push((format!("{kernel:?} portable"), portable.counts));
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            let avx2 = unsafe { layout.count_batch_avx2(kernel, values) }.unwrap();
            out.push((format!("{kernel:?} avx2"), avx2.counts));
        }
    }
    out.push((
        "count_batch".to_string(),
        layout.count_batch(values).unwrap().counts,
    ));
    out
}

/// Asserts that every path buckets every probe as the binary search does.
fn assert_all_paths_agree(name: &str, layout: &BucketLayout, random: usize) {
    let bounds = layout.bounds();
    let values = probes(layout, random, bounds.len() as u64);
    let mut expected = vec![0u64; layout.len()];
    for &v in &values {
        let reference = reference_index(bounds, v);
        assert_eq!(layout.search(v), reference, "{name}: search of {v:e}");
        assert_eq!(layout.index(v), reference, "{name}: scalar index of {v:e}");
        expected[reference] += 1;
    }
    for infinity in [f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(layout.index(infinity), reference_index(bounds, infinity));
    }
    for (kernel, counts) in kernel_counts(layout, &values) {
        assert_eq!(counts, expected, "{name}: {kernel}");
    }
}

/// Layouts that once fooled or could fool a shortcut: large offsets, tiny spacings,
/// subnormals, negative bounds, near-even spacing.
fn hostile_layouts() -> Vec<(String, Vec<f64>)> {
    let t = 1.7e9;
    let mut layouts = vec![
        (
            "large offset, nearly even".to_string(),
            vec![t, t + 0.1, t + 0.2, t + 1.0],
        ),
        (
            "large offset, even 0.1".to_string(),
            (0..12).map(|i| t + 0.1 * f64::from(i)).collect(),
        ),
        (
            "unix time, even 0.25".to_string(),
            (0..40).map(|i| t + 0.25 * f64::from(i)).collect(),
        ),
        (
            "consecutive floats".to_string(),
            (0..30)
                .scan(1.0f64, |b, _| {
                    let out = *b;
                    *b = b.next_up();
                    Some(out)
                })
                .collect(),
        ),
        (
            "subnormals".to_string(),
            (1..=30).map(|i| f64::from(i) * 5e-324).collect(),
        ),
        (
            "tiny spacing".to_string(),
            (0..30).map(|i| 1e-300 * f64::from(i)).collect(),
        ),
        (
            "negative".to_string(),
            (0..30).map(|i| -10.0 + 0.3 * f64::from(i)).collect(),
        ),
        (
            "all negative, huge".to_string(),
            (0..5).map(|i| -1e300 + 1e299 * f64::from(i)).collect(),
        ),
        ("around zero".to_string(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]),
        (
            "quality".to_string(),
            (1..=10).map(|i| f64::from(i) / 10.0).collect(),
        ),
        (
            "long quality".to_string(),
            (1..=50).map(|i| f64::from(i) * 0.02).collect(),
        ),
        (
            "default".to_string(),
            vec![
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
            ],
        ),
        (
            "squares".to_string(),
            (1..=40).map(|i| f64::from(i * i) / 1600.0).collect(),
        ),
        ("duplicates".to_string(), vec![1.0, 1.0, 2.0, 3.0, 3.0, 4.0]),
    ];
    // Evenly spaced bounds with one nudged by a few ulps, at several offsets.
    let mut rng = Lcg(42);
    for offset in [0.0, 1e3, 1e9, 1.7e9, -5e8] {
        for n in [4usize, 11, 30] {
            let width = 0.05 + rng.next_unit();
            let mut bounds: Vec<f64> = (0..n).map(|i| offset + width * i as f64).collect();
            let nudged = 1 + (rng.next_unit() * (n - 2) as f64) as usize;
            for _ in 0..=((rng.next_unit() * 4.0) as usize) {
                bounds[nudged] = bounds[nudged].next_up();
            }
            layouts.push((format!("nudged n={n} offset={offset:e}"), bounds));
        }
    }
    layouts
}

#[test]
fn next_up_steps_one_float() {
    for x in [
        -f64::MAX,
        -1.0,
        -5e-324,
        0.0,
        -0.0,
        5e-324,
        1.0,
        1.7e9,
        f64::NEG_INFINITY,
    ] {
        let up = next_up(x);
        assert!(up > x, "{x:e}");
        assert_eq!(up, x.next_up(), "{x:e}");
    }
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
    let long: Vec<f64> = (1..=50).map(|i| f64::from(i) * 0.02).collect();
    assert!(BucketLayout::new(&long).unwrap().is_linear());
}

#[test]
fn nearly_even_bounds_at_a_large_offset_are_not_linear() {
    let t = 1.7e9;
    let layout = BucketLayout::new(&[t, t + 0.1, t + 0.2, t + 1.0]).unwrap();
    assert!(!layout.is_linear());
    // T + 0.25 is above T + 0.2: it belongs in le = T + 1.
    assert_eq!(layout.index(t + 0.25), 3);
    let batch = layout.count_batch(&[t + 0.25]).unwrap();
    assert_eq!(batch.counts, vec![0, 0, 0, 1, 0]);
}

#[test]
fn every_path_agrees_with_binary_search_on_hostile_layouts() {
    let random = if cfg!(miri) { 8 } else { 3000 };
    for (name, bounds) in hostile_layouts() {
        let layout = BucketLayout::new(&bounds).unwrap();
        assert_all_paths_agree(&name, &layout, random);
    }
}

#[test]
fn batches_count_and_sum() {
    let layout = BucketLayout::new(&[1.0, 2.0, 3.0]).unwrap();
    let values = [0.5f64, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 100.0, -1.0];
    let batch = layout.count_batch(&values).unwrap();
    assert_eq!(batch.counts, vec![3, 2, 2, 2]);
    assert_eq!(batch.sum, values.iter().sum::<f64>());
    assert_eq!(batch.first_infinity, None);
    let floats = [0.5f32, 2.5];
    assert_eq!(
        layout.count_batch(&floats).unwrap().counts,
        vec![1, 0, 1, 0]
    );
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

#[test]
fn batches_saturate_to_one_infinity_and_refuse_the_other() {
    let layout = quality_layout();
    let mut values = vec![0.5; 2000];
    values[700] = f64::NEG_INFINITY;
    values[1500] = f64::NEG_INFINITY;
    let batch = layout.count_batch(&values).unwrap();
    assert_eq!(batch.sum, f64::NEG_INFINITY);
    assert_eq!(batch.first_infinity, Some((700, f64::NEG_INFINITY)));
    assert_eq!(batch.counts[0], 2);
    values[1900] = f64::INFINITY;
    assert_eq!(
        layout.count_batch(&values),
        Err(MetricError::OppositeInfinityInArray {
            index: 1900,
            value: f64::INFINITY
        })
    );
    // Finite values whose partial sums overflow apart still sum to a number.
    let big = [
        f64::MAX,
        -f64::MAX,
        f64::MAX,
        -f64::MAX,
        f64::MAX,
        -f64::MAX,
    ];
    let batch = layout.count_batch(&big).unwrap();
    assert_eq!(batch.sum, 0.0);
}
