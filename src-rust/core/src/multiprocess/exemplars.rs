//! Exemplars in the cell file: one fixed slot per series and bucket that ever had one,
//! rewritten in place under a sequence lock, so that a reader in another process gets
//! the latest exemplar whole (prometheus_client's multiprocess mode keeps none).
//!
//! A slot is [`SLOT_WORDS`] atomic words: the sequence (odd while a write is under
//! way), the value and timestamp as f64 bits, the length of the labels' JSON, then the
//! JSON packed into the remaining words. Every word is read and written atomically.

use std::sync::atomic::{fence, AtomicU64, Ordering};

use crate::exemplar::Exemplar;

const HEAD_WORDS: usize = 4;
/// Room for the labels' JSON: OpenMetrics limits an exemplar's labels to 128
/// characters, at most 512 bytes of UTF-8, plus the JSON punctuation.
const TEXT_WORDS: usize = 80;
pub const SLOT_WORDS: usize = HEAD_WORDS + TEXT_WORDS;

/// Writes `exemplar` into the slot (one writer at a time: the backend's lock is held).
/// An exemplar whose labels do not fit is left out; false then.
pub fn write(slot: &[AtomicU64], exemplar: &Exemplar) -> bool {
    let text = serde_json::to_vec(&exemplar.labels).expect("labels are strings");
    if text.len() > TEXT_WORDS * 8 || slot.len() < SLOT_WORDS {
        return false;
    }
    let seq = slot[0].load(Ordering::Relaxed);
    slot[0].store(seq | 1, Ordering::Relaxed);
    // Orders the odd sequence before the data: a reader that sees new data sees it.
    fence(Ordering::Release);
    slot[1].store(exemplar.value.to_bits(), Ordering::Relaxed);
    slot[2].store(exemplar.timestamp.to_bits(), Ordering::Relaxed);
    slot[3].store(text.len() as u64, Ordering::Relaxed);
    for (word, chunk) in slot[HEAD_WORDS..].iter().zip(text.chunks(8)) {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        word.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
    }
    slot[0].store((seq | 1) + 1, Ordering::Release);
    true
}

/// The exemplar in the slot, or None when it holds none or keeps changing under the
/// reader (three tries).
#[must_use]
pub fn read(slot: &[AtomicU64]) -> Option<Exemplar> {
    if slot.len() < SLOT_WORDS {
        return None;
    }
    for _ in 0..3 {
        let before = slot[0].load(Ordering::Acquire);
        if before == 0 {
            return None;
        }
        if before % 2 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let value = f64::from_bits(slot[1].load(Ordering::Relaxed));
        let timestamp = f64::from_bits(slot[2].load(Ordering::Relaxed));
        let len = (slot[3].load(Ordering::Relaxed) as usize).min(TEXT_WORDS * 8);
        let mut text = Vec::with_capacity(len.next_multiple_of(8));
        for word in &slot[HEAD_WORDS..HEAD_WORDS + len.div_ceil(8)] {
            text.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        text.truncate(len);
        // Orders the data reads before the second sequence read.
        fence(Ordering::Acquire);
        if slot[0].load(Ordering::Relaxed) != before {
            continue;
        }
        let labels = serde_json::from_slice(&text).ok()?;
        return Some(Exemplar {
            labels,
            value,
            timestamp,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_round_trips_and_is_rewritten_in_place() {
        let slot: Vec<AtomicU64> = (0..SLOT_WORDS).map(|_| AtomicU64::new(0)).collect();
        assert_eq!(read(&slot), None);
        let first = Exemplar::new(vec![("trace_id".into(), "ab\"c".into())], 0.5, 10.0).unwrap();
        assert!(write(&slot, &first));
        assert_eq!(read(&slot), Some(first));
        let second = Exemplar::new(vec![("span".into(), "é".repeat(60))], 2.0, 11.0).unwrap();
        assert!(write(&slot, &second));
        assert_eq!(read(&slot), Some(second));
    }

    #[test]
    fn a_reader_never_sees_a_torn_exemplar() {
        let slot: Vec<AtomicU64> = (0..SLOT_WORDS).map(|_| AtomicU64::new(0)).collect();
        let rounds = crate::test_rounds(2_000);
        let make = |i: u32| {
            let text = if i % 2 == 0 {
                "a".repeat(100)
            } else {
                "b".repeat(3)
            };
            Exemplar::new(vec![("k".into(), text)], f64::from(i), f64::from(i)).unwrap()
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..rounds {
                    write(&slot, &make(i));
                }
            });
            for _ in 0..rounds {
                if let Some(e) = read(&slot) {
                    let i = e.value as u32;
                    assert_eq!(e, make(i), "value, timestamp and labels of one write");
                }
            }
        });
    }
}
