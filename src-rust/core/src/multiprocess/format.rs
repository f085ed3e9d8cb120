//! The layout of a process's cell file.
//!
//! ```text
//! offset 0   magic "VUMETER\x01"
//!        8   version (u32), chunk size in bytes (u32)
//!        16  used: the end of the last published record (u64, atomic)
//!        24  pid (u32), 4 bytes of padding
//!        32  the writer's start time, Unix nanoseconds (u64)
//!        64  records
//! ```
//!
//! A record is a header (tag u32, payload length u32) and its payload, padded to 8
//! bytes. The writer appends a record past `used` and then moves `used` past it with
//! release ordering, so a reader that loads `used` with acquire ordering sees every
//! record before it whole. Records never straddle a chunk boundary: the writer maps
//! the file one region of whole chunks at a time, and where a record does not fit in
//! what is left of a region it leaves zeros there (tag 0: "go on at the next chunk").
//!
//! - `FAMILY`: family id (u32), 4 bytes of padding, then [`FamilyMeta`] as JSON.
//! - `SERIES`: series id (u32), family id (u32), then the label values as a JSON array.
//! - `CELLS`: series id (u32), shard (u32), then the shard's cells (u64 each), which
//!   the writer keeps updating with atomic operations after publishing the record.
//! - `RETIRE`: series id (u32): the series was removed, its cells no longer count.
//! - `EXEMPLAR`: series id (u32), bucket (u32; 0 for a counter), then an exemplar slot
//!   (see `exemplars`), rewritten in place under a sequence lock.
//! - `NATIVE`: series id (u32), shard (u32), generation (u32), schema (i32), then the
//!   shard's cells of one generation of a histogram's native buckets (see
//!   `native_histogram::table`): the zero bucket, then `(tag, count)` pairs.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

pub const MAGIC: [u8; 8] = *b"VUMETER\x01";
pub const VERSION: u32 = 1;
pub const HEADER_BYTES: usize = 64;
pub const USED_OFFSET: usize = 16;
pub const PID_OFFSET: usize = 24;
pub const START_OFFSET: usize = 32;
/// The size of a mapped chunk: cells are placed in regions of whole chunks.
pub const CHUNK_BYTES: usize = 1 << 20;

pub const FAMILY: u32 = 1;
pub const SERIES: u32 = 2;
pub const CELLS: u32 = 3;
pub const RETIRE: u32 = 4;
pub const EXEMPLAR: u32 = 5;
pub const NATIVE: u32 = 6;

/// The bytes a record with `payload` bytes of payload takes, header included.
#[must_use]
pub const fn record_bytes(payload: usize) -> usize {
    8 + payload.next_multiple_of(8)
}

/// What a family is, written once per family and process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyMeta {
    pub name: String,
    pub help: String,
    /// "counter", "gauge" or "histogram".
    pub kind: String,
    pub labels: Vec<String>,
    /// Histogram bounds as f64 bit patterns (JSON has no infinity), `+Inf` last.
    #[serde(default)]
    pub bounds: Vec<u64>,
    /// A gauge's multiprocess mode (prometheus_client's names).
    #[serde(default)]
    pub mode: String,
    /// A histogram's native buckets, when it records them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeMeta>,
}

/// What a reader needs to know of a histogram's native buckets beyond its `NATIVE`
/// records: the zero bucket's width.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NativeMeta {
    /// The schema a child starts at (its finest).
    pub schema: i32,
    /// The zero threshold as f64 bits.
    pub zero_threshold: u64,
}

/// A record read back from a file.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    Family {
        id: u32,
        meta: &'a [u8],
    },
    Series {
        id: u32,
        family: u32,
        values: &'a [u8],
    },
    /// `cells` points at `count` cells inside the mapping the record was read from.
    Cells {
        series: u32,
        shard: u32,
        cells: *const AtomicU64,
        count: usize,
    },
    Retire {
        series: u32,
    },
    /// `slot` points at `words` atomic words of an exemplar slot.
    Exemplar {
        series: u32,
        bucket: u32,
        slot: *const AtomicU64,
        words: usize,
    },
    /// `cells` points at `count` cells of one shard of native generation `generation`.
    Native {
        series: u32,
        shard: u32,
        generation: u32,
        schema: i32,
        cells: *const AtomicU64,
        count: usize,
    },
}

