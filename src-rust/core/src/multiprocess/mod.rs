//! Multi-process mode: the cells of every process in one directory of memory-mapped
//! files, merged into one scrape.
//!
//! Worker hosts run many processes (one per GPU, DataLoader workers, process pools),
//! and Prometheus scrapes one port. With multi-process mode on ([`enable`]), each
//! process keeps its metric cells in a file of its own in the directory (see
//! [`format`]); updates stay atomic operations on per-thread shards, with no system
//! call and no lock. A scrape ([`directory::collect`]) maps every file read-only and
//! merges the series by prometheus_client's rules ([`merge`]), reading
//! prometheus_client's own `.db` files too ([`legacy`]). The files of processes that
//! have ended are folded into one aggregate, so the directory does not grow with every
//! process that ever lived.

pub mod backend;
pub mod directory;
pub mod exemplars;
pub mod format;
pub mod legacy;
pub mod merge;
pub mod view;
pub mod writer;

#[cfg(all(test, not(miri)))]
mod tests;

pub use backend::{enable, enabled, EnableError, FamilyIdentity, Part, SeriesIdentity};
pub use merge::{GaugeMode, Kind, Merged, MergedFamily, Value};

/// A metric child whose placed cells a removal takes out of merged scrapes.
pub trait Retire {
    /// Called when the child is removed from its family (`remove`, `clear`): its
    /// series no longer counts in this process's file. A no-op in one process.
    fn retire(&self);
}

impl Retire for crate::CounterCore {
    fn retire(&self) {
        self.cells().retire();
    }
}

impl Retire for crate::HistogramCore {
    fn retire(&self) {
        self.cells().retire();
    }
}

impl Retire for crate::GaugeCore {
    fn retire(&self) {
        if let Some(cells) = self.placed_cells() {
            cells.retire();
        }
    }
}
