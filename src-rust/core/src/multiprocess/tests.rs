//! Cell files written and merged for real, in temporary directories (not under Miri,
//! which cannot map files).

use std::path::PathBuf;
use std::sync::Arc;

use super::backend::{FamilyIdentity, SeriesIdentity};
use super::directory::{collect, AGGREGATE};
use super::format::FamilyMeta;
use super::merge::Value;
use super::writer::ProcessFile;
use super::{legacy, Kind};
use crate::buckets::BucketLayout;
use crate::{CounterCore, GaugeCore, HistogramCore};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vumeter-mp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn meta(name: &str, kind: &str, labels: &[&str], bounds: &[f64], mode: &str) -> FamilyMeta {
    FamilyMeta {
        name: name.into(),
        help: format!("{name} help"),
        kind: kind.into(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        bounds: bounds.iter().map(|b| b.to_bits()).collect(),
        mode: mode.into(),
        native: None,
    }
}

/// The process-wide backend, enabled once for every test in this binary.
fn enabled_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("backend");
        super::enable(&dir).unwrap();
        dir.canonicalize().unwrap()
    })
    .clone()
}

#[test]
fn placed_metrics_scrape_from_their_file() {
    let dir = enabled_dir();
    let counters = FamilyIdentity::new(meta("t_jobs", "counter", &["zone", "app"], &[], ""));
    let counter = CounterCore::placed(Some(SeriesIdentity::new(
        Arc::clone(&counters),
        &["eu".into(), "x".into()],
    )));
    let idle = CounterCore::placed(Some(SeriesIdentity::new(
        Arc::clone(&counters),
        &["us".into(), "y".into()],
    )));
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    counter.inc(1.0).unwrap();
                }
            });
        }
    });
    let layout = Arc::new(BucketLayout::new(&[0.5, 1.0]).unwrap());
    let bounds: Vec<f64> = layout.bounds().to_vec();
    let hist = HistogramCore::placed(
        Arc::clone(&layout),
        None,
        Some(SeriesIdentity::new(
            FamilyIdentity::new(meta("t_lat", "histogram", &[], &bounds, "")),
            &[],
        )),
    );
    hist.observe(0.25).unwrap();
    hist.observe(3.0).unwrap();
    let gauge = GaugeCore::placed(
        Some(SeriesIdentity::new(
            FamilyIdentity::new(meta("t_depth", "gauge", &[], &[], "max")),
            &[],
        )),
        false,
    );
    gauge.set(7.5);

    let merged = collect(&dir).unwrap().merged;
    let jobs = &merged.families["t_jobs"];
    assert_eq!(jobs.labels, ["app", "zone"], "label names are sorted");
    assert_eq!(
        jobs.series[&vec!["x".to_owned(), "eu".to_owned()]],
        Value::Counter(4000.0)
    );
    assert_eq!(
        jobs.series[&vec!["y".to_owned(), "us".to_owned()]],
        Value::Counter(0.0),
        "a series never written still scrapes"
    );
    let Value::Histogram { buckets, sum, .. } = &merged.families["t_lat"].series[&Vec::new()]
    else {
        panic!("a histogram")
    };
    assert_eq!(buckets, &[(0.5, 1.0), (1.0, 0.0), (f64::INFINITY, 1.0)]);
    assert_eq!(*sum, 3.25);
    assert!(matches!(
        merged.families["t_depth"].series[&Vec::new()],
        Value::Gauge { value, .. } if value == 7.5
    ));
    drop(counter);
    let merged = collect(&dir).unwrap().merged;
    assert_eq!(
        merged.families["t_jobs"].series.len(),
        2,
        "a dropped series still counts"
    );
    super::Retire::retire(&idle);
    let merged = collect(&dir).unwrap().merged;
    assert_eq!(
        merged.families["t_jobs"].series.len(),
        1,
        "a retired series is gone"
    );
}

#[test]
fn placed_native_buckets_merge_as_the_histogram_reads_them() {
    use crate::native_histogram::NativeConfig;
    let dir = enabled_dir();
    // A low bucket limit: the resolution is lowered while recording, so the merge
    // meets generations at two or more schemas.
    let config = NativeConfig::new(1.05, 1e-3, 12, 0.0).unwrap();
    let layout = Arc::new(BucketLayout::native_only());
    let mut family = meta("t_native", "histogram", &[], layout.bounds(), "");
    family.native = Some(super::format::NativeMeta {
        schema: config.schema,
        zero_threshold: config.zero_threshold.to_bits(),
    });
    let hist = HistogramCore::placed(
        Arc::clone(&layout),
        Some(config),
        Some(SeriesIdentity::new(FamilyIdentity::new(family), &[])),
    );
    std::thread::scope(|s| {
        for t in 0..3 {
            let hist = &hist;
            s.spawn(move || {
                for i in 0..2000 {
                    let v = f64::from(i % 97 + t) * 0.013 - 0.2;
                    hist.observe(v).unwrap();
                }
            });
        }
    });
    hist.observe_many(&[0.0, 1e-4, 5.0, -7.5][..]).unwrap();
    let own = hist.native().unwrap().snapshot();
    assert!(
        own.schema < config.schema,
        "the bucket limit lowered the resolution"
    );
    let merged = collect(&dir).unwrap().merged;
    let Value::Histogram {
        buckets, native, ..
    } = &merged.families["t_native"].series[&Vec::new()]
    else {
        panic!("a histogram")
    };
    let native = native.as_deref().expect("native buckets");
    assert_eq!(native, &own);
    assert_eq!(native.count(), 6004);
    assert_eq!(buckets, &[(f64::INFINITY, 6004.0)]);
    // The aggregate's form keeps them.
    let stored = serde_json::to_vec(&super::merge::Stored::from(&merged)).unwrap();
    let back: super::Merged = serde_json::from_slice::<super::merge::Stored>(&stored)
        .unwrap()
        .into();
    assert_eq!(back.families["t_native"], merged.families["t_native"]);
}

