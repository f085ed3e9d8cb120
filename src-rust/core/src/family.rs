//! A metric family: its descriptor and its children, one per label-value tuple, kept in
//! insertion order (the order prometheus_client renders them in).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::MetricError;
use crate::exposition::SeriesLabels;
use crate::registry::OrderedMap;
use crate::sync::RwLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    /// Only in multi-process scrapes, from prometheus_client's summaries (`_count`
    /// and `_sum`).
    Summary,
}

impl MetricKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
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
/// is read under one hold; a larger one is copied out this many children at a time (two
/// reference-count increments each) and rendered with the lock free, so `labels()` on
/// another thread, which waits for the lock holding the GIL, never waits long. (Under
/// Miri, slices of 8 keep the sliced path's tests quick.)
pub const VISIT_SLICE: usize = if cfg!(miri) { 8 } else { 512 };

/// What renderers read of a child besides its core: its label values and their
/// exposition text, rendered once when the child is created.
pub struct Series {
    values: Arc<[String]>,
    labels: SeriesLabels,
}

/// One labelled series: its core, its [`Series`], and what the embedding layer attached
/// to it (the Python bindings keep the series' Python object there, so that the core's
/// map is the only registry of children).
pub struct Child<C, H> {
    pub core: Arc<C>,
    pub handle: Option<H>,
    series: Arc<Series>,
}

/// A child as a renderer sees it during [`Family::visit`].
pub struct ChildView<'a, C> {
    series: &'a Series,
    core: &'a C,
}

impl<C> ChildView<'_, C> {
    #[must_use]
    pub fn values(&self) -> &[String] {
        &self.series.values
    }

    #[must_use]
    pub fn labels(&self) -> &SeriesLabels {
        &self.series.labels
    }

    #[must_use]
    pub fn core(&self) -> &C {
        self.core
    }
}

/// A child taken out of its family; dropping it drops the handle, so callers drop it
/// only after the family's lock is released (a handle's destructor may run Python).
pub type Removed<C, H> = (Arc<[String]>, Child<C, H>);

/// A family of children of type `C`, each with an optional handle `H`.
///
/// Nothing owned by the family is dropped while its lock is held: removal hands the
/// removed children back to the caller. Lookups, creation and removal are O(1)
/// (removal amortised); `children()` walks the live children in insertion order.
pub struct Family<C, H = ()> {
    pub descriptor: Descriptor,
    children: RwLock<OrderedMap<Child<C, H>>>,
    max_children: Option<usize>,
    rejected: AtomicU64,
}

impl<C, H> Family<C, H> {
    #[must_use]
    pub fn new(descriptor: Descriptor, max_children: Option<usize>) -> Self {
        Family {
            descriptor,
            children: RwLock::new(OrderedMap::default()),
            max_children,
            rejected: AtomicU64::new(0),
        }
    }

    fn check_count(&self, got: usize) -> Result<(), MetricError> {
        let expected = self.descriptor.label_names.len();
        if got == expected {
            Ok(())
        } else {
            Err(MetricError::LabelCount { expected, got })
        }
    }

