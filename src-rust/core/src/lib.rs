//! vumeter-core: Prometheus metric primitives with lock-free per-thread shards, bulk
//! bucketing, and exposition rendering. Plain Rust with no Python in it, so every piece
//! is testable with `cargo test`; the `vumeter-native` crate only binds it to Python.
//!
//! Layout:
//! - [`shards`]: the storage seam. Every metric keeps its cells in a [`shards::ShardedCells`];
//!   a later backend can place them in shared memory without touching the metric types.
//! - [`atomic_float`]: f64 arithmetic on `AtomicU64` bit patterns.
//! - [`buckets`]: histogram bucket layouts and the scalar and bulk bucketing kernels.
//! - [`counter`], [`gauge`], [`histogram`]: one metric child each.
//! - [`native_histogram`]: the exponential buckets a histogram may record beside its
//!   classic ones (Prometheus native histograms).
//! - [`family`]: a metric with its label names and labelled children (kept in the
//!   insertion-ordered map of `registry`, with O(1) lookups and removal).
//! - [`sync`]: the fork-safe locks every other module uses.
//! - [`exposition`]: Prometheus text 0.0.4, OpenMetrics 1.0 and protobuf renderers.
//! - [`parse`]: reading either format back into families (for `vumeter top`).
//! - [`multiprocess`]: cells in memory-mapped files, one per process, merged into one
//!   scrape.

// Tests assert exact float results on purpose: the sums they check are exact.
#![cfg_attr(test, allow(clippy::float_cmp))]

pub mod atomic_float;
pub mod buckets;
pub mod clock;
pub mod counter;
pub mod error;
pub mod exemplar;
pub mod exposition;
pub mod family;
pub mod gauge;
pub mod histogram;
pub mod multiprocess;
pub mod native_histogram;
pub mod parse;
mod registry;
pub mod shards;
pub mod sync;

/// Loop counts for stress tests: the full count natively, a few rounds under Miri (which
/// interprets every instruction and explores thread interleavings).
#[cfg(test)]
pub(crate) const fn test_rounds(native: u32) -> u32 {
    if cfg!(miri) {
        let few = native / 500;
        if few < 8 {
            8
        } else {
            few
        }
    } else {
        native
    }
}

pub use counter::CounterCore;
pub use error::MetricError;
pub use exemplar::Exemplar;
pub use family::{Child, Descriptor, Family, Inserted, MetricKind};
pub use gauge::GaugeCore;
pub use histogram::HistogramCore;
