"""Benchmark: ``observe_many`` on one channel of an interleaved buffer (a strided view).

The view is read in place with the GIL released; before, it was first copied whole
while holding the GIL (a 152 MB stereo buffer: +152 MB peak, a 92 ms stall of every
other thread). Measured side by side: the call's time for the strided channel, for the
same values contiguous, and for numpy's ``ascontiguousarray`` copy of the channel (what
the old code did under the GIL), plus the longest pause of a second Python thread while
the call runs (its ticks stop whenever this thread holds the GIL).

    python benches/bench_strided.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import threading
from collections.abc import Callable
from time import perf_counter

import numpy as np
from prometheus_client import CollectorRegistry

from vumeter import Histogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def timed(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = perf_counter()
        call()
        times.append(perf_counter() - started)
    return statistics.median(times)


def longest_pause(call: Callable[[], object]) -> float:
    """The longest gap between two ticks of another thread while ``call`` runs."""
    done = threading.Event()
    gaps: list[float] = []

    def ticker() -> None:
        last = perf_counter()
        while not done.is_set():
            now = perf_counter()
            gaps.append(now - last)
            last = now

    thread = threading.Thread(target=ticker)
    thread.start()
    call()
    done.set()
    thread.join()
    return max(gaps, default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    frames, repeats = (100_000, 3) if args.quick else (9_500_000, 7)  # 9.5M stereo = 152 MB
    stereo = np.random.default_rng(0).random((frames, 2))
    left = stereo[:, 0]
    contiguous = np.ascontiguousarray(left)
    h = Histogram("strided", "S", registry=CollectorRegistry(), buckets=BUCKETS)
    rows = [
        ("observe_many(stereo[:, 0])", lambda: h.observe_many(left)),
        ("observe_many(contiguous copy)", lambda: h.observe_many(contiguous)),
        ("numpy.ascontiguousarray(stereo[:, 0])", lambda: np.ascontiguousarray(left)),
    ]
    print(f"{frames:,} stereo float64 frames ({stereo.nbytes / 1e6:.0f} MB)")
    print(f"{'':40} {'median':>10} {'longest pause of another thread':>34}")
    for name, call in rows:
        pause = statistics.median(longest_pause(call) for _ in range(repeats))
        print(f"{name:40} {timed(call, repeats) * 1e3:8.2f}ms {pause * 1e3:32.2f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