    /// Refuses (and counts) a new child when `len` children already fill the limit.
    fn check_room(&self, len: usize) -> Result<(), MetricError> {
        match self.max_children {
            Some(limit) if len >= limit => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                Err(MetricError::CardinalityLimit {
                    metric: self.descriptor.name.clone(),
                    limit,
                })
            }
            _ => Ok(()),
        }
    }

    /// The child for `values`, created with `make` (and no handle) if new. Refused
    /// when the number of values is wrong or a new child would pass the cardinality
    /// limit.
    pub fn get_or_create(
        &self,
        values: Vec<String>,
        make: impl FnOnce() -> C,
    ) -> Result<Arc<C>, MetricError> {
        self.check_count(values.len())?;
        let mut children = self.children.write();
        if let Some(child) = children.get(&values) {
            return Ok(Arc::clone(&child.core));
        }
        self.check_room(children.len())?;
        let core = Arc::new(make());
        let (key, series) = self.series(values);
        children.insert_new(
            key,
            Child {
                core: Arc::clone(&core),
                handle: None,
                series,
            },
        );
        Ok(core)
    }

    /// The key and the rendered labels of a new child.
    fn series(&self, values: Vec<String>) -> (Arc<[String]>, Arc<Series>) {
        let values: Arc<[String]> = values.into();
        let labels = SeriesLabels::new(&self.descriptor, &values);
        let series = Arc::new(Series {
            values: Arc::clone(&values),
            labels,
        });
        (values, series)
    }

    /// What `read` makes of the child for `values`, if there is one. `read` runs under
    /// the family's lock, so it must not run Python code (cloning a handle is fine).
    pub fn with_child<Q: AsRef<str>, R>(
        &self,
        values: &[Q],
        read: impl FnOnce(&Child<C, H>) -> R,
    ) -> Option<R> {
        self.children.read().get(values).map(read)
    }

    /// Refuses early, without building anything, when a new child could not be added
    /// now (wrong number of values, or the cardinality limit is reached).
    pub fn check_new(&self, count: usize) -> Result<(), MetricError> {
        self.check_count(count)?;
        let len = self.children.read().len();
        self.check_room(len)
    }

    /// Adds a child built outside the lock: `core` with `handle`, for `values`. When
    /// a child of `values` already exists, it is kept: `read` is applied to it and the
    /// unused `handle` comes back, for the caller to drop outside the lock. (A child
    /// without a handle whose core is `core` itself gets `handle`.)
    pub fn insert<R>(
        &self,
        values: Vec<String>,
        core: Arc<C>,
        handle: H,
        read: impl FnOnce(&Child<C, H>) -> R,
    ) -> Result<Inserted<R, H>, MetricError> {
        self.check_count(values.len())?;
        let mut children = self.children.write();
        if let Some(child) = children.get_mut(&values) {
            if child.handle.is_none() && Arc::ptr_eq(&child.core, &core) {
                child.handle = Some(handle);
                return Ok(Inserted::New(read(child)));
            }
            return Ok(Inserted::Existing(read(child), handle));
        }
        self.check_room(children.len())?;
        let (key, series) = self.series(values);
        let child = children.insert_new(
            key,
            Child {
                core,
                handle: Some(handle),
                series,
            },
        );
        Ok(Inserted::New(read(child)))
    }

    /// Removes the child for `values` and hands it back (drop it outside any lock).
    pub fn remove<Q: AsRef<str>>(&self, values: &[Q]) -> Option<Removed<C, H>> {
        self.children.write().remove(values)
    }

    /// Removes, in one pass, the children whose values match every `(label index,
    /// value)` pair, and hands them back.
    pub fn remove_matching(&self, filter: &[(usize, String)]) -> Vec<Removed<C, H>> {
        self.children
            .write()
            .remove_where(|values, _| filter.iter().all(|(i, v)| values[*i] == *v))
    }

    /// Removes every child in O(1) under the lock; the children come back in a value
    /// the caller drops outside it.
    #[must_use = "drop the removed children outside the family's lock"]
    pub fn clear(&self) -> ClearedChildren<C, H> {
        ClearedChildren(self.children.write().take())
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.children.read().len()
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
        self.children
            .read()
            .iter()
            .map(|(k, child)| (k.into(), Arc::clone(&child.core)))
            .collect()
    }

    /// Calls `visit` for every child in insertion order, holding the children lock for
    /// at most [`VISIT_SLICE`] children at a time. `visit` may run with the lock held,
    /// so it must not block or run Python code. A child created during the visit is
    /// seen if it was inserted after the children already visited; a removed one may
    /// still be.
    pub fn visit(&self, mut visit: impl FnMut(ChildView<'_, C>)) {
        let mut batch: Vec<(Arc<Series>, Arc<C>)> = Vec::new();
        let mut next_seq = 0;
        loop {
            {
                let children = self.children.read();
                if next_seq == 0 && children.len() <= VISIT_SLICE {
                    for (_, child) in children.iter() {
                        visit(ChildView {
                            series: &child.series,
                            core: &child.core,
                        });
                    }
                    return;
                }
                for (seq, _, child) in children.iter_from(next_seq).take(VISIT_SLICE) {
                    next_seq = seq + 1;
                    batch.push((Arc::clone(&child.series), Arc::clone(&child.core)));
                }
            }
            if batch.is_empty() {
                return;
            }
            for (series, core) in batch.drain(..) {
                visit(ChildView {
                    series: &series,
                    core: &core,
                });
            }
        }
    }

    /// Calls `visit` on every handle, unless the family is locked right now (then on
    /// none, and returns false). For a garbage collector's traversal, which must not
    /// wait; `visit` runs under the lock.
    pub fn try_visit_handles<E>(
        &self,
        mut visit: impl FnMut(&H) -> Result<(), E>,
    ) -> Result<bool, E> {
        let Some(children) = self.children.try_read() else {
            return Ok(false);
        };
        for (_, child) in children.iter() {
            if let Some(handle) = &child.handle {
                visit(handle)?;
            }
        }
        Ok(true)
    }
}

