"""Reset-corrected totals: counter resets, vanished and new series never make a total drop."""

from __future__ import annotations

import math

from vumeter.top.counters import MonotonicTotals


def test_a_reset_carries_the_previous_value() -> None:
    totals: MonotonicTotals[str] = MonotonicTotals()
    assert totals.update([("s", "g", 100.0)]) == {"g": 100.0}
    assert totals.update([("s", "g", 120.0)]) == {"g": 120.0}
    assert totals.update([("s", "g", 5.0)]) == {"g": 125.0}  # restarted: 5 new since
    assert totals.update([("s", "g", 10.0)]) == {"g": 130.0}


def test_series_sum_into_groups_and_a_vanished_series_keeps_its_total() -> None:
    totals: MonotonicTotals[str] = MonotonicTotals()
    assert totals.update([("a", "g", 3.0), ("b", "g", 4.0), ("c", "h", 1.0)]) == {
        "g": 7.0,
        "h": 1.0,
    }
    assert totals.update([("a", "g", 5.0)]) == {"g": 9.0, "h": 1.0}  # b and c are gone
    assert totals.update([]) == {"g": 9.0, "h": 1.0}


def test_a_new_series_counts_from_zero_and_nan_is_skipped() -> None:
    totals: MonotonicTotals[str] = MonotonicTotals()
    totals.update([("a", "g", 3.0)])
    assert totals.update([("a", "g", 3.0), ("b", "g", 2.0)]) == {"g": 5.0}
    assert totals.update([("a", "g", math.nan), ("b", "g", 2.0)]) == {"g": 5.0}
    assert totals.update([("a", "g", 4.0), ("b", "g", 2.0)]) == {"g": 6.0}
