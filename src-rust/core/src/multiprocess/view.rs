//! Reading a process's cell file (or a copy of its bytes) into a [`Merged`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use super::format::{read_records, FamilyMeta, Record};
use super::merge::{GaugeMode, Kind, Merged, Origin, Value};

struct SeriesCells {
    family: u32,
    values: Vec<String>,
    /// (first cell, count) of each shard placed so far.
    shards: Vec<(*const AtomicU64, usize)>,
}

/// Adds the series of the file mapped at `base` (`len` bytes) to `merged`.
///
/// # Safety
/// As for [`read_records`]: `base` points at `len` readable, 8-byte-aligned bytes of a
/// cell file that stay mapped during the call.
pub unsafe fn merge_file(
    base: *const u8,
    len: usize,
    origin: Origin<'_>,
    merged: &mut Merged,
) -> Result<(), &'static str> {
    let mut families: HashMap<u32, (FamilyMeta, Kind, Option<GaugeMode>)> = HashMap::new();
    let mut series: HashMap<u32, SeriesCells> = HashMap::new();
    let mut order: Vec<u32> = Vec::new();
    let mut retired: HashSet<u32> = HashSet::new();
    let mut malformed = false;
    // SAFETY: passed on from the caller.
    unsafe {
        read_records(base, len, |record| match record {
            Record::Family { id, meta } => match serde_json::from_slice::<FamilyMeta>(meta) {
                Ok(meta) => {
                    let kind = Kind::parse(&meta.kind);
                    let mode = GaugeMode::parse(&meta.mode);
                    match kind {
                        Some(kind) => {
                            let mode = (kind == Kind::Gauge).then_some(mode).flatten();
                            families.insert(id, (meta, kind, mode));
                        }
                        None => malformed = true,
                    }
                }
                Err(_) => malformed = true,
            },
            Record::Series { id, family, values } => {
                match serde_json::from_slice::<Vec<String>>(values) {
                    Ok(values) => {
                        order.push(id);
                        series.insert(
                            id,
                            SeriesCells {
                                family,
                                values,
                                shards: Vec::new(),
                            },
                        );
                    }
                    Err(_) => malformed = true,
                }
            }
            Record::Cells {
                series: id,
                cells,
                count,
                ..
            } => {
                if let Some(s) = series.get_mut(&id) {
                    s.shards.push((cells, count));
                }
            }
            Record::Retire { series: id } => {
                retired.insert(id);
            }
        })?;
    }
    for id in order {
        if retired.contains(&id) {
            continue;
        }
        let s = &series[&id];
        let Some((meta, kind, mode)) = families.get(&s.family) else {
            malformed = true;
            continue;
        };
        // SAFETY: the cell pointers come from this mapping's records (see above).
        let Some(value) = (unsafe { value_of(*kind, meta, &s.shards) }) else {
            malformed = true;
            continue;
        };
        merged.add(
            &meta.name,
            *kind,
            &meta.help,
            *mode,
            &meta.labels,
            &s.values,
            value,
            origin,
        );
    }
    if malformed {
        Err("a malformed record")
    } else {
        Ok(())
    }
}

/// The value in a series' shards.
///
/// # Safety
/// Every `(cells, count)` points at `count` mapped cells.
unsafe fn value_of(
    kind: Kind,
    meta: &FamilyMeta,
    shards: &[(*const AtomicU64, usize)],
) -> Option<Value> {
    // SAFETY: the caller's promise.
    let mut cells = shards
        .iter()
        .map(|&(p, n)| unsafe { std::slice::from_raw_parts(p, n) });
    let float = |cell: &AtomicU64| f64::from_bits(cell.load(Ordering::Relaxed));
    Some(match kind {
        Kind::Counter => Value::Counter(
            cells
                .filter_map(|c| c.first())
                .fold(0.0, |total, cell| total + float(cell)),
        ),
        Kind::Gauge => {
            // One shard: the value and the time of the last set.
            let (value, stamp) = cells
                .rfind(|c| c.len() >= 2)
                .map_or((0.0, 0.0), |c| (float(&c[0]), float(&c[1])));
            Value::Gauge { value, stamp }
        }
        Kind::Histogram => {
            let bounds: Vec<f64> = meta.bounds.iter().map(|&b| f64::from_bits(b)).collect();
            let mut counts = vec![0u64; bounds.len()];
            let mut sum = 0.0;
            for shard in cells {
                if shard.len() != bounds.len() + 1 {
                    return None;
                }
                for (total, cell) in counts.iter_mut().zip(shard) {
                    *total += cell.load(Ordering::Relaxed);
                }
                sum += float(&shard[bounds.len()]);
            }
            Value::Histogram {
                buckets: bounds
                    .into_iter()
                    .zip(counts)
                    .map(|(b, c)| (b, c as f64))
                    .collect(),
                sum,
            }
        }
        Kind::Summary => return None,
    })
}
