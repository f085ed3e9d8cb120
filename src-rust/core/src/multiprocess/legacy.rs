//! prometheus_client's multiprocess files (`counter_<pid>.db`, `gauge_<mode>_<pid>.db`,
//! ...), so that code still on prometheus_client and code on vumeter meet in one scrape.
//!
//! prometheus_client's layout (its `mmap_dict.py`): a u32 count of bytes used, four
//! bytes of padding, then entries of a u32 key length, the UTF-8 key padded to 8 bytes
//! (always with at least one pad byte), and two f64: the value and the time of the
//! last write. A key is the JSON `[metric_name, sample_name, {labels}, help]`.

use std::collections::BTreeMap;

use super::merge::{GaugeMode, Kind, Merged, Origin, Value};

/// What a prometheus_client file name says: `<kind>[_<mode>]_<pid>.db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyName {
    pub kind: Kind,
    pub mode: Option<GaugeMode>,
    pub pid: String,
}

impl LegacyName {
    #[must_use]
    pub fn parse(file_name: &str) -> Option<Self> {
        let stem = file_name.strip_suffix(".db")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let kind = Kind::parse(parts.first()?)?;
        let (mode, pid) = match (kind, parts.as_slice()) {
            (Kind::Gauge, [_, mode, pid]) => (Some(GaugeMode::parse(mode)?), *pid),
            (Kind::Gauge, _) => return None,
            (_, [_, pid]) => (None, *pid),
            _ => return None,
        };
        Some(LegacyName {
            kind,
            mode,
            pid: pid.to_owned(),
        })
    }
}

/// The `(key, value, timestamp)` entries of a prometheus_client file's bytes.
pub fn entries(data: &[u8]) -> Result<Vec<(&str, f64, f64)>, &'static str> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    let float = |at: usize| -> Option<f64> {
        Some(f64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
    };
    let used = (word(0).ok_or("shorter than its header")? as usize).min(data.len());
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < used {
        let len = word(pos).ok_or("a truncated entry")? as usize;
        if pos + len > used {
            return Err("an entry runs past the used size");
        }
        let key = data.get(pos + 4..pos + 4 + len).ok_or("a truncated key")?;
        let key = std::str::from_utf8(key).map_err(|_| "a key that is not UTF-8")?;
        pos += 4 + len + (8 - (len + 4) % 8);
        let value = float(pos).ok_or("a truncated value")?;
        let stamp = float(pos + 8).ok_or("a truncated value")?;
        out.push((key, value, stamp));
        pos += 16;
    }
    Ok(out)
}

/// Adds a prometheus_client file's series to `merged`.
pub fn merge_file(
    name: &LegacyName,
    data: &[u8],
    live: bool,
    merged: &mut Merged,
) -> Result<(), &'static str> {
    let origin = Origin {
        pid: &name.pid,
        live,
    };
    for (key, value, stamp) in entries(data)? {
        let (metric, sample, labels, help): (String, String, BTreeMap<String, String>, String) =
            serde_json::from_str(key).map_err(|_| "a key that is not prometheus_client's")?;
        let suffix = sample.strip_prefix(metric.as_str()).unwrap_or("?");
        let mut names: Vec<String> = Vec::with_capacity(labels.len());
        let mut values: Vec<String> = Vec::with_capacity(labels.len());
        let mut le = None;
        for (label, v) in labels {
            if name.kind == Kind::Histogram && label == "le" {
                le = Some(v);
            } else {
                names.push(label);
                values.push(v);
            }
        }
        let value = match (name.kind, suffix, le) {
            (Kind::Counter, "_total", _) => Value::Counter(value),
            (Kind::Gauge, "", _) => Value::Gauge { value, stamp },
            (Kind::Histogram, "_bucket", Some(le)) => Value::Histogram {
                buckets: vec![(
                    parse_bound(&le).ok_or("a bucket bound that is not a number")?,
                    value,
                )],
                sum: 0.0,
                native: None,
            },
            (Kind::Histogram, "_sum", None) => Value::Histogram {
                buckets: Vec::new(),
                sum: value,
                native: None,
            },
            (Kind::Summary, "_count", _) => Value::Summary {
                count: value,
                sum: 0.0,
            },
            (Kind::Summary, "_sum", _) => Value::Summary {
                count: 0.0,
                sum: value,
            },
            // `_created` and other samples prometheus_client's collector ignores too.
            _ => continue,
        };
        merged.add(
            &metric, name.kind, &help, name.mode, &names, &values, value, origin,
        );
    }
    Ok(())
}

fn parse_bound(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}
