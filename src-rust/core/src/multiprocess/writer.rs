//! The writing side of a process's cell file: records appended, cells handed out.
//!
//! The file is held with an exclusive `flock` for as long as the process lives; the
//! kernel drops the lock when the process ends, however it ends, so a reader that can
//! take the lock knows the writer is gone (process ids can be reused; locks cannot).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapMut, MmapOptions};

use super::format::{self, record_bytes, CHUNK_BYTES, HEADER_BYTES};

/// The extension of vumeter's cell files (prometheus_client's are `.db`).
pub const EXTENSION: &str = "cells";

/// One process's cell file, open for appending.
pub struct ProcessFile {
    file: File,
    path: PathBuf,
    /// Every region mapped so far; cells handed out point into them, so they stay
    /// mapped until the process ends (see `abandon`).
    regions: Vec<MmapMut>,
    /// Where the next record goes, and the end of the region it is in.
    cursor: usize,
    region_end: usize,
    file_len: usize,
}

impl ProcessFile {
    /// Creates `vumeter-<pid>-<start>.cells` in `dir`, locked and with its header.
    pub fn create(dir: &Path, pid: u32, start_nanos: u64) -> io::Result<Self> {
        let path = dir.join(format!("vumeter-{pid}-{start_nanos:x}.{EXTENSION}"));
        // Made under a name readers ignore, locked and given its header, and only then
        // renamed into view: a reader never finds the file unlocked (which would make it
        // the file of a dead process) or without its header.
        let hidden = dir.join(format!(".vumeter-{pid}-{start_nanos:x}.new"));
        // create_new: never share a file with another process; std opens with O_CLOEXEC,
        // so a program started by exec does not inherit the file or its lock.
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&hidden)?;
        lock(&file, libc::LOCK_EX | libc::LOCK_NB)?;
        let mut this = ProcessFile {
            file,
            path: path.clone(),
            regions: Vec::new(),
            cursor: 0,
            region_end: 0,
            file_len: 0,
        };
        this.map_region(1)?;
        let header = this.regions[0].as_mut_ptr();
        let mut bytes = [0u8; HEADER_BYTES];
        bytes[..8].copy_from_slice(&format::MAGIC);
        bytes[8..12].copy_from_slice(&format::VERSION.to_le_bytes());
        bytes[12..16].copy_from_slice(&(CHUNK_BYTES as u32).to_le_bytes());
        bytes[format::PID_OFFSET..format::PID_OFFSET + 4].copy_from_slice(&pid.to_le_bytes());
        bytes[format::START_OFFSET..format::START_OFFSET + 8]
            .copy_from_slice(&start_nanos.to_le_bytes());
        // SAFETY: the first region is at least one chunk long; nothing reads the header
        // before `used` is published below.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), header, HEADER_BYTES) };
        this.cursor = HEADER_BYTES;
        this.publish();
        std::fs::rename(&hidden, &this.path)?;
        Ok(this)
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn map_region(&mut self, chunks: usize) -> io::Result<()> {
        let start = self.file_len;
        let bytes = chunks * CHUNK_BYTES;
        self.file.set_len((start + bytes) as u64)?;
        // SAFETY: the file is this process's own (created with create_new); other
        // processes only read it, and this process accesses the cells atomically.
        let region = unsafe {
            MmapOptions::new()
                .offset(start as u64)
                .len(bytes)
                .map_mut(&self.file)?
        };
        self.regions.push(region);
        self.file_len = start + bytes;
        self.cursor = start;
        self.region_end = start + bytes;
        Ok(())
    }

    /// A pointer to `bytes` zeroed bytes at file offset `at`.
    fn at(&mut self, at: usize) -> *mut u8 {
        let region = self.regions.last_mut().expect("a mapped region");
        let region_start = self.region_end - region.len();
        // SAFETY: callers pass an offset inside the last region.
        unsafe { region.as_mut_ptr().add(at - region_start) }
    }

    fn publish(&self) {
        let used = self.regions[0].as_ptr();
        #[allow(clippy::cast_ptr_alignment)]
        // SAFETY: `used` is the 8-byte-aligned u64 at USED_OFFSET of the header, in the
        // first region, which stays mapped; it is only accessed atomically.
        let used = unsafe { &*used.add(format::USED_OFFSET).cast::<AtomicU64>() };
        used.store(self.cursor as u64, Ordering::Release);
    }

    /// Appends a record of `tag` with `head` then `body` as its payload, plus `cells`
    /// zeroed cells; returns the first cell. The record is published before this returns.
    pub fn append(
        &mut self,
        tag: u32,
        head: &[u8],
        body: &[u8],
        cells: usize,
    ) -> io::Result<*const AtomicU64> {
        let payload = head.len() + body.len() + cells * 8;
        let total = record_bytes(payload);
        if self.cursor + total > self.region_end {
            self.map_region(total.div_ceil(CHUNK_BYTES))?;
        }
        let start = self.cursor;
        let base = self.at(start);
        let mut record_head = [0u8; 8];
        record_head[..4].copy_from_slice(&tag.to_le_bytes());
        let len = u32::try_from(payload)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))?;
        record_head[4..].copy_from_slice(&len.to_le_bytes());
        // SAFETY: the record fits in the last region (ensured above), past `used`, where
        // no reader looks yet; the three copies do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(record_head.as_ptr(), base, 8);
            std::ptr::copy_nonoverlapping(head.as_ptr(), base.add(8), head.len());
            std::ptr::copy_nonoverlapping(body.as_ptr(), base.add(8 + head.len()), body.len());
        }
        self.cursor = start + total;
        self.publish();
        // SAFETY: the cells start right after the head and body (8-aligned for CELLS
        // records, whose head is 8 bytes and body empty), inside the record.
        #[allow(clippy::cast_ptr_alignment)]
        Ok(unsafe { base.add(8 + head.len() + body.len()) }
            .cast::<AtomicU64>()
            .cast_const())
    }

    /// Forgets the file without unmapping it or releasing its lock, for a forked child:
    /// the mappings and the descriptor's lock belong to the parent. The child's copy of
    /// the descriptor is closed (the parent's keeps the lock), the mappings are leaked
    /// so that no pointer into them can dangle.
    pub fn abandon(self) {
        let ProcessFile { file, regions, .. } = self;
        std::mem::forget(regions);
        drop(file);
    }
}

/// `flock` on `file`.
pub fn lock(file: &File, operation: libc::c_int) -> io::Result<()> {
    // SAFETY: flock on a valid, open descriptor.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
