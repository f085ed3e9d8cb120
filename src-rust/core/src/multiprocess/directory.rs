//! The multiprocess directory as a whole: every process's file merged into one scrape,
//! and the files of dead processes folded into one aggregate so that they do not pile
//! up.
//!
//! - `vumeter-<pid>-<start>.cells`: a process's cells, locked (`flock`) while it runs.
//! - `vumeter-aggregate.json`: the merged series of every process folded so far.
//! - `vumeter.lock`: scrapes hold it shared, a fold holds it exclusive, so a scrape
//!   never sees a dead process's file and the aggregate that already holds it.
//! - `*.db`: prometheus_client's files, read as they are (prometheus_client's
//!   `mark_process_dead` removes those of its `live*` gauges).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::legacy::{self, LegacyName};
use super::merge::{Merged, Origin, Stored};
use super::view;
use super::writer::{lock, EXTENSION};
use crate::sync::Mutex;

pub const AGGREGATE: &str = "vumeter-aggregate.json";
pub const LOCK: &str = "vumeter.lock";

/// A file that could not be read, and why (the scrape goes on without it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub reason: String,
}

/// The merged directory and what could not be read.
#[derive(Debug, Default)]
pub struct Collected {
    pub merged: Merged,
    pub problems: Vec<Problem>,
    /// Files of dead processes folded into the aggregate by this collection.
    pub folded: usize,
}

/// A cell file, and whether its process still runs.
struct CellFile {
    path: PathBuf,
    file: File,
    pid: String,
    live: bool,
}

fn cell_pid(name: &str) -> Option<&str> {
    let stem = name.strip_prefix("vumeter-")?.strip_suffix(EXTENSION)?;
    stem.strip_suffix('.')?.split('-').next()
}

fn problem(problems: &mut Vec<Problem>, file: &Path, reason: impl Into<String>) {
    problems.push(Problem {
        file: file.to_owned(),
        reason: reason.into(),
    });
}

/// The cell files in `dir`, each opened and checked for a live writer (a writer holds
/// an exclusive lock; one that is gone holds none). A dead file is left locked shared
/// (or exclusive with `claim`) through its `File`.
fn cell_files(dir: &Path, claim: bool, problems: &mut Vec<Problem>) -> io::Result<Vec<CellFile>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(cell_pid) else {
            continue;
        };
        let path = entry.path();
        let file = match File::open(&path) {
            Ok(file) => file,
            // Folded away by another collector between the listing and now.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                problem(problems, &path, e.to_string());
                continue;
            }
        };
        let operation = if claim { libc::LOCK_EX } else { libc::LOCK_SH };
        let live = match lock(&file, operation | libc::LOCK_NB) {
            Ok(()) => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(e) => {
                problem(problems, &path, e.to_string());
                continue;
            }
        };
        out.push(CellFile {
            path,
            file,
            pid: pid.to_owned(),
            live,
        });
    }
    // A stable order: the merge keeps the first family seen of each name.
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn merge_cell_file(cell: &CellFile, merged: &mut Merged) -> Result<(), String> {
    // SAFETY: a read-only mapping of a file that is only ever grown (never truncated)
    // by its writer, which changes nothing below its `used` mark but atomic cells.
    let map = unsafe { Mmap::map(&cell.file) }.map_err(|e| e.to_string())?;
    let origin = Origin {
        pid: &cell.pid,
        live: cell.live,
    };
    // SAFETY: the mapping is page-aligned, `map.len()` bytes long and lives through
    // the call.
    unsafe { view::merge_file(map.as_ptr(), map.len(), origin, merged) }.map_err(str::to_owned)
}

/// The aggregate, parsed once per version of the file (a scrape reads it every time,
/// and it changes only when processes die).
struct CachedAggregate {
    path: PathBuf,
    stamp: (u64, i64, i64, u64),
    merged: Merged,
}

static AGGREGATE_CACHE: Mutex<Option<CachedAggregate>> = Mutex::new(None);

fn stamp_of(meta: &fs::Metadata) -> (u64, i64, i64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len())
}

