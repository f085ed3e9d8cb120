"""The readings of one endpoint over a sliding window, and increases between two of them.

Totals in a :class:`~vumeter.top.reading.Reading` never go down, so the increase between two
readings is a plain difference, never negative. A group missing from the older reading
started from zero after it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from vumeter.top.buckets import Cumulative, native_buckets
from vumeter.top.reading import Group, Reading

__all__ = ["History", "Increase", "counter_increase", "histogram_increase"]


@dataclass(frozen=True, slots=True)
class Increase:
    """What happened between two readings of one endpoint (``older`` None: since zero)."""

    newer: Reading
    older: Reading | None

    @property
    def seconds(self) -> float:
        return 0.0 if self.older is None else self.newer.time - self.older.time


def counter_increase(span: Increase, key: str) -> dict[Group, float]:
    newer = span.newer.counters.get(key, {})
    older = {} if span.older is None else span.older.counters.get(key, {})
    return {group: max(0.0, total - older.get(group, 0.0)) for group, total in newer.items()}


def histogram_increase(span: Increase, key: str) -> dict[Group, Cumulative]:
    """Cumulative bucket increases per group; native buckets win where a group has both."""
    newer = span.newer.histograms.get(key, {})
    older = {} if span.older is None else span.older.histograms.get(key, {})
    increases: dict[Group, Cumulative] = {}
    for group, totals in newer.items():
        before = older.get(group)
        if totals.native:
            base = {} if before is None else before.native
            increases[group] = native_buckets(
                {b: max(0.0, n - base.get(b, 0.0)) for b, n in totals.native.items()}
            )
        else:
            base_classic = {} if before is None else before.classic
            increases[group] = sorted(
                (bound, max(0.0, n - base_classic.get(bound, 0.0)))
                for bound, n in totals.classic.items()
            )
    return increases


class History:
    """The readings of the last ``window`` seconds (at least the newest two)."""

    def __init__(self, window: float) -> None:
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"window must be a finite number of seconds > 0, got {window!r}")
        self.window = window
        self._readings: deque[Reading] = deque()

    def add(self, reading: Reading) -> None:
        self._readings.append(reading)
        start = reading.time - self.window
        while len(self._readings) > 2 and self._readings[1].time <= start:
            self._readings.popleft()

    @property
    def newest(self) -> Reading | None:
        return self._readings[-1] if self._readings else None

    def last_step(self) -> Increase | None:
        """From the previous reading to the newest; None before the second one."""
        if len(self._readings) < 2:
            return None
        return Increase(self._readings[-1], self._readings[-2])

    def over_window(self) -> Increase | None:
        """From the oldest reading inside the window to the newest; None before the second."""
        if len(self._readings) < 2:
            return None
        return Increase(self._readings[-1], self._readings[0])

    def since_start(self) -> Increase | None:
        """Everything the worker counted (from zero) up to the newest reading."""
        newest = self.newest
        return None if newest is None else Increase(newest, None)
