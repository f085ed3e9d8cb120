"""Counter totals that never go down: reset correction per series, then sums per group.

A worker that restarts starts its counters from zero again; a label set that is removed
disappears from the exposition. Summed naively, either makes a group's total drop and its
rate negative. :class:`MonotonicTotals` corrects the way PromQL's ``rate()`` does, series by
series: a value below the previous one is a reset, so the previous value is carried as an
offset. A series that is gone keeps its last total in its group. A series first seen after
the first poll counts from zero: it was created since the previous poll.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["MonotonicTotals"]

G = TypeVar("G", bound=Hashable)


class MonotonicTotals(Generic[G]):
    """Reset-corrected totals of counter series, summed into groups of type ``G``, one poll
    at a time."""

    __slots__ = ("_retired", "_series")

    def __init__(self) -> None:
        # series -> (last raw value, offset carried from resets, group)
        self._series: dict[Hashable, tuple[float, float, G]] = {}
        # group -> totals of series that are gone
        self._retired: dict[G, float] = {}

    def update(self, values: Iterable[tuple[Hashable, G, float]]) -> dict[G, float]:
        """Take one poll's ``(series, group, value)`` triples; return every group's total.

        NaN values are skipped (the series keeps its previous state); a series given twice
        in one poll counts once, with its last value.
        """
        previous = self._series
        current: dict[Hashable, tuple[float, float, G]] = {}
        for series, group, value in values:
            if math.isnan(value):
                kept = previous.get(series)
                if kept is not None:
                    current[series] = kept
                continue
            state = previous.get(series)
            offset = 0.0
            if state is not None:
                last, offset, _ = state
                if value < last:
                    offset += last
            current[series] = (value, offset, group)
        for series in previous.keys() - current.keys():
            last, offset, group = previous[series]
            self._retired[group] = self._retired.get(group, 0.0) + last + offset
        self._series = current
        totals = dict(self._retired)
        for value, offset, group in current.values():
            totals[group] = totals.get(group, 0.0) + value + offset
        return totals
