"""Benchmark: vumeter's ``observe`` against client_golang's ``Observe``, native (factor
1.1, schema 3) and classic (client_golang's 11 default buckets in both), one value at a
time from the lognormal distribution of bench_native_histogram (mu -3, sigma 1.5), and
vumeter's ``observe_many`` per value beside them.

    python -m benches.bench_client_golang [--quick] [--repeats R]

vumeter is timed in this process (medians of alternating rounds, benches/timing.py).
client_golang cannot share a Python process, so its benchmarks
(tools/golang_reference/observe_bench_test.go) run as ``go test -bench`` in a
subprocess, R runs each; their median ns/op is set beside vumeter's. A vumeter figure
includes the CPython call (and the loop that makes it, measured on its own below); a Go
figure is a compiled call. Both use client_golang's defaults otherwise: zero threshold
2^-128 and no bucket limit (vumeter's default of 160 is turned off to match).

Without Go or client_golang, client_golang is reported as missing; the script exits 0
whatever the figures are (they are reported, not asserted).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
from collections.abc import Callable

import numpy as np
import prometheus_client
from tests.support import golang

import vumeter
from benches.timing import alternating

FACTOR = 1.1  # schema 3, client_golang's usual factor
GO_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The number of values cycled through, as in the Go benchmark.
VALUES = 1 << 12


def lognormal_values(size: int) -> np.ndarray:
    return np.random.default_rng(1).lognormal(-3.0, 1.5, size=size)


def vumeter_histograms() -> tuple[vumeter.Histogram, vumeter.Histogram]:
    registry = prometheus_client.CollectorRegistry()
    native = vumeter.Histogram(
        "native",
        "N",
        registry=registry,
        native_histogram_bucket_factor=FACTOR,
        native_histogram_max_buckets=0,  # client_golang's default: no limit
    )
    classic = vumeter.Histogram("classic", "C", registry=registry, buckets=GO_DEFAULT_BUCKETS)
    return native, classic


def bench_vumeter(scale: int, repeats: int) -> dict[str, float]:
    """Seconds per value of each vumeter candidate (median of alternating rounds)."""
    native, classic = vumeter_histograms()
    values = lognormal_values(VALUES).tolist()
    bulk = lognormal_values(VALUES * 25 * scale)
    # Every bucket exists before timing, as in the Go benchmark: the steady state.
    native.observe_many(bulk)
    classic.observe_many(bulk)

    def each(observe: Callable[[float], None]) -> Callable[[], None]:
        def run() -> None:
            for v in values:
                observe(v)

        return run

    def loop_alone() -> None:
        for _ in values:
            pass

    per_pass = alternating(
        {
            "vumeter native observe": each(native.observe),
            "vumeter classic observe": each(classic.observe),
            "Python for loop alone": loop_alone,
            "vumeter native observe_many": lambda: native.observe_many(bulk),
            "vumeter classic observe_many": lambda: classic.observe_many(bulk),
        },
        number=5 * scale,
        repeats=repeats,
        warm_up=True,
    )
    return {
        name: seconds / (len(bulk) if "observe_many" in name else len(values))
        for name, seconds in per_pass.items()
    }


def bench_golang(scale: int, repeats: int) -> dict[str, float] | str:
    """Median seconds per Observe of each client_golang benchmark, or why there are none."""
    reason = golang.missing()
    if reason is not None:
        return reason
    try:
        runs = golang.run_benchmarks(
            "^BenchmarkObserve(Native|Classic)$", f"{200_000 * scale}x", repeats
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as error:
        stderr = getattr(error, "stderr", "") or ""
        return f"go test -bench failed: {error} {stderr}".strip()
    return {name: statistics.median(ns) / 1e9 for name, ns in runs.items()}


def report(ours: dict[str, float], theirs: dict[str, float] | str) -> None:
    print(f"{'one value (lognormal -3, 1.5)':<40}{'median ns':>11}{'x client_golang':>17}")
    if isinstance(theirs, str):
        print(f"client_golang: missing ({theirs})")
        theirs = {}
    else:
        print(f"client_golang: {golang.client_golang_package()}, {golang.go_version()}")
    references = {
        "native": theirs.get("BenchmarkObserveNative"),
        "classic": theirs.get("BenchmarkObserveClassic"),
    }
    for kind, reference in references.items():
        if reference is not None:
            print(f"{f'client_golang {kind} Observe (Go)':<40}{reference * 1e9:>11.1f}{1:>17.2f}")
        for name, seconds in ours.items():
            if kind in name.split():
                ratio = f"{seconds / reference:>17.2f}" if reference else f"{'-':>17}"
                print(f"{name:<40}{seconds * 1e9:>11.1f}{ratio}")
    loop = ours["Python for loop alone"]
    print(f"{'Python for loop alone (in each observe)':<40}{loop * 1e9:>11.1f}")
    print(
        "client_golang runs in its own process (go test -bench); vumeter's observe "
        "includes the CPython call."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    scale = 1 if args.quick else 10
    repeats = 3 if args.quick else args.repeats
    report(bench_vumeter(scale, repeats), bench_golang(scale, repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
