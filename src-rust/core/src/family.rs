//! A metric family: its descriptor and its children, one per label-value tuple, kept in
//! insertion order (the order prometheus_client renders them in).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use crate::counter::lock;
use crate::error::MetricError;
use crate::exposition::SeriesLabels;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// Everything about a family except its values. Names are validated by the caller.
#[derive(Debug, Clone)]
pub struct Descriptor {
    /// The OpenMetrics family name: without `_total` for counters, with the unit suffix.
    pub name: String,
    pub help: String,
    pub unit: String,
    pub kind: MetricKind,
    pub label_names: Vec<String>,
    /// Indices into `label_names` in sorted name order: samples render labels sorted.
    pub(crate) sorted_labels: Vec<usize>,
    /// Where `le` goes among the sorted series labels of a histogram bucket.
    pub(crate) le_position: usize,
}

impl Descriptor {
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        help: impl Into<String>,
        unit: impl Into<String>,
        kind: MetricKind,
        label_names: Vec<String>,
    ) -> Self {
        let mut sorted_labels: Vec<usize> = (0..label_names.len()).collect();
        sorted_labels.sort_by(|&a, &b| label_names[a].cmp(&label_names[b]));
        let le_position = sorted_labels
            .iter()
            .take_while(|&&i| label_names[i].as_str() < "le")
            .count();
        Descriptor {
            name: name.into(),
            help: help.into(),
            unit: unit.into(),
            kind,
            label_names,
            sorted_labels,
            le_position,
        }
    }
}

/// Children a renderer reads per hold of a family's children lock. A family this small
/// is read under one hold; a larger one is copied out this many handles at a time (one
/// reference-count increment each) and rendered with the lock free, so `labels()` on
/// another thread, which waits for the lock holding the GIL, never waits long. (Under
/// Miri, slices of 8 keep the sliced path's tests quick.)
pub const VISIT_SLICE: usize = if cfg!(miri) { 8 } else { 512 };

/// One child as the renderers see it: its label values, their exposition form
/// (rendered once, when the child is created) and its core.
pub struct Child<C> {
    /// Insertion order, for resuming a sliced visit after concurrent removals.
    seq: u64,
    values: Arc<[String]>,
    labels: SeriesLabels,
    core: Arc<C>,
}

impl<C> Child<C> {
    #[must_use]
    pub fn values(&self) -> &[String] {
        &self.values
    }

    #[must_use]
    pub fn labels(&self) -> &SeriesLabels {
        &self.labels
    }

    #[must_use]
    pub fn core(&self) -> &C {
        &self.core
    }
}

/// Label values -> child, in insertion order.
type Children<C> = IndexMap<Arc<[String]>, Arc<Child<C>>>;

/// A family of children of type `C`.
pub struct Family<C> {
    pub descriptor: Descriptor,
    children: Mutex<Children<C>>,
    next_seq: AtomicU64,
    max_children: Option<usize>,
    rejected: AtomicU64,
}

impl<C> Family<C> {
    #[must_use]
    pub fn new(descriptor: Descriptor, max_children: Option<usize>) -> Self {
        Family {
            descriptor,
            children: Mutex::new(IndexMap::new()),
            next_seq: AtomicU64::new(0),
            max_children,
            rejected: AtomicU64::new(0),
        }
    }

    /// The child for `values`, created with `make` if new. Refused when the number of
    /// values is wrong or a new child would pass the cardinality limit.
    pub fn get_or_create(
        &self,
        values: Vec<String>,
        make: impl FnOnce() -> C,
    ) -> Result<Arc<C>, MetricError> {
        let expected = self.descriptor.label_names.len();
        if values.len() != expected {
            return Err(MetricError::LabelCount {
                expected,
                got: values.len(),
            });
        }
        let mut children = lock(&self.children);
        if let Some(child) = children.get(values.as_slice()) {
            return Ok(Arc::clone(&child.core));
        }
        if let Some(limit) = self.max_children {
            if children.len() >= limit {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                return Err(MetricError::CardinalityLimit {
                    metric: self.descriptor.name.clone(),
                    limit,
                });
            }
        }
        let core = Arc::new(make());
        let values: Arc<[String]> = values.into();
        let child = Child {
            // Taken under the children lock, so it grows in insertion order.
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            labels: SeriesLabels::new(&self.descriptor, &values),
            values: Arc::clone(&values),
            core: Arc::clone(&core),
        };
        children.insert(values, Arc::new(child));
        Ok(core)
    }

    /// Removes the child for `values`; returns whether it existed.
    pub fn remove(&self, values: &[String]) -> bool {
        lock(&self.children).shift_remove(values).is_some()
    }

    /// Removes the children whose values match every `(label index, value)` pair.
    pub fn remove_matching(&self, filter: &[(usize, String)]) -> usize {
        let mut children = lock(&self.children);
        let before = children.len();
        children.retain(|values, _| !filter.iter().all(|(i, v)| values[*i] == *v));
        before - children.len()
    }

    pub fn clear(&self) {
        lock(&self.children).clear();
    }

