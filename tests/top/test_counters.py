"""Reset-corrected totals: counter resets, vanished and new series never make a total drop."""

from __future__ import annotations

import math

from vumeter.top.counters import MonotonicTotals


def _update(totals: MonotonicTotals[str], polled: list[tuple[str, str, float]]) -> dict[str, float]:
    """One poll of ``(series, group, value)``; the group travels as the series' labels."""
    return totals.update([(series, value, group) for series, group, value in polled], str)


def test_a_reset_carries_the_previous_value() -> None:
    totals: MonotonicTotals[str] = MonotonicTotals()
    assert _update(totals, [("s", "g", 100.0)]) == {"g": 100.0}
    assert _update(totals, [("s", "g", 120.0)]) == {"g": 120.0}
    assert _update(totals, [("s", "g", 5.0)]) == {"g": 125.0}  # restarted: 5 new since
    assert _update(totals, [("s", "g", 10.0)]) == {"g": 130.0}


def test_series_sum_into_groups_and_a_vanished_series_keeps_its_total() -> None:
    totals: MonotonicTotals[str] = MonotonicTotals()
    assert _update(totals, [("a", "g", 3.0), ("b", "g", 4.0), ("c", "h", 1.0)]) == {
        "g": 7.0,
        "h": 1.0,
    }
    assert _update(totals, [("a", "g", 5.0)]) == {"g": 9.0, "h": 1.0}  # b and c are gone
    assert _update(totals, []) == {"g": 9.0, "h": 1.0}


def test_a_new_series_counts_from_zero_and_nan_is_skipped() -> None:
    totals: MonotonicTotals[str] = MonotonicTotals()
    _update(totals, [("a", "g", 3.0)])
    assert _update(totals, [("a", "g", 3.0), ("b", "g", 2.0)]) == {"g": 5.0}
    assert _update(totals, [("a", "g", math.nan), ("b", "g", 2.0)]) == {"g": 5.0}
    assert _update(totals, [("a", "g", 4.0), ("b", "g", 2.0)]) == {"g": 6.0}


def test_the_group_is_asked_once_per_new_series_and_none_leaves_it_out() -> None:
    asked: list[str] = []

    def group_of(labels: str) -> str | None:
        asked.append(labels)
        return None if labels == "skip" else labels

    totals: MonotonicTotals[str] = MonotonicTotals()
    assert totals.update([("a", 1.0, "g"), ("b", 5.0, "skip")], group_of) == {"g": 1.0}
    assert totals.update([("a", 2.0, "g"), ("b", 6.0, "skip")], group_of) == {"g": 2.0}
    assert asked == ["g", "skip", "skip"]
