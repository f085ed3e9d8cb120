//! An insertion-ordered map from label-value tuples to children, with O(1) lookups and
//! O(1) amortised removal.
//!
//! Entries live in a `Vec` in insertion order, which is the order scrapes render them
//! in (prometheus_client's). Removing an entry leaves a hole (a tombstone) instead of
//! shifting everything after it; once the holes outnumber the live entries, one pass
//! closes them. Each compaction moves at most twice as many slots as there were
//! removals since the last one, so removal stays O(1) amortised, and iteration never
//! walks more than about twice the live entries. A hash table maps each key to its
//! slot; lookups accept any `&[impl AsRef<str>]`, so a caller holding borrowed strings
//! never allocates a key to look one up.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Below this many slots the holes are left alone: closing them would cost more than
/// skipping them.
const MIN_COMPACTION: usize = 32;

struct Slot<V> {
    hash: u64,
    key: Arc<[String]>,
    value: V,
}

pub(crate) struct OrderedMap<V> {
    /// Slot positions, hashed by their keys.
    index: HashTable<usize>,
    slots: Vec<Option<Slot<V>>>,
    /// The insertion number of each slot, holes included: it grows with the position,
    /// so a walk can resume after a point (binary search) even when entries before it
    /// were removed or moved by a compaction.
    seqs: Vec<u64>,
    live: usize,
    next_seq: u64,
    hasher: DefaultHashBuilder,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap {
            index: HashTable::new(),
            slots: Vec::new(),
            seqs: Vec::new(),
            live: 0,
            next_seq: 0,
            hasher: DefaultHashBuilder::default(),
        }
    }
}

fn same_key<Q: AsRef<str>>(stored: &[String], key: &[Q]) -> bool {
    stored.len() == key.len() && stored.iter().zip(key).all(|(a, b)| a == b.as_ref())
}

impl<V> OrderedMap<V> {
    fn hash<Q: AsRef<str>>(&self, key: &[Q]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write_usize(key.len());
        for part in key {
            hasher.write(part.as_ref().as_bytes());
            // A separator, so ("ab", "c") and ("a", "bc") hash apart.
            hasher.write_u8(0xff);
        }
        hasher.finish()
    }

    fn position<Q: AsRef<str>>(&self, hash: u64, key: &[Q]) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| {
                slots[i]
                    .as_ref()
                    .is_some_and(|s| s.hash == hash && same_key(&s.key, key))
            })
            .copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn get<Q: AsRef<str>>(&self, key: &[Q]) -> Option<&V> {
        let at = self.position(self.hash(key), key)?;
        self.slots[at].as_ref().map(|s| &s.value)
    }

    pub(crate) fn get_mut<Q: AsRef<str>>(&mut self, key: &[Q]) -> Option<&mut V> {
        let at = self.position(self.hash(key), key)?;
        self.slots[at].as_mut().map(|s| &mut s.value)
    }

    /// Appends an entry for a key that is not in the map (the caller checked).
    pub(crate) fn insert_new(&mut self, key: Arc<[String]>, value: V) -> &mut V {
        let hash = self.hash(&key);
        debug_assert!(self.position(hash, &key).is_none(), "key already present");
        let at = self.slots.len();
        self.seqs.push(self.next_seq);
        self.next_seq += 1;
        self.slots.push(Some(Slot { hash, key, value }));
        let slots = &self.slots;
        self.index.insert_unique(hash, at, |&i| slot_hash(slots, i));
        self.live += 1;
        match &mut self.slots[at] {
            Some(slot) => &mut slot.value,
            None => unreachable!("the slot was just filled"),
        }
    }

    /// Removes the entry for `key` and hands it back, so the caller decides where it
    /// is dropped (outside any lock).
    pub(crate) fn remove<Q: AsRef<str>>(&mut self, key: &[Q]) -> Option<(Arc<[String]>, V)> {
        let hash = self.hash(key);
        let slots = &self.slots;
        let entry = self
            .index
            .find_entry(hash, |&i| {
                slots[i]
                    .as_ref()
                    .is_some_and(|s| s.hash == hash && same_key(&s.key, key))
            })
            .ok()?;
        let (at, _) = entry.remove();
        let slot = self.slots[at].take()?;
        self.live -= 1;
        self.compact_if_sparse();
        Some((slot.key, slot.value))
    }

    /// Removes every entry for which `doomed` is true, in one pass, and hands them
    /// back.
    pub(crate) fn remove_where(
        &mut self,
        mut doomed: impl FnMut(&[String], &V) -> bool,
    ) -> Vec<(Arc<[String]>, V)> {
        let mut removed = Vec::new();
        for at in 0..self.slots.len() {
            let hit = self.slots[at]
                .as_ref()
                .is_some_and(|s| doomed(&s.key, &s.value));
            if !hit {
                continue;
            }
            if let Some(slot) = self.slots[at].take() {
                if let Ok(entry) = self.index.find_entry(slot.hash, |&i| i == at) {
                    entry.remove();
                }
                self.live -= 1;
                removed.push((slot.key, slot.value));
            }
        }
        self.compact_if_sparse();
        removed
    }

    /// Empties the map in O(1) and hands the old contents back.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Live entries inserted as number `seq` or later, in insertion order, with their
    /// insertion numbers.
    pub(crate) fn iter_from(&self, seq: u64) -> impl Iterator<Item = (u64, &[String], &V)> + '_ {
        let start = self.seqs.partition_point(|&n| n < seq);
        self.slots[start..]
            .iter()
            .zip(&self.seqs[start..])
            .filter_map(|(s, &n)| s.as_ref().map(|s| (n, &*s.key, &s.value)))
    }

    /// Live entries in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[String], &V)> + '_ {
        self.slots
            .iter()
            .filter_map(|s| s.as_ref().map(|s| (&*s.key, &s.value)))
    }

    fn compact_if_sparse(&mut self) {
        let holes = self.slots.len() - self.live;
        if holes <= self.live || self.slots.len() < MIN_COMPACTION {
            if self.live == 0 {
                // Nothing left: drop the holes too (no entry to move).
                self.slots.clear();
                self.seqs.clear();
                self.index.clear();
            }
            return;
        }
        let mut live = self.slots.iter().map(Option::is_some);
        self.seqs.retain(|_| live.next().unwrap_or(false));
        self.slots.retain(Option::is_some);
        if self.slots.capacity() > 4 * self.slots.len().max(MIN_COMPACTION) {
            self.slots.shrink_to(2 * self.slots.len());
            self.seqs.shrink_to(2 * self.slots.len());
        }
        // Every live entry moved: rebuild the positions.
        self.index.clear();
        let slots = &self.slots;
        for at in 0..slots.len() {
            self.index
                .insert_unique(slot_hash(slots, at), at, |&i| slot_hash(slots, i));
        }
    }

    #[cfg(test)]
    fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

