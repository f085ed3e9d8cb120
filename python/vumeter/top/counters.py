"""Counter totals that never go down: reset correction per series, then sums per group.

A worker that restarts starts its counters from zero again; a label set that is removed
disappears from the exposition. Summed naively, either makes a group's total drop and its
rate negative. :class:`MonotonicTotals` corrects the way PromQL's ``rate()`` does, series by
series: a value below the previous one is a reset, so the previous value is carried as an
offset. A series that is gone keeps its last total in its group. A series first seen after
the first poll counts from zero: it was created since the previous poll.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["MonotonicTotals"]

G = TypeVar("G", bound=Hashable)
L = TypeVar("L")


class MonotonicTotals(Generic[G]):
    """Reset-corrected totals of counter series, summed into groups of type ``G``, one poll
    at a time."""

    __slots__ = ("_retired", "_series")

    def __init__(self) -> None:
        # series -> (last raw value, offset carried from resets, group)
        self._series: dict[Hashable, tuple[float, float, G]] = {}
        # group -> totals of series that are gone
        self._retired: dict[G, float] = {}

    def update(
        self, samples: Iterable[tuple[Hashable, float, L]], group_of: Callable[[L], G | None]
    ) -> dict[G, float]:
        """Take one poll's ``(series, value, labels)`` triples; return every group's total.

        ``group_of(labels)`` names a series' group; it is called only for a series not
        seen before (a poll mostly repeats the last one's series), and a series it gives
        None is left out. NaN values are skipped (the series keeps its previous state); a
        series given twice in one poll counts once, with its last value.
        """
        previous = self._series
        current: dict[Hashable, tuple[float, float, G]] = {}
        for series, value, labels in samples:
            state = previous.get(series)
            if value != value:  # NaN, the one value unequal to itself
                if state is not None:
                    current[series] = state
                continue
            if state is None:
                group = group_of(labels)
                if group is not None:
                    current[series] = (value, 0.0, group)
                continue
            last, offset, group = state
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
