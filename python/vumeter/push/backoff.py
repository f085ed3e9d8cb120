"""Exponential backoff with jitter for retrying failed pushes.

After the n-th consecutive failure the next attempt waits ``min(maximum, initial * 2**n)``
seconds, of which the second half is random ("equal jitter"): workers that lost the same
gateway at the same moment do not all come back at the same moment, and a retry never
waits less than half of the nominal delay.
"""

from __future__ import annotations

import math
import random


class Backoff:
    """Delays for consecutive failures; ``reset()`` after a success."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        if not (math.isfinite(initial) and initial > 0):
            raise ValueError(f"initial backoff must be a finite number > 0, got {initial!r}")
        if not (math.isfinite(maximum) and maximum >= initial):
            raise ValueError(
                f"maximum backoff must be a finite number >= initial ({initial}), got {maximum!r}"
            )
        self._initial = initial
        self._maximum = maximum
        self._rng = rng if rng is not None else random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last ``reset()``."""
        return self._failures

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        nominal = min(self._maximum, self._initial * 2.0 ** min(self._failures, 62))
        self._failures += 1
        half = nominal / 2.0
        return half + self._rng.uniform(0.0, half)

    def reset(self) -> None:
        self._failures = 0
