//! Reading a process's cell file (or a copy of its bytes) into a [`Merged`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use super::exemplars;
use super::format::{read_records, FamilyMeta, Record};
use super::merge::{GaugeMode, Kind, Merged, Origin, Value, TOTAL};
use crate::native_histogram::NativeSnapshot;

struct SeriesCells {
    family: u32,
    values: Vec<String>,
    /// (first cell, count) of each shard placed so far.
    shards: Vec<(*const AtomicU64, usize)>,
    /// (bucket, slot, words) of each exemplar slot.
    exemplars: Vec<(u32, *const AtomicU64, usize)>,
    /// (schema, first cell, count) of each shard of a native generation placed so far.
    native: Vec<(i32, *const AtomicU64, usize)>,
}

/// What a file's records say.
#[derive(Default)]
struct FileRecords {
    families: HashMap<u32, (FamilyMeta, Kind, Option<GaugeMode>)>,
    series: HashMap<u32, SeriesCells>,
    /// Series ids in the order they were recorded.
    order: Vec<u32>,
    retired: HashSet<u32>,
    malformed: bool,
}

impl FileRecords {
    fn family(&mut self, id: u32, meta: &[u8]) {
        let Ok(meta) = serde_json::from_slice::<FamilyMeta>(meta) else {
            self.malformed = true;
            return;
        };
        let Some(kind) = Kind::parse(&meta.kind) else {
            self.malformed = true;
            return;
        };
        let mode = if kind == Kind::Gauge {
            GaugeMode::parse(&meta.mode)
        } else {
            None
        };
        self.families.insert(id, (meta, kind, mode));
    }

    fn series(&mut self, id: u32, family: u32, values: &[u8]) {
        let Ok(values) = serde_json::from_slice::<Vec<String>>(values) else {
            self.malformed = true;
            return;
        };
        self.order.push(id);
        self.series.insert(
            id,
            SeriesCells {
                family,
                values,
                shards: Vec::new(),
                exemplars: Vec::new(),
                native: Vec::new(),
            },
        );
    }

    fn record(&mut self, record: Record<'_>) {
        match record {
            Record::Family { id, meta } => self.family(id, meta),
            Record::Series { id, family, values } => self.series(id, family, values),
            Record::Cells {
                series,
                cells,
                count,
                ..
            } => {
                if let Some(s) = self.series.get_mut(&series) {
                    s.shards.push((cells, count));
                }
            }
            Record::Retire { series } => {
                self.retired.insert(series);
            }
            Record::Exemplar {
                series,
                bucket,
                slot,
                words,
            } => {
                if let Some(s) = self.series.get_mut(&series) {
                    s.exemplars.push((bucket, slot, words));
                }
            }
            Record::Native {
                series,
                schema,
                cells,
                count,
                ..
            } => {
                if let Some(s) = self.series.get_mut(&series) {
                    s.native.push((schema, cells, count));
                }
            }
        }
    }
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
    let mut records = FileRecords::default();
    // SAFETY: passed on from the caller.
    unsafe { read_records(base, len, |record| records.record(record))? };
    let mut malformed = records.malformed;
    // Native buckets are read into one snapshot and copied out at their final size.
    let mut scratch = NativeSnapshot::default();
    for id in &records.order {
        if records.retired.contains(id) {
            continue;
        }
        let s = &records.series[id];
        let Some((meta, kind, mode)) = records.families.get(&s.family) else {
            malformed = true;
            continue;
        };
        // SAFETY: the cell pointers come from this mapping's records (see above).
        let Some(value) = (unsafe { value_of(*kind, meta, &s.shards, &s.native, &mut scratch) })
        else {
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
        for &(bucket, slot, words) in &s.exemplars {
            let which = match kind {
                Kind::Histogram => match meta.bounds.get(bucket as usize) {
                    Some(&bound) => bound,
                    None => continue,
                },
                _ => TOTAL,
            };
            // SAFETY: the slot comes from this mapping's records (see above).
            let slot = unsafe { std::slice::from_raw_parts(slot, words) };
            if let Some(exemplar) = exemplars::read(slot) {
                merged.add_exemplar(&meta.name, &meta.labels, &s.values, which, exemplar);
            }
        }
    }
    if malformed {
        Err("a malformed record")
    } else {
        Ok(())
    }
}

/// The value in a series' shards (and native generations' shards).
///
/// # Safety
/// Every `(cells, count)` points at `count` mapped cells.
unsafe fn value_of(
    kind: Kind,
    meta: &FamilyMeta,
    shards: &[(*const AtomicU64, usize)],
    native: &[(i32, *const AtomicU64, usize)],
    scratch: &mut NativeSnapshot,
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
                // SAFETY: the caller's promise.
                native: unsafe { native_of(meta, native, scratch) }.ok()?,
            }
        }
        Kind::Summary => return None,
    })
}

/// A histogram's native buckets, merged over its generations (`None` for a histogram
/// without them), read in `snapshot` (its memory reused from series to series) and
/// copied out at their size; an error for cells that are not laid out as generations.
///
/// # Safety
/// Every `(schema, cells, count)` points at `count` mapped cells.
unsafe fn native_of(
    meta: &FamilyMeta,
    shards: &[(i32, *const AtomicU64, usize)],
    snapshot: &mut NativeSnapshot,
) -> Result<Option<Box<NativeSnapshot>>, &'static str> {
    let Some(config) = meta.native else {
        return Ok(None);
    };
    snapshot.start(f64::from_bits(config.zero_threshold));
    for &(schema, cells, count) in shards {
        // Three header cells, then (tag, count) pairs.
        if count < 3 || count % 2 != 1 {
            return Err("native cells not laid out as a generation");
        }
        // SAFETY: the caller's promise.
        let shard = unsafe { std::slice::from_raw_parts(cells, count) };
        snapshot.add_shard(schema, shard);
    }
    snapshot.finish(config.schema);
    Ok(Some(Box::new(snapshot.clone())))
}
