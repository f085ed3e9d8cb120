"""Exponential backoff with equal jitter: how every vumeter background task waits between
failed attempts (Pushgateway pushes, NVML polls, log deliveries).

After ``n`` consecutive failures the nominal wait is ``min(maximum, initial * multiplier**n)``;
the wait used is a random point in its upper part, ``[nominal * (1 - jitter), nominal]``.
With the default ``jitter=0.5`` ("equal jitter") half of the wait is fixed and half random:
workers that lost the same back end at the same moment do not all come back at the same
moment, a retry never comes sooner than half the nominal delay, and none waits longer than
``maximum``.
"""

from __future__ import annotations

import math
import random

__all__ = ["Backoff", "backoff_delay"]

_MAX_EXPONENT = 62  # 2**62 overflows no float and exceeds any sensible maximum


def backoff_delay(
    failures: int,
    *,
    initial: float,
    maximum: float,
    multiplier: float = 2.0,
    jitter: float = 0.5,
    rng: random.Random | None = None,
) -> float:
    """The wait after ``failures`` (>= 1) consecutive failures, jittered as described above."""
    exponent = min(max(failures - 1, 0), _MAX_EXPONENT)
    nominal = min(maximum, initial * multiplier**exponent)
    if not jitter:
        return nominal
    draw = (rng or random).uniform(0.0, nominal * jitter)
    return nominal * (1.0 - jitter) + draw


class Backoff:
    """Delays for consecutive failures; ``reset()`` after a success.

    ``next_delay()`` records one more failure and returns the wait before the next attempt.
    """

    def __init__(
        self,
        initial: float,
        maximum: float,
        rng: random.Random | None = None,
        *,
        multiplier: float = 2.0,
        jitter: float = 0.5,
    ) -> None:
        if not (math.isfinite(initial) and initial > 0):
            raise ValueError(f"initial backoff must be a finite number > 0, got {initial!r}")
        if not (math.isfinite(maximum) and maximum >= initial):
            raise ValueError(
                f"maximum backoff must be a finite number >= initial ({initial}), got {maximum!r}"
            )
        if not multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {multiplier!r}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {jitter!r}")
        self._initial = initial
        self._maximum = maximum
        self._multiplier = multiplier
        self._jitter = jitter
        self._rng = rng if rng is not None else random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last ``reset()``."""
        return self._failures

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        self._failures += 1
        return backoff_delay(
            self._failures,
            initial=self._initial,
            maximum=self._maximum,
            multiplier=self._multiplier,
            jitter=self._jitter,
            rng=self._rng,
        )

    def reset(self) -> None:
        self._failures = 0
