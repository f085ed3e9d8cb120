//! Heap bytes per series, counted by a global allocator that tracks live bytes: a
//! counter child and a histogram child with the 15 default buckets, registered in a
//! family under a label value, at the shard counts of 2-, 32- and 128-core hosts, with
//! one and two writer threads. The bounds keep a series below prometheus_client's
//! (about 630 B per counter child and 4,600 B per histogram child, resident, on
//! CPython 3.11); these are requested bytes, before the allocator's own overhead.
//!
//! `cargo test -p vumeter-core --release --test memory_per_series -- --nocapture`
//! prints the figures.

// Allocation sizes and counts here are far below isize::MAX.
#![allow(clippy::cast_possible_wrap)]
// The figures are printed for `--nocapture`: they are what this test documents.
#![allow(clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use vumeter_core::buckets::BucketLayout;
use vumeter_core::shards::shard_count_for;
use vumeter_core::{CounterCore, Descriptor, Family, HistogramCore, MetricKind};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for GlobalAlloc::alloc.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for GlobalAlloc::alloc_zeroed.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for GlobalAlloc::dealloc.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SERIES: usize = 2_000;
const DEFAULT_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn descriptor(kind: MetricKind) -> Descriptor {
    Descriptor::new("m", "help", "", kind, vec!["series".into()])
}

/// Live bytes per child after creating SERIES children with `make` and writing each
/// from `writers` threads in turn (each thread maps to its own shard).
fn bytes_per_child<C: Send + Sync>(
    family: &Family<C>,
    make: impl Fn() -> C,
    write: impl Fn(&C) + Sync,
    writers: usize,
) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    let children: Vec<Arc<C>> = (0..SERIES)
        .map(|i| {
            family
                .get_or_create(vec![format!("series-{i}")], &make)
                .unwrap()
        })
        .collect();
    for _ in 0..writers {
        std::thread::scope(|s| {
            s.spawn(|| children.iter().for_each(|c| write(c)));
        });
    }
    // The Vec of handles is the test's, not the family's.
    let handles = (children.capacity() * std::mem::size_of::<Arc<C>>()) as isize;
    (LIVE.load(Ordering::Relaxed) - before - handles) / SERIES as isize
}

#[test]
#[cfg_attr(miri, ignore = "sizes, not soundness: runs natively")]
fn a_series_costs_less_than_in_prometheus_client() {
    let layout = Arc::new(BucketLayout::new(&DEFAULT_BUCKETS).unwrap());
    println!("heap bytes per child (requested), {SERIES} children");
    for cores in [2, 32, 128] {
        let shards = shard_count_for(cores);
        for writers in [1, 2] {
            let counters: Family<CounterCore> = Family::new(descriptor(MetricKind::Counter), None);
            let counter = bytes_per_child(
                &counters,
                || CounterCore::with_shards(shards),
                |c| c.inc(1.0).unwrap(),
                writers,
            );
            let histograms: Family<HistogramCore> =
                Family::new(descriptor(MetricKind::Histogram), None);
            let histogram = bytes_per_child(
                &histograms,
                || HistogramCore::with_shards(Arc::clone(&layout), shards),
                |h| {
                    h.observe(0.3).unwrap();
                },
                writers,
            );
            println!(
                "{cores:>3}-core host ({shards:>2} shards), {writers} writer(s): \
                 counter {counter:>4} B, histogram {histogram:>4} B"
            );
            let per_writer = writers as isize;
            // One pointer per shard, one 64-byte line (counter) or three (17 cells) per
            // writer, the core, the exemplar cell, the registry entry, and the series'
            // label text, rendered once for the exposition (about 100 bytes here).
            assert!(
                counter <= 300 + 8 * shards as isize + 64 * per_writer,
                "{counter}"
            );
            assert!(
                histogram <= 400 + 8 * shards as isize + 192 * per_writer,
                "{histogram}"
            );
        }
    }
}
