//! A metric family: its descriptor and its children, one per label-value tuple, kept in
//! insertion order (the order prometheus_client renders them in).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use crate::counter::lock;
use crate::error::MetricError;

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

/// A family of children of type `C`.
pub struct Family<C> {
    pub descriptor: Descriptor,
    children: Mutex<IndexMap<Box<[String]>, Arc<C>>>,
    max_children: Option<usize>,
    rejected: AtomicU64,
}

impl<C> Family<C> {
    #[must_use]
    pub fn new(descriptor: Descriptor, max_children: Option<usize>) -> Self {
        Family {
            descriptor,
            children: Mutex::new(IndexMap::new()),
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
            return Ok(Arc::clone(child));
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
        let child = Arc::new(make());
        children.insert(values.into_boxed_slice(), Arc::clone(&child));
        Ok(child)
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
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect()
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
