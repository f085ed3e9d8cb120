//! Wall-clock time as Unix seconds, the unit of `_created` samples and exemplar timestamps
//! (the same clock as Python's `time.time()`).

use std::time::{SystemTime, UNIX_EPOCH};

#[must_use]
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
