"""Benchmark: vumeter's native core against prometheus_client (and numpy for bulk paths),
side by side in one process, in alternating rounds so machine noise hits both sides.

Goals from the native-core issue (medians on the 2-core dev machine):

- bound child ``observe``: >= 20x faster than prometheus_client
- ``labels(a, b).observe``: >= 10x
- ``Counter.inc``: >= 15x
- ``observe_many`` of 1,000,000 float64 with 8 arbitrary buckets: >= 3x faster than
  numpy ``searchsorted`` + ``bincount``, >= 300x faster than a prometheus_client loop
- ``observe_many`` with 10 linear buckets: <= 3x the time of ``numpy.sum``
- rendering 1,000 histogram (8 buckets) + 1,000 counter children: >= 20x faster

    python benches/bench_core.py [--quick] [--repeats R]

prints a table of medians and ratios; exits 0 whatever the ratios (goals are reported,
not asserted: this machine is noisy).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import threading
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import prometheus_client

import vumeter

ARBITRARY_8 = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
LINEAR_10 = tuple(i / 10 for i in range(1, 11))


@dataclass(frozen=True)
class Comparison:
    name: str
    ours: float  # median seconds per operation
    theirs: float
    baseline: str
    goal: str
    met: bool

    @property
    def ratio(self) -> float:
        return self.theirs / self.ours


def median_time(func: Callable[[], object], number: int, repeats: int) -> float:
    """Median seconds per call over ``repeats`` rounds of ``number`` calls."""
    times = []
    for _ in range(repeats):
        gc.disable()
        started = perf_counter()
        for _ in range(number):
            func()
        times.append((perf_counter() - started) / number)
        gc.enable()
    return statistics.median(times)


def alternate(
    ours: Callable[[], object], theirs: Callable[[], object], number: int, repeats: int
) -> tuple[float, float]:
    """Medians of both, measured in alternating rounds."""
    our_times, their_times = [], []
    for _ in range(repeats):
        our_times.append(median_time(ours, number, 1))
        their_times.append(median_time(theirs, number, 1))
    return statistics.median(our_times), statistics.median(their_times)


def bench_hot_paths(scale: int, repeats: int) -> list[Comparison]:
    """Per-call costs, each statement timed in timeit's compiled loop (no extra Python
    frame per call, so the call itself is what is measured, on both sides)."""
    namespaces = {}
    for side, lib in (("ours", vumeter), ("theirs", prometheus_client)):
        registry = lib.CollectorRegistry()
        h = lib.Histogram("h", "h", ["a", "b"], registry=registry)
        namespaces[side] = {
            "h": h,
            "child": h.labels("x", "y"),
            "counter": lib.Counter("c", "c", registry=registry),
        }
    cases = [
        ("bound child observe", "child.observe(0.3)", 20),
        ("labels(a, b).observe", "h.labels('x', 'y').observe(0.3)", 10),
        ("Counter.inc", "counter.inc()", 15),
    ]
    number = 2000 * scale
    results = []
    for name, statement, goal in cases:
        ours_timer = timeit.Timer(statement, globals=namespaces["ours"])
        theirs_timer = timeit.Timer(statement, globals=namespaces["theirs"])
        ours_times, theirs_times = [], []
        for _ in range(repeats):
            ours_times.append(ours_timer.timeit(number) / number)
            theirs_times.append(theirs_timer.timeit(number) / number)
        ours, theirs = statistics.median(ours_times), statistics.median(theirs_times)
        results.append(
            Comparison(
                name, ours, theirs, "prometheus_client", f">= {goal}x", theirs / ours >= goal
            )
        )
    return results


def bench_bulk(values: int, repeats: int) -> list[Comparison]:
    rng = np.random.default_rng(0)
    data = rng.random(values)
    registry = vumeter.CollectorRegistry()
    arbitrary = vumeter.Histogram("arb", "a", registry=registry, buckets=ARBITRARY_8)
    linear = vumeter.Histogram("lin", "l", registry=registry, buckets=LINEAR_10)
    edges = np.array([*ARBITRARY_8, np.inf])

    def numpy_bucketing() -> object:
        return np.bincount(np.searchsorted(edges, data, side="left"), minlength=len(edges))

    ours_arb, numpy_arb = alternate(
        lambda: arbitrary.observe_many(data), numpy_bucketing, 1, repeats
    )
    ours_lin, numpy_sum = alternate(
        lambda: linear.observe_many(data), lambda: np.sum(data), 1, repeats
    )

    # A prometheus_client loop over the whole array takes ~1 s; time 1/20 of it and scale.
    loop_share = max(values // 20, 1)
    theirs_h = prometheus_client.Histogram(
        "p", "p", registry=prometheus_client.CollectorRegistry(), buckets=ARBITRARY_8
    )
    part = data[:loop_share].tolist()

    def prometheus_loop() -> None:
        observe = theirs_h.observe
        for v in part:
            observe(v)

    loop_time = median_time(prometheus_loop, 1, max(3, repeats // 3)) * (values / loop_share)
    return [
        Comparison(
            "observe_many 8 arbitrary buckets",
            ours_arb,
            numpy_arb,
            "numpy searchsorted+bincount",
            ">= 3x",
            numpy_arb / ours_arb >= 3,
        ),
        Comparison(
            "observe_many 8 arbitrary buckets",
            ours_arb,
            loop_time,
            "prometheus_client loop",
            ">= 300x",
            loop_time / ours_arb >= 300,
        ),
        Comparison(
            "observe_many 10 linear buckets",
            ours_lin,
            numpy_sum,
            "numpy.sum",
            ">= 0.33x (ours <= 3x sum)",
            ours_lin / numpy_sum <= 3,
        ),
    ]


def bench_render(children: int, repeats: int) -> list[Comparison]:
    def populate(lib: object, registry: object) -> None:
        h = lib.Histogram("render_seconds", "h", ["series"], registry=registry, buckets=ARBITRARY_8)  # type: ignore[attr-defined]
        c = lib.Counter("render_events", "c", ["series"], registry=registry)  # type: ignore[attr-defined]
        for i in range(children):
            h.labels(str(i)).observe(i / children)
            c.labels(str(i)).inc(i)

    ours_registry, theirs_registry = (
        vumeter.CollectorRegistry(),
        prometheus_client.CollectorRegistry(),
    )
    populate(vumeter, ours_registry)
    populate(prometheus_client, theirs_registry)
    ours, theirs = alternate(
        lambda: vumeter.generate_latest(ours_registry),
        lambda: prometheus_client.generate_latest(theirs_registry),
        1,
        repeats,
    )
    return [
        Comparison(
            f"render {children}+{children} children",
            ours,
            theirs,
            "prometheus_client",
            ">= 20x",
            theirs / ours >= 20,
        )
    ]


def bench_threads(values: int, threads: int) -> str:
    """observe_many from several threads at once (the GIL is released while bucketing)."""
    registry = vumeter.CollectorRegistry()
    h = vumeter.Histogram("par", "p", registry=registry, buckets=ARBITRARY_8)
    data = np.random.default_rng(1).random(values)

    def work(rounds: int) -> None:
        for _ in range(rounds):
            h.observe_many(data)

    def timed(n_threads: int) -> float:
        pool = [threading.Thread(target=work, args=(8,)) for _ in range(n_threads)]
        started = perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return perf_counter() - started

    one = statistics.median(timed(1) for _ in range(3))
    many = statistics.median(timed(threads) for _ in range(3))
    speedup = one * threads / many
    return f"{threads} threads calling observe_many together: {speedup:.2f}x the throughput of one"


def report(results: list[Comparison]) -> None:
    print("ratio = baseline time / vumeter time (higher is better for vumeter)")
    print(f"{'benchmark':36} {'vs':28} {'vumeter':>12} {'baseline':>12} {'ratio':>8}  goal")
    for r in results:
        print(
            f"{r.name:36} {r.baseline:28} {r.ours * 1e9:10.0f}ns {r.theirs * 1e9:10.0f}ns "
            f"{r.ratio:7.1f}x  {r.goal} {'met' if r.met else 'NOT MET'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement"
    )
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    scale, values, children, repeats = (
        (1, 10_000, 50, 3) if args.quick else (50, 1_000_000, 1000, args.repeats)
    )
    results = (
        bench_hot_paths(scale, repeats)
        + bench_bulk(values, repeats)
        + bench_render(children, repeats)
    )
    report(results)
    print(bench_threads(values, 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