/// A file's records, read from `len` mapped bytes at `base`.
///
/// # Safety
/// `base` must point at `len` readable bytes, 8-byte aligned, that stay mapped while
/// the records (and the cell pointers in them) are used; bytes below the file's
/// `used` mark must not change any more except for the cells of `CELLS` records, which
/// are only ever accessed atomically.
pub unsafe fn read_records<'a>(
    base: *const u8,
    len: usize,
    mut each: impl FnMut(Record<'a>),
) -> Result<(), &'static str> {
    if len < HEADER_BYTES {
        return Err("shorter than its header");
    }
    // SAFETY: the header is within `len` bytes (checked above) and never changes once
    // written, apart from `used`, which is read atomically.
    let header = unsafe { std::slice::from_raw_parts(base, USED_OFFSET) };
    if header[..8] != MAGIC {
        return Err("not a vumeter cell file");
    }
    if u32_at(header, 8) != VERSION {
        return Err("written by another version of vumeter");
    }
    let chunk = u32_at(header, 12) as usize;
    if chunk == 0 || chunk % 8 != 0 {
        return Err("a corrupt chunk size");
    }
    // SAFETY: `used` is 8-byte aligned inside the header.
    #[allow(clippy::cast_ptr_alignment)]
    let used = unsafe { &*base.add(USED_OFFSET).cast::<AtomicU64>() };
    let used = (used.load(Ordering::Acquire) as usize).min(len);
    let mut pos = HEADER_BYTES;
    while pos + 8 <= used {
        // SAFETY: `pos + 8 <= used <= len`: a published record header.
        let head = unsafe { std::slice::from_raw_parts(base.add(pos), 8) };
        let tag = u32_at(head, 0);
        let payload = u32_at(head, 4) as usize;
        if tag == 0 {
            pos = (pos + 1).next_multiple_of(chunk);
            continue;
        }
        let end = pos + record_bytes(payload);
        if end > used {
            return Err("a record runs past the published end");
        }
        // SAFETY: the payload lies below `used` (checked above).
        let body = unsafe { std::slice::from_raw_parts(base.add(pos + 8), payload) };
        let record = match tag {
            FAMILY if payload >= 8 => Record::Family {
                id: u32_at(body, 0),
                meta: &body[8..],
            },
            SERIES if payload >= 8 => Record::Series {
                id: u32_at(body, 0),
                family: u32_at(body, 4),
                values: &body[8..],
            },
            CELLS if payload >= 8 && payload % 8 == 0 => Record::Cells {
                series: u32_at(body, 0),
                shard: u32_at(body, 4),
                // SAFETY: the cells follow the 16 header bytes of an 8-aligned record.
                #[allow(clippy::cast_ptr_alignment)]
                cells: unsafe { base.add(pos + 16).cast::<AtomicU64>() },
                count: (payload - 8) / 8,
            },
            RETIRE if payload >= 4 => Record::Retire {
                series: u32_at(body, 0),
            },
            EXEMPLAR if payload >= 8 && payload % 8 == 0 => Record::Exemplar {
                series: u32_at(body, 0),
                bucket: u32_at(body, 4),
                // SAFETY: as for CELLS: the words follow the record's 16 header bytes.
                #[allow(clippy::cast_ptr_alignment)]
                slot: unsafe { base.add(pos + 16).cast::<AtomicU64>() },
                words: (payload - 8) / 8,
            },
            NATIVE if payload >= 16 && payload % 8 == 0 => Record::Native {
                series: u32_at(body, 0),
                shard: u32_at(body, 4),
                generation: u32_at(body, 8),
                schema: i32::from_le_bytes(body[12..16].try_into().expect("four bytes")),
                // SAFETY: as for CELLS: the cells follow the record's 24 header bytes.
                #[allow(clippy::cast_ptr_alignment)]
                cells: unsafe { base.add(pos + 24).cast::<AtomicU64>() },
                count: (payload - 16) / 8,
            },
            _ => return Err("an unknown record"),
        };
        each(record);
        pos = end;
    }
    Ok(())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}