fn read_aggregate(dir: &Path) -> Result<Merged, String> {
    let path = dir.join(AGGREGATE);
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Merged::default()),
        Err(e) => return Err(e.to_string()),
    };
    let stamp = stamp_of(&meta);
    let mut cache = AGGREGATE_CACHE.lock();
    if let Some(cached) = cache.as_ref() {
        if cached.path == path && cached.stamp == stamp {
            return Ok(cached.merged.clone());
        }
    }
    let bytes = fs::read(&path).map_err(|e| e.to_string())?;
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let merged = Merged::from(stored);
    *cache = Some(CachedAggregate {
        path,
        stamp,
        merged: merged.clone(),
    });
    Ok(merged)
}

fn write_aggregate(dir: &Path, merged: &Merged) -> io::Result<()> {
    let path = dir.join(AGGREGATE);
    let temp = dir.join(format!(".{AGGREGATE}.{}", std::process::id()));
    let bytes = serde_json::to_vec(&Stored::from(merged)).map_err(io::Error::other)?;
    fs::write(&temp, bytes)?;
    // A rename replaces the aggregate whole: a reader sees the old one or the new one.
    fs::rename(&temp, &path)
}

fn open_lock(dir: &Path) -> io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK))
}

/// Folds the files of dead processes into the aggregate, if no scrape or other fold
/// holds the directory; returns how many were folded.
pub fn fold_dead(dir: &Path, problems: &mut Vec<Problem>) -> io::Result<usize> {
    let guard = open_lock(dir)?;
    match lock(&guard, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
        Err(e) => return Err(e),
    }
    let dead: Vec<CellFile> = cell_files(dir, true, problems)?
        .into_iter()
        .filter(|c| !c.live)
        .collect();
    if dead.is_empty() {
        return Ok(0);
    }
    let mut aggregate = match read_aggregate(dir) {
        Ok(merged) => merged,
        Err(reason) => {
            // Never overwrite an aggregate that cannot be read: its totals would be lost.
            problem(problems, &dir.join(AGGREGATE), reason);
            return Ok(0);
        }
    };
    let mut folded = Merged::default();
    let mut usable = Vec::new();
    for cell in dead {
        match merge_cell_file(&cell, &mut folded) {
            Ok(()) => usable.push(cell),
            Err(reason) => problem(problems, &cell.path, reason),
        }
    }
    aggregate.absorb(&folded.without_live_only());
    write_aggregate(dir, &aggregate)?;
    for cell in &usable {
        if let Err(e) = fs::remove_file(&cell.path) {
            problem(problems, &cell.path, e.to_string());
        }
    }
    Ok(usable.len())
    // `guard` is dropped here, which releases the directory.
}

/// Every series in `dir`: the aggregate of dead processes, each process's cell file
/// and prometheus_client's files, merged. Dead processes' files are folded first.
pub fn collect(dir: &Path) -> io::Result<Collected> {
    let mut collected = Collected::default();
    collected.folded = fold_dead(dir, &mut collected.problems)?;
    let guard = open_lock(dir)?;
    lock(&guard, libc::LOCK_SH)?;
    match read_aggregate(dir) {
        Ok(merged) => collected.merged = merged,
        Err(reason) => problem(&mut collected.problems, &dir.join(AGGREGATE), reason),
    }
    for cell in cell_files(dir, false, &mut collected.problems)? {
        if let Err(reason) = merge_cell_file(&cell, &mut collected.merged) {
            problem(&mut collected.problems, &cell.path, reason);
        }
    }
    let mut legacy_files: Vec<(PathBuf, LegacyName)> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = LegacyName::parse(e.file_name().to_str()?)?;
            Some((e.path(), name))
        })
        .collect();
    legacy_files.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, name) in legacy_files {
        let data = match fs::read(&path) {
            Ok(data) => data,
            // A live gauge's file removed by mark_process_dead since the listing.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                problem(&mut collected.problems, &path, e.to_string());
                continue;
            }
        };
        if let Err(reason) = legacy::merge_file(&name, &data, true, &mut collected.merged) {
            problem(&mut collected.problems, &path, reason);
        }
    }
    Ok(collected)
}
