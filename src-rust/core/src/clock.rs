//! Wall-clock time as Unix seconds, the unit of `_created` samples and exemplar timestamps
//! (the same clock as Python's `time.time()`).
//!
//! A caller can pin the time one thread sees for the length of a call ([`at`]): the
//! Python bindings read Python's `time.time()` (so that code patching it, such as
//! `unittest.mock` or freezegun, sees its own time in `_created` and exemplars, as with
//! prometheus_client) and run the constructor, `reset` or exemplar store under it. The
//! core itself never calls into Python, so no Python code runs under a core lock.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static PINNED: Cell<Option<f64>> = const { Cell::new(None) };
}

/// Now: the time pinned on this thread by [`at`], else the system clock.
#[must_use]
pub fn unix_now() -> f64 {
    PINNED.with(Cell::get).unwrap_or_else(system_now)
}

/// The system clock, whatever is pinned.
#[must_use]
pub fn system_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Runs `f` with [`unix_now`] answering `now` on this thread (restored afterwards, also
/// when `f` panics; calls nest).
pub fn at<R>(now: f64, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<f64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            PINNED.with(|pinned| pinned.set(self.0));
        }
    }
    let _restore = Restore(PINNED.with(|pinned| pinned.replace(Some(now))));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_time_is_seen_inside_and_restored_after() {
        let before = unix_now();
        assert!(before > 1.0e9);
        let seen = at(42.5, || (unix_now(), at(7.0, unix_now), unix_now()));
        assert_eq!(seen, (42.5, 7.0, 42.5));
        assert!(unix_now() >= before);
    }

    #[test]
    fn pinned_time_is_per_thread() {
        at(1.0, || {
            let other = std::thread::spawn(unix_now).join().unwrap();
            assert!(other > 1.0e9);
            assert_eq!(unix_now(), 1.0);
        });
    }

    #[test]
    fn restored_after_a_panic() {
        let caught = std::panic::catch_unwind(|| at(3.0, || panic!("in f")));
        assert!(caught.is_err());
        assert!(unix_now() > 1.0e9);
    }
}
