//! The process-wide multi-process state: the directory, this process's cell file, and
//! every series placed in it.
//!
//! Cells are placed lazily, like the in-memory shards: a shard's cells are appended to
//! the file on the first write of a thread that maps to it, after the family and
//! series records they belong to. After `fork` the child starts a file of its own:
//! every placed shard pointer is cleared (the child then places fresh, zeroed cells on
//! its next write), so the child never writes into its parent's file and its totals
//! start from zero, as prometheus_client's do.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::exemplars::{self, SLOT_WORDS};
use super::format::{FamilyMeta, CELLS, EXEMPLAR, FAMILY, NATIVE, RETIRE, SERIES};
use super::writer::ProcessFile;
use crate::exemplar::Exemplar;
use crate::sync::Mutex;

/// What a placed family is; shared by its series.
pub struct FamilyIdentity {
    meta: FamilyMeta,
    json: Vec<u8>,
}

impl FamilyIdentity {
    #[must_use]
    pub fn new(meta: FamilyMeta) -> Arc<Self> {
        let json = serde_json::to_vec(&meta).expect("family metadata is plain data");
        Arc::new(FamilyIdentity { meta, json })
    }

    #[must_use]
    pub fn meta(&self) -> &FamilyMeta {
        &self.meta
    }
}

/// One series (label-value tuple) of a placed family.
pub struct SeriesIdentity {
    family: Arc<FamilyIdentity>,
    values: Vec<u8>,
}

impl SeriesIdentity {
    #[must_use]
    pub fn new(family: Arc<FamilyIdentity>, values: &[String]) -> Arc<Self> {
        let values = serde_json::to_vec(values).expect("label values are strings");
        Arc::new(SeriesIdentity { family, values })
    }
}

/// Which cells of a series a placement holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The series' own cells: a counter's, a gauge's, a histogram's classic buckets and
    /// sum.
    Cells,
    /// One generation of a histogram's native buckets, at `schema`.
    Native { generation: u32, schema: i32 },
}

/// The shard pointers of a placed child, known to the backend (from placement until
/// the child is dropped) so that a forked child can clear them.
pub(crate) type Slots = [AtomicPtr<AtomicU64>];

/// A registered child's shard pointers.
// Under Miri no fork handler is installed (it cannot fork), so nothing reads these.
#[cfg_attr(miri, allow(dead_code))]
struct SlotsPtr(*const AtomicPtr<AtomicU64>, usize);
// SAFETY: the slots are atomics, valid from `register` until `deregister` (the child's
// drop), and only reached under the backend's lock.
unsafe impl Send for SlotsPtr {}
struct Backend {
    dir: PathBuf,
    file: Option<ProcessFile>,
    /// Ids of the families and series recorded in `file`, by identity address (each
    /// entry holds its identity alive, so an address is never reused while listed).
    families: HashMap<usize, (u32, Arc<FamilyIdentity>)>,
    series: HashMap<usize, (u32, Arc<SeriesIdentity>)>,
    /// Every placed child's shard pointers, by address.
    placed: HashMap<usize, SlotsPtr>,
    /// The exemplar slot of each (series, bucket) in `file`.
    exemplar_slots: HashMap<(usize, u32), SlotPtr>,
    failures: u64,
}

static BACKEND: OnceLock<Mutex<Backend>> = OnceLock::new();
/// Series ids only grow (a retired id is never reused, in any file of this process).
static NEXT_SERIES: AtomicU64 = AtomicU64::new(0);
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Why multi-process mode could not be enabled.
#[derive(Debug)]
pub enum EnableError {
    NotADirectory(PathBuf),
    /// Enabled before with another directory.
    AlreadyEnabled(PathBuf),
}

/// Turns multi-process mode on for this process, with cell files in `dir`. Enabling
/// again with the same directory does nothing.
pub fn enable(dir: &Path) -> Result<(), EnableError> {
    if !dir.is_dir() {
        return Err(EnableError::NotADirectory(dir.to_owned()));
    }
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let _section = crate::sync::enter();
    let backend = BACKEND.get_or_init(|| {
        Mutex::new(Backend {
            dir: dir.clone(),
            file: None,
            families: HashMap::new(),
            series: HashMap::new(),
            placed: HashMap::new(),
            exemplar_slots: HashMap::new(),
            failures: 0,
        })
    });
    let current = backend.lock().dir.clone();
    if current != dir {
        return Err(EnableError::AlreadyEnabled(current));
    }
    ENABLED.store(true, Ordering::Release);
    Ok(())
}

