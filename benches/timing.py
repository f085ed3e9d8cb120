"""Timing helpers shared by the benchmarks: medians of alternating rounds."""

from __future__ import annotations

import gc
import statistics
import timeit
from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any


def per_call(func: Callable[[], object], number: int) -> float:
    """Seconds per call of ``number`` back-to-back calls, with the GC off."""
    gc.disable()
    try:
        started = perf_counter()
        for _ in range(number):
            func()
        return (perf_counter() - started) / number
    finally:
        gc.enable()


def alternating(
    candidates: Mapping[str, Callable[[], object]],
    number: int,
    repeats: int,
    warm_up: bool = False,
) -> dict[str, float]:
    """Median seconds per call of each candidate, timed in alternating rounds so that
    machine noise hits all of them alike; with ``warm_up``, each round's timed calls
    follow one untimed call (warm caches)."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, func in candidates.items():
            if warm_up:
                func()
            times[name].append(per_call(func, number))
    return {name: statistics.median(samples) for name, samples in times.items()}


class CacheFlusher:
    """Evicts the CPU caches by writing a buffer larger than any last-level cache, so
    that the next call runs cold, as a scrape does every 15 s in a busy worker."""

    def __init__(self, megabytes: int = 64) -> None:
        import numpy as np

        self._buffer = np.zeros(megabytes << 17)

    def __call__(self) -> None:
        import numpy as np

        np.add(self._buffer, 1.0, out=self._buffer)


def alternating_cold(
    candidates: Mapping[str, Callable[[], object]], repeats: int
) -> dict[str, float]:
    """Median seconds of one call of each candidate right after the caches were flushed,
    in alternating rounds."""
    flush = CacheFlusher()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, func in candidates.items():
            flush()
            times[name].append(per_call(func, 1))
    return {name: statistics.median(samples) for name, samples in times.items()}


def alternating_statements(
    statements: Mapping[str, tuple[str, dict[str, Any]]], number: int, repeats: int
) -> dict[str, float]:
    """Like :func:`alternating` for statements compiled by ``timeit`` (no Python frame
    per call, so the call itself is what is measured)."""
    timers = {
        name: timeit.Timer(statement, globals=namespace)
        for name, (statement, namespace) in statements.items()
    }
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            times[name].append(timer.timeit(number) / number)
    return {name: statistics.median(samples) for name, samples in times.items()}


def format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e9:.1f} ns"