    #[must_use]
    pub fn len(&self) -> usize {
        lock(&self.children).len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// New label sets refused by the cardinality limit so far.
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    #[must_use]
    pub fn max_children(&self) -> Option<usize> {
        self.max_children
    }

    /// The children in insertion order. The lock is held only while cloning handles;
    /// values are read afterwards, without blocking writers or `labels()`.
    #[must_use]
    pub fn children(&self) -> Vec<(Box<[String]>, Arc<C>)> {
        lock(&self.children)
            .iter()
            .map(|(k, v)| (Box::from(&k[..]), Arc::clone(&v.core)))
            .collect()
    }

    /// Calls `visit` for every child in insertion order, holding the children lock for
    /// at most [`VISIT_SLICE`] children at a time. `visit` may run with the lock held,
    /// so it must not block or run Python code. A child created during the visit is
    /// seen if it sorts after the children already visited; a removed one may still be.
    pub fn visit(&self, mut visit: impl FnMut(&Child<C>)) {
        let mut batch: Vec<Arc<Child<C>>> = Vec::new();
        let mut next_seq = 0;
        loop {
            {
                let children = lock(&self.children);
                if next_seq == 0 && children.len() <= VISIT_SLICE {
                    children.values().for_each(|child| visit(child));
                    return;
                }
                let start = children.partition_point(|_, child| child.seq < next_seq);
                if let Some(rest) = children.get_range(start..) {
                    batch.extend(rest.values().take(VISIT_SLICE).cloned());
                }
            }
            let Some(last) = batch.last() else {
                return;
            };
            next_seq = last.seq + 1;
            for child in batch.drain(..) {
                visit(&child);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::CounterCore;

    fn family(limit: Option<usize>) -> Family<CounterCore> {
        let d = Descriptor::new(
            "requests",
            "help",
            "",
            MetricKind::Counter,
            vec!["zone".into(), "method".into()],
        );
        Family::new(d, limit)
    }

    #[test]
    fn sorted_label_order_and_le_position() {
        let f = family(None);
        assert_eq!(f.descriptor.sorted_labels, vec![1, 0]);
        assert_eq!(f.descriptor.le_position, 0, "le sorts before method");
    }

    #[test]
    fn children_are_shared_and_ordered() {
        let f = family(None);
        let a = f
            .get_or_create(vec!["b".into(), "x".into()], CounterCore::new)
            .unwrap();
        f.get_or_create(vec!["a".into(), "y".into()], CounterCore::new)
            .unwrap();
        let again = f
            .get_or_create(vec!["b".into(), "x".into()], CounterCore::new)
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        let keys: Vec<_> = f
            .children()
            .into_iter()
            .map(|(k, _)| k[0].clone())
            .collect();
        assert_eq!(keys, vec!["b", "a"]);
        assert!(f.remove(&["b".into(), "x".into()]));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f.get_or_create(vec!["only-one".into()], CounterCore::new)
                .err(),
            Some(MetricError::LabelCount {
                expected: 2,
                got: 1
            })
        );
    }

    fn key(i: usize) -> Vec<String> {
        vec![i.to_string(), "m".into()]
    }

    fn visited(f: &Family<CounterCore>, mut during: impl FnMut(usize)) -> Vec<String> {
        let mut seen = Vec::new();
        f.visit(|child| {
            seen.push(child.values()[0].clone());
            during(seen.len());
        });
        seen
    }

    #[test]
    fn visit_small_and_large_families_in_insertion_order() {
        for n in [0, 3, VISIT_SLICE, VISIT_SLICE + 1, 3 * VISIT_SLICE + 7] {
            let f = family(None);
            for i in (0..n).rev() {
                f.get_or_create(key(i), CounterCore::new).unwrap();
            }
            let want: Vec<String> = (0..n).rev().map(|i| i.to_string()).collect();
            assert_eq!(visited(&f, |_| {}), want, "{n} children");
        }
    }

    #[test]
    fn a_sliced_visit_survives_removals_and_additions_between_slices() {
        let n = 3 * VISIT_SLICE;
        let f = family(None);
        for i in 0..n {
            let child = f.get_or_create(key(i), CounterCore::new).unwrap();
            child.inc(1.0).unwrap();
        }
        // After the first slice (the callback runs without the lock for a large family),
        // remove children on both sides of the cursor and add a new one.
        let (before, after) = (VISIT_SLICE / 8, VISIT_SLICE / 4);
        let seen = visited(&f, |count| {
            if count == VISIT_SLICE {
                for i in (VISIT_SLICE - before)..(VISIT_SLICE + after) {
                    assert!(f.remove(&key(i)));
                }
                f.get_or_create(key(n), CounterCore::new).unwrap();
            }
        });
        let removed_unseen = VISIT_SLICE..(VISIT_SLICE + after);
        let want: Vec<String> = (0..=n)
            .filter(|i| !removed_unseen.contains(i))
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            seen, want,
            "every survivor once, in order, and the newcomer last"
        );
        assert_eq!(f.len(), n + 1 - before - after);
    }

    #[test]
    fn children_render_their_labels_once() {
        let f = family(None);
        f.get_or_create(vec!["z\"1".into(), "get".into()], CounterCore::new)
            .unwrap();
        let mut text = Vec::new();
        f.visit(|child| child.labels().write(&mut text));
        assert_eq!(text, br#"{method="get",zone="z\"1"}"#.as_slice());
    }

    #[test]
    fn cardinality_limit_refuses_and_counts() {
        let f = family(Some(2));
        for v in ["1", "2"] {
            f.get_or_create(vec![v.into(), "m".into()], CounterCore::new)
                .unwrap();
        }
        assert!(f
            .get_or_create(vec!["1".into(), "m".into()], CounterCore::new)
            .is_ok());
        assert!(matches!(
            f.get_or_create(vec!["3".into(), "m".into()], CounterCore::new),
            Err(MetricError::CardinalityLimit { limit: 2, .. })
        ));
        assert_eq!(f.rejected(), 1);
        assert_eq!(f.remove_matching(&[(1, "m".into())]), 2);
        assert!(f.is_empty());
    }
}
