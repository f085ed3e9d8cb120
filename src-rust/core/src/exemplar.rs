//! OpenMetrics exemplars: the labels (a trace id, usually) of one observation.

use std::sync::OnceLock;

use crate::error::MetricError;
use crate::sync::{self, Mutex};

/// OpenMetrics caps the combined length of an exemplar's label names and values.
pub const MAX_EXEMPLAR_RUNES: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Sorted by name, as they are rendered.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp: f64,
}

impl Exemplar {
    /// Validates `labels` the way prometheus_client does (legacy label names, no `__`
    /// prefix, at most 128 characters in all) and sorts them for rendering.
    pub fn new(
        mut labels: Vec<(String, String)>,
        value: f64,
        timestamp: f64,
    ) -> Result<Self, MetricError> {
        let mut runes = 0;
        for (name, value) in &labels {
            if !is_valid_label_name(name) {
                return Err(MetricError::InvalidExemplar(format!(
                    "Invalid label metric name: {name} (exemplar label names must match \
                     [a-zA-Z_][a-zA-Z0-9_]* and not start with __)"
                )));
            }
            runes += name.chars().count() + value.chars().count();
        }
        if runes > MAX_EXEMPLAR_RUNES {
            return Err(MetricError::InvalidExemplar(format!(
                "Exemplar labels have {runes} UTF-8 characters, exceeding the limit of \
                 {MAX_EXEMPLAR_RUNES}"
            )));
        }
        labels.sort();
        Ok(Exemplar {
            labels,
            value,
            timestamp,
        })
    }
}

/// The latest exemplar of each bucket of a child (one slot for a counter). The slots
/// are allocated with the first exemplar, so a child that never gets one pays for a
/// single empty pointer-sized cell.
#[derive(Default)]
pub struct ExemplarSlots(OnceLock<Box<[Mutex<Option<Exemplar>>]>>);

impl ExemplarSlots {
    #[must_use]
    pub const fn new() -> Self {
        ExemplarSlots(OnceLock::new())
    }

    /// Keeps `exemplar` as the latest of slot `index` of `len` slots.
    pub fn store(&self, len: usize, index: usize, exemplar: Exemplar) {
        let slots = if let Some(slots) = self.0.get() {
            slots
        } else {
            // Initialised inside a fork gate section, so a fork never copies the
            // once-lock mid-initialisation.
            let _section = sync::enter();
            self.0
                .get_or_init(|| (0..len).map(|_| Mutex::new(None)).collect())
        };
        let previous = slots[index].lock().replace(exemplar);
        drop(previous);
    }

    /// The exemplars of `len` slots (all None when none was ever stored).
    #[must_use]
    pub fn snapshot(&self, len: usize) -> Vec<Option<Exemplar>> {
        match self.0.get() {
            Some(slots) => slots.iter().map(|slot| slot.lock().clone()).collect(),
            None => vec![None; len],
        }
    }

    /// Slot `index`, locked; `None` without locking while no slot was ever stored
    /// (for readers that borrow the exemplar instead of cloning it).
    #[must_use]
    pub fn peek(&self, index: usize) -> Option<sync::MutexGuard<'_, Option<Exemplar>>> {
        self.0.get().map(|slots| slots[index].lock())
    }

    /// The exemplar of slot `index`, if any.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<Exemplar> {
        self.0.get().and_then(|slots| slots[index].lock().clone())
    }

    /// Forgets every exemplar (counter reset).
    pub fn clear(&self) {
        if let Some(slots) = self.0.get() {
            for slot in slots {
                let previous = slot.lock().take();
                drop(previous);
            }
        }
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*` without the reserved `__` prefix.
#[must_use]
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_validates() {
        let e = Exemplar::new(
            vec![("z".into(), "1".into()), ("a".into(), "2".into())],
            1.5,
            3.0,
        )
        .unwrap();
        assert_eq!(e.labels[0].0, "a");
        assert!(Exemplar::new(vec![("__x".into(), String::new())], 0.0, 0.0).is_err());
        assert!(Exemplar::new(vec![("1x".into(), String::new())], 0.0, 0.0).is_err());
        let long = "x".repeat(128);
        assert!(Exemplar::new(vec![("t".into(), long)], 0.0, 0.0).is_err());
        let fits = "x".repeat(127);
        assert!(Exemplar::new(vec![("t".into(), fits)], 0.0, 0.0).is_ok());
    }
}
