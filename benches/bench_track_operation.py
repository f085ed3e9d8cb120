"""Benchmark: ``MetricsCollector.track_operation`` against the prometheus_client equivalent.

The goal: ``track_operation`` costs at most a quarter of what the same
instrumentation costs with prometheus_client, namely a labelled histogram observe plus a
labelled counter increment around the block. Both run in this process on their own
registries, with an empty block, in alternating rounds so that machine noise hits both.

    python benches/bench_track_operation.py [--iterations N] [--repeats R] [--max-ratio X]

prints the median ns per operation of each and their ratio; with ``--max-ratio`` it exits
1 when the ratio is above X.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter

import prometheus_client

from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector

OPERATION = "enhance"
DATASET = "librispeech"
GOAL_RATIO = 0.25


@dataclass(frozen=True)
class BenchResult:
    vumeter_ns: float
    prometheus_client_ns: float
    iterations: int
    repeats: int

    @property
    def ratio(self) -> float:
        return self.vumeter_ns / self.prometheus_client_ns


def vumeter_round(iterations: int) -> Callable[[], float]:
    """A timed round of ``track_operation``; returns ns per operation."""
    collector = MetricsCollector(AudioProcessingMetrics(CollectorRegistry()))
    track = collector.track_operation

    def run() -> float:
        started = perf_counter()
        for _ in range(iterations):
            with track(OPERATION, DATASET):
                pass
        return (perf_counter() - started) / iterations * 1e9

    return run


def prometheus_client_round(iterations: int) -> Callable[[], float]:
    """The same instrumentation written directly against prometheus_client."""
    registry = prometheus_client.CollectorRegistry()
    duration = prometheus_client.Histogram(
        "audio_processing_duration_seconds",
        "Duration of audio processing operations.",
        ("dataset", "operation"),
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    )
    processed = prometheus_client.Counter(
        "audio_samples_processed_total",
        "Audio samples processed.",
        ("dataset", "processor", "status"),
        registry=registry,
    )

    def run() -> float:
        started = perf_counter()
        for _ in range(iterations):
            start = perf_counter()
            try:
                pass
            except Exception:
                processed.labels(DATASET, OPERATION, "error").inc()
                raise
            duration.labels(DATASET, OPERATION).observe(perf_counter() - start)
            processed.labels(DATASET, OPERATION, "success").inc()
        return (perf_counter() - started) / iterations * 1e9

    return run


def run(iterations: int = 200_000, repeats: int = 7) -> BenchResult:
    """Median ns/op of each side over ``repeats`` alternating rounds (after a warm-up)."""
    if iterations < 1 or repeats < 1:
        raise ValueError("iterations and repeats must be >= 1")
    ours, theirs = vumeter_round(iterations), prometheus_client_round(iterations)
    ours(), theirs()  # warm-up: label children created, code paths hot
    ours_ns: list[float] = []
    theirs_ns: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection in one round would skew that round only
    try:
        for _ in range(repeats):
            ours_ns.append(ours())
            theirs_ns.append(theirs())
    finally:
        if gc_was_enabled:
            gc.enable()
    return BenchResult(
        vumeter_ns=statistics.median(ours_ns),
        prometheus_client_ns=statistics.median(theirs_ns),
        iterations=iterations,
        repeats=repeats,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200_000, help="operations per round")
    parser.add_argument("--repeats", type=int, default=7, help="rounds per side")
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=None,
        help=f"exit 1 if vumeter/prometheus_client exceeds this (the goal is {GOAL_RATIO})",
    )
    args = parser.parse_args(argv)
    result = run(args.iterations, args.repeats)
    print(
        f"track_operation, {result.iterations} ops x {result.repeats} rounds (median ns/op)\n"
        f"  vumeter track_operation          {result.vumeter_ns:10.1f}\n"
        f"  prometheus_client equivalent     {result.prometheus_client_ns:10.1f}\n"
        f"  ratio                            {result.ratio:10.3f}  (goal <= {GOAL_RATIO})"
    )
    if args.max_ratio is not None and result.ratio > args.max_ratio:
        print(f"ratio {result.ratio:.3f} is above --max-ratio {args.max_ratio}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