/// Whether metrics created from now on are placed in the cell files.
#[inline]
#[must_use]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// The directory given to [`enable`].
#[must_use]
pub fn directory() -> Option<PathBuf> {
    enabled().then(|| BACKEND.get().map(|b| b.lock().dir.clone()))?
}

/// How many placements failed (the file could not be grown or created); those shards
/// fell back to process memory, so their counts are missing from aggregated scrapes.
#[must_use]
pub fn failures() -> u64 {
    BACKEND.get().map_or(0, |b| b.lock().failures)
}

/// Registers a child's shard slots, so that a fork can clear them; the child calls
/// [`deregister`] when it is dropped.
pub(crate) fn register(slots: &Slots) {
    let Some(backend) = BACKEND.get() else {
        return;
    };
    let address = slots.as_ptr() as usize;
    backend
        .lock()
        .placed
        .insert(address, SlotsPtr(slots.as_ptr(), slots.len()));
}

/// Forgets a child's shard slots (it is being dropped).
pub(crate) fn deregister(slots: &Slots) {
    if let Some(backend) = BACKEND.get() {
        backend.lock().placed.remove(&(slots.as_ptr() as usize));
    }
}

/// The cells of shard `shard` of `part` of `series` behind `slot`: the ones published
/// there already, or zeroed cells placed in this process's file now and published.
/// When the file cannot take them, `fallback` provides them (the failure is counted:
/// those counts are missing from aggregated scrapes).
pub(crate) fn place_once(
    slot: &AtomicPtr<AtomicU64>,
    series: &Arc<SeriesIdentity>,
    part: Part,
    shard: usize,
    cells: usize,
    fallback: impl FnOnce() -> *mut AtomicU64,
) -> *mut AtomicU64 {
    let backend = BACKEND.get().expect("placed cells exist only once enabled");
    let mut backend = backend.lock();
    let current = slot.load(Ordering::Acquire);
    if !current.is_null() {
        return current;
    }
    let fresh = if let Ok(cells) = backend.place(series, part, shard, cells) {
        cells.cast_mut()
    } else {
        backend.failures += 1;
        fallback()
    };
    // Release: the zeroed cells are visible before the pointer (see ShardedCells::shard).
    slot.store(fresh, Ordering::Release);
    fresh
}

/// Records `series` in this process's file now, before any of its cells, so that a
/// series that is created but never written still scrapes (as zero), as it does in one
/// process.
pub(crate) fn announce(series: &Arc<SeriesIdentity>) {
    let Some(backend) = BACKEND.get() else {
        return;
    };
    let mut backend = backend.lock();
    if backend.series_id(series).is_err() {
        backend.failures += 1;
    }
}

/// A slot's words in the file's mapping, which stays mapped for the process's life.
struct SlotPtr(*const AtomicU64);
// SAFETY: the pointer is only used under the backend's lock, and the mapping it points
// into is shared memory that any thread may access atomically.
unsafe impl Send for SlotPtr {}

/// Writes `exemplar` as the latest of bucket `bucket` (0 for a counter) of `series` in
/// this process's file, so that merged scrapes carry it.
pub(crate) fn store_exemplar(series: &Arc<SeriesIdentity>, bucket: usize, exemplar: &Exemplar) {
    let Some(backend) = BACKEND.get() else {
        return;
    };
    let mut backend = backend.lock();
    if backend
        .store_exemplar(series, bucket as u32, exemplar)
        .is_err()
    {
        backend.failures += 1;
    }
}

/// Marks `series` removed in this process's file (its cells stop counting).
pub(crate) fn retire(series: &Arc<SeriesIdentity>) {
    let Some(backend) = BACKEND.get() else {
        return;
    };
    let mut backend = backend.lock();
    let key = Arc::as_ptr(series) as usize;
    if let Some((id, _)) = backend.series.remove(&key) {
        if let Some(file) = backend.file.as_mut() {
            if file.append(RETIRE, &id.to_le_bytes(), &[], 0).is_err() {
                backend.failures += 1;
            }
        }
    }
}

/// The path of this process's cell file, once it has one.
#[must_use]
pub fn file_path() -> Option<PathBuf> {
    let backend = BACKEND.get()?;
    let path = backend.lock().file.as_ref().map(|f| f.path().to_owned());
    path
}