fn slot_hash<V>(slots: &[Option<Slot<V>>], at: usize) -> u64 {
    // The index only ever holds positions of live slots.
    slots[at].as_ref().map_or(0, |s| s.hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> Arc<[String]> {
        parts.iter().map(|&p| p.to_string()).collect()
    }

    fn keys(map: &OrderedMap<u32>) -> Vec<u32> {
        map.iter().map(|(_, &v)| v).collect()
    }

    #[test]
    fn keeps_insertion_order_across_removal_and_reinsertion() {
        let mut map = OrderedMap::default();
        for i in 0..5u32 {
            map.insert_new(key(&[&i.to_string()]), i);
        }
        assert_eq!(map.remove(&["1"]), Some((key(&["1"]), 1)));
        assert_eq!(map.remove(&["1"]), None);
        map.insert_new(key(&["1"]), 10);
        assert_eq!(keys(&map), vec![0, 2, 3, 4, 10]);
        assert_eq!(map.get(&["3"]), Some(&3));
        assert_eq!(map.get(&[String::from("10")]), None);
        assert_eq!(map.len(), 5);
    }

    #[test]
    fn keys_with_the_same_concatenation_differ() {
        let mut map = OrderedMap::default();
        map.insert_new(key(&["ab", "c"]), 1);
        map.insert_new(key(&["a", "bc"]), 2);
        assert_eq!(map.get(&["ab", "c"]), Some(&1));
        assert_eq!(map.get(&["a", "bc"]), Some(&2));
        assert_eq!(map.get(&["abc"]), None);
    }

    #[test]
    fn removal_compacts_and_stays_linear() {
        let n: u32 = if cfg!(miri) { 200 } else { 20_000 };
        let mut map = OrderedMap::default();
        for i in 0..n {
            map.insert_new(key(&[&i.to_string()]), i);
        }
        // Remove every other entry, then all but the last few.
        for i in (0..n).step_by(2) {
            assert!(map.remove(&[i.to_string()]).is_some());
        }
        assert!(map.slot_count() <= 2 * map.len() + MIN_COMPACTION);
        assert_eq!(keys(&map), (1..n).step_by(2).collect::<Vec<_>>());
        for i in (1..n - 6).step_by(2) {
            assert!(map.remove(&[i.to_string()]).is_some());
        }
        assert_eq!(keys(&map), vec![n - 5, n - 3, n - 1]);
        assert!(map.slot_count() <= MIN_COMPACTION);
        for i in [n - 5, n - 3, n - 1] {
            assert_eq!(map.get(&[i.to_string()]), Some(&i));
        }
    }

    #[test]
    fn remove_where_and_take() {
        let mut map = OrderedMap::default();
        for i in 0..100u32 {
            map.insert_new(key(&[&(i % 3).to_string(), &i.to_string()]), i);
        }
        let removed = map.remove_where(|k, _| k[0] == "0");
        assert_eq!(removed.len(), 34);
        assert_eq!(map.len(), 66);
        assert!(map.get(&["0", "3"]).is_none());
        assert_eq!(map.get(&["1", "4"]), Some(&4));
        *map.get_mut(&["1", "4"]).unwrap() = 44;
        let old = map.take();
        assert_eq!(map.len(), 0);
        assert_eq!(old.len(), 66);
        assert_eq!(old.get(&["1", "4"]), Some(&44));
    }
}