/// The outcome of [`Family::insert`].
pub enum Inserted<R, H> {
    /// The new child was added.
    New(R),
    /// A child of these values already existed; the unused handle is handed back.
    Existing(R, H),
}

/// Every child of a family, taken out by [`Family::clear`].
pub struct ClearedChildren<C, H>(OrderedMap<Child<C, H>>);

impl<C, H> ClearedChildren<C, H> {
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Calls `f` with each removed child's core.
    pub fn for_each_core(&self, mut f: impl FnMut(&C)) {
        for (_, child) in self.0.iter() {
            f(&child.core);
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
        assert!(f.remove(&["b", "x"]).is_some());
        assert!(f.remove(&["b", "x"]).is_none());
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
        assert_eq!(f.remove_matching(&[(1, "m".into())]).len(), 2);
        assert!(f.is_empty());
    }

    #[test]
    fn insert_keeps_the_first_child_and_returns_the_unused_handle() {
        let f: Family<CounterCore, &'static str> = Family::new(
            Descriptor::new("c", "h", "", MetricKind::Counter, vec!["k".into()]),
            Some(2),
        );
        let first = Arc::new(CounterCore::new());
        let got = f
            .insert(vec!["a".into()], Arc::clone(&first), "first", |c| c.handle)
            .unwrap();
        assert!(matches!(got, Inserted::New(Some("first"))));
        let got = f
            .insert(
                vec!["a".into()],
                Arc::new(CounterCore::new()),
                "second",
                |c| Arc::ptr_eq(&c.core, &first),
            )
            .unwrap();
        assert!(matches!(got, Inserted::Existing(true, "second")));
        assert_eq!(f.with_child(&["a"], |c| c.handle), Some(Some("first")));
        assert_eq!(f.with_child(&["b"], |c| c.handle), None);
        // A child made without a handle gets one when the same core is inserted.
        let bare = f.get_or_create(vec!["b".into()], CounterCore::new).unwrap();
        let got = f.insert(vec!["b".into()], bare, "b", |c| c.handle).unwrap();
        assert!(matches!(got, Inserted::New(Some("b"))));
        assert!(f.check_new(1).is_err(), "the limit of 2 is reached");
        assert!(f
            .insert(vec!["c".into()], Arc::new(CounterCore::new()), "c", |_| ())
            .is_err());
        assert_eq!(f.rejected(), 2);
        let mut seen = Vec::new();
        assert_eq!(
            f.try_visit_handles(|h| {
                seen.push(*h);
                Ok::<(), ()>(())
            }),
            Ok(true)
        );
        assert_eq!(seen, vec!["first", "b"]);
        let cleared = f.clear();
        assert_eq!((cleared.len(), f.len()), (2, 0));
    }
}