#[test]
fn dead_processes_fold_into_the_aggregate() {
    let dir = temp_dir("fold");
    let family = meta("t_done", "counter", &["k"], &[], "");
    let live_gauge = meta("t_live", "gauge", &[], &[], "livesum");
    for pid in [11_u32, 12] {
        let mut file = ProcessFile::create(&dir, pid, 1).unwrap();
        let json = serde_json::to_vec(&family).unwrap();
        file.append(super::format::FAMILY, &[0; 8], &json, 0)
            .unwrap();
        let json = serde_json::to_vec(&live_gauge).unwrap();
        let mut head = [0u8; 8];
        head[0] = 1;
        file.append(super::format::FAMILY, &head, &json, 0).unwrap();
        file.append(super::format::SERIES, &[0; 8], br#"["a"]"#, 0)
            .unwrap();
        let mut head = [0u8; 8];
        head[0] = 1;
        head[4] = 1;
        file.append(super::format::SERIES, &head, b"[]", 0).unwrap();
        let cells = file.append(super::format::CELLS, &[0; 8], &[], 1).unwrap();
        // SAFETY: one cell just placed in the file, which stays mapped (leaked) below.
        unsafe { &*cells }.store(
            f64::from(pid).to_bits(),
            std::sync::atomic::Ordering::Relaxed,
        );
        // Dropping the file closes it: its lock goes, as when a process dies.
        drop(file);
    }
    let collected = collect(&dir).unwrap();
    assert_eq!(collected.folded, 2);
    assert!(collected.problems.is_empty(), "{:?}", collected.problems);
    let done = &collected.merged.families["t_done"];
    assert_eq!(done.series[&vec!["a".to_owned()]], Value::Counter(23.0));
    assert!(!collected.merged.families.contains_key("t_live"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(names.contains(&AGGREGATE.to_owned()));
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("vumeter-") && n != AGGREGATE),
        "{names:?}"
    );
    // Folded totals stay, and fold again with the next dead process.
    let again = collect(&dir).unwrap();
    assert_eq!(
        again.merged.families["t_done"].series[&vec!["a".to_owned()]],
        Value::Counter(23.0)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A prometheus_client file, laid out as its mmap_dict.py writes one.
fn legacy_file(entries: &[(&str, f64, f64)]) -> Vec<u8> {
    let mut data = vec![0u8; 8];
    for (key, value, stamp) in entries {
        let key = key.as_bytes();
        data.extend_from_slice(&(key.len() as u32).to_le_bytes());
        data.extend_from_slice(key);
        data.extend(std::iter::repeat_n(b' ', 8 - (key.len() + 4) % 8));
        data.extend_from_slice(&value.to_le_bytes());
        data.extend_from_slice(&stamp.to_le_bytes());
    }
    let used = data.len() as u32;
    data[..4].copy_from_slice(&used.to_le_bytes());
    data
}

#[test]
fn prometheus_client_files_merge_with_vumeter_series() {
    let dir = temp_dir("legacy");
    let counter = legacy_file(&[(
        r#"["reqs", "reqs_total", {"code": "200"}, "Requests"]"#,
        3.0,
        0.0,
    )]);
    std::fs::write(dir.join("counter_77.db"), counter).unwrap();
    let hist = legacy_file(&[
        (
            r#"["lat", "lat_bucket", {"le": "0.5"}, "Latency"]"#,
            2.0,
            0.0,
        ),
        (
            r#"["lat", "lat_bucket", {"le": "+Inf"}, "Latency"]"#,
            1.0,
            0.0,
        ),
        (r#"["lat", "lat_sum", {}, "Latency"]"#, 1.5, 0.0),
    ]);
    std::fs::write(dir.join("histogram_77.db"), hist).unwrap();
    let gauge = legacy_file(&[(r#"["temp", "temp", {}, "T"]"#, 4.0, 10.0)]);
    std::fs::write(dir.join("gauge_all_77.db"), &gauge).unwrap();
    std::fs::write(dir.join("gauge_all_78.db"), &gauge).unwrap();
    let merged = collect(&dir).unwrap().merged;
    assert_eq!(
        merged.families["reqs"].series[&vec!["200".to_owned()]],
        Value::Counter(3.0)
    );
    assert_eq!(
        merged.families["lat"].series[&Vec::new()],
        Value::Histogram {
            buckets: vec![(0.5, 2.0), (f64::INFINITY, 1.0)],
            sum: 1.5,
            native: None,
        }
    );
    assert_eq!(merged.families["temp"].kind, Kind::Gauge);
    assert_eq!(
        merged.families["temp"].series.len(),
        2,
        "one series per pid"
    );
    assert_eq!(
        legacy::LegacyName::parse("gauge_livesum_9.db").unwrap().pid,
        "9"
    );
    assert!(legacy::LegacyName::parse("gauge_9.db").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