impl Backend {
    fn store_exemplar(
        &mut self,
        series: &Arc<SeriesIdentity>,
        bucket: u32,
        exemplar: &Exemplar,
    ) -> io::Result<()> {
        let key = (Arc::as_ptr(series) as usize, bucket);
        let slot = if let Some(slot) = self.exemplar_slots.get(&key) {
            slot.0
        } else {
            let id = self.series_id(series)?;
            let mut head = [0u8; 8];
            head[..4].copy_from_slice(&id.to_le_bytes());
            head[4..].copy_from_slice(&bucket.to_le_bytes());
            let slot = self.file()?.append(EXEMPLAR, &head, &[], SLOT_WORDS)?;
            self.exemplar_slots.insert(key, SlotPtr(slot));
            slot
        };
        // SAFETY: `slot` points at SLOT_WORDS zeroed or slot-formatted words in a mapping
        // that is never unmapped; the lock held makes this the only writer.
        let words = unsafe { std::slice::from_raw_parts(slot, SLOT_WORDS) };
        exemplars::write(words, exemplar);
        Ok(())
    }

    fn file(&mut self) -> io::Result<&mut ProcessFile> {
        if self.file.is_none() {
            let start = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            self.file = Some(ProcessFile::create(&self.dir, std::process::id(), start)?);
        }
        Ok(self.file.as_mut().expect("created above"))
    }

    fn family_id(&mut self, family: &Arc<FamilyIdentity>) -> io::Result<u32> {
        let key = Arc::as_ptr(family) as usize;
        if let Some((id, _)) = self.families.get(&key) {
            return Ok(*id);
        }
        let id = self.families.len() as u32;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&id.to_le_bytes());
        self.file()?.append(FAMILY, &head, &family.json, 0)?;
        self.families.insert(key, (id, Arc::clone(family)));
        Ok(id)
    }

    fn series_id(&mut self, series: &Arc<SeriesIdentity>) -> io::Result<u32> {
        let key = Arc::as_ptr(series) as usize;
        if let Some((id, _)) = self.series.get(&key) {
            return Ok(*id);
        }
        let family = self.family_id(&series.family)?;
        let id = NEXT_SERIES.fetch_add(1, Ordering::Relaxed) as u32;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&id.to_le_bytes());
        head[4..].copy_from_slice(&family.to_le_bytes());
        self.file()?.append(SERIES, &head, &series.values, 0)?;
        self.series.insert(key, (id, Arc::clone(series)));
        Ok(id)
    }

    fn place(
        &mut self,
        series: &Arc<SeriesIdentity>,
        part: Part,
        shard: usize,
        cells: usize,
    ) -> io::Result<*const AtomicU64> {
        let id = self.series_id(series)?;
        let mut head = [0u8; 16];
        head[..4].copy_from_slice(&id.to_le_bytes());
        head[4..8].copy_from_slice(&(shard as u32).to_le_bytes());
        match part {
            Part::Cells => self.file()?.append(CELLS, &head[..8], &[], cells),
            Part::Native { generation, schema } => {
                head[8..12].copy_from_slice(&generation.to_le_bytes());
                head[12..].copy_from_slice(&schema.to_le_bytes());
                self.file()?.append(NATIVE, &head, &[], cells)
            }
        }
    }
}

/// Called in a forked child (from the fork gate's child handler), where the forking
/// thread is the only thread: the child stops using its parent's file and clears
/// every placed shard, so its next writes place cells in a file of its own.
#[cfg_attr(miri, allow(dead_code))] // the fork handler is not installed under Miri
pub(crate) fn after_fork_in_child() {
    let Some(backend) = BACKEND.get() else {
        return;
    };
    let mut backend = backend.lock();
    if let Some(file) = backend.file.take() {
        file.abandon();
    }
    backend.families.clear();
    backend.series.clear();
    backend.exemplar_slots.clear();
    for slots in backend.placed.values() {
        // SAFETY: registered slots stay valid until their child deregisters them on
        // drop, which takes the lock held here.
        let slots = unsafe { std::slice::from_raw_parts(slots.0, slots.1) };
        for slot in slots {
            // The parent's cells stay mapped (leaked by `abandon`) and are never
            // written again from here.
            slot.store(std::ptr::null_mut(), Ordering::Release);
        }
    }
}
