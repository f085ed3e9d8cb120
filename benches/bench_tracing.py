"""Benchmark: what tracing costs on the metrics hot path.

``track_operation`` around an empty block, in five set-ups, in alternating rounds so machine
noise hits all of them alike:

* ``inline``: the same instrumentation written by hand with the catalog's children (two
  ``perf_counter()`` calls, an observe, an increment): the floor any tracking helper pays;
* ``off``: tracing never set up, the state every worker starts in: the reference;
* ``exemplars idle``: automatic exemplars on, but no span active;
* ``no-op tracer``: collector spans on, with OpenTelemetry's default no-op tracer (the API
  without an SDK);
* ``sdk``: ``setup_tracing`` with the SDK, sampling every span, exporting nowhere, exemplars on.

Plus ``Counter.inc()`` and ``Histogram.observe()`` with automatic exemplars off and on (no
span active), since exemplars must cost nothing there either.

    python benches/bench_tracing.py [--iterations N] [--repeats R] [--max-off-overhead X]

prints the best round's ns per operation and each set-up's ratio to ``off``; with
``--max-off-overhead`` it exits 1 when ``exemplars idle`` is more than X times ``off``
(``1.05``: 5 %): automatic exemplars must cost nothing while no span is active.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter

from opentelemetry import trace

import vumeter
from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector
from vumeter.tracing import (
    TracingSetup,
    disable_exemplars,
    disable_operation_spans,
    enable_exemplars,
    enable_operation_spans,
    setup_tracing,
)

OPERATION = "enhance"
DATASET = "librispeech"


@dataclass(frozen=True)
class Case:
    name: str
    prepare: Callable[[], None]
    run: Callable[[], float]


def _tracked(iterations: int, collector: MetricsCollector) -> Callable[[], float]:
    track = collector.track_operation

    def run() -> float:
        started = perf_counter()
        for _ in range(iterations):
            with track(OPERATION, DATASET):
                pass
        return (perf_counter() - started) / iterations * 1e9

    return run


def _inline(iterations: int, collector: MetricsCollector) -> Callable[[], float]:
    """What track_operation records, written inline against the same children."""
    metrics = collector.metrics
    observe = metrics.processing_duration.labels(DATASET, OPERATION).observe
    count = metrics.samples_processed.labels(DATASET, OPERATION, "success").inc

    def run() -> float:
        started = perf_counter()
        for _ in range(iterations):
            began = perf_counter()
            observe(perf_counter() - began)
            count()
        return (perf_counter() - started) / iterations * 1e9

    return run


def _metric_calls(iterations: int) -> Callable[[], float]:
    registry = CollectorRegistry()
    inc = vumeter.Counter("bench_requests", "Requests.", registry=registry).inc
    observe = vumeter.Histogram("bench_latency", "Latency.", registry=registry).observe

    def run() -> float:
        started = perf_counter()
        for _ in range(iterations):
            inc()
            observe(0.01)
        return (perf_counter() - started) / iterations * 1e9

    return run


def _off() -> None:
    disable_operation_spans()
    disable_exemplars()


def _exemplars_idle() -> None:
    _off()
    enable_exemplars()


def _noop_tracer() -> None:
    _off()
    enable_operation_spans(trace.NoOpTracerProvider())
    disable_exemplars()


def cases(iterations: int) -> tuple[list[Case], TracingSetup]:
    sdk = setup_tracing(
        "bench", exporters="none", install_globally=False, trace_collectors=False, exemplars=False
    )
    assert sdk.provider is not None
    provider = sdk.provider

    # One collector for every case: the same series, so memory layout is not a variable.
    collector = MetricsCollector(AudioProcessingMetrics(CollectorRegistry()))

    def with_sdk() -> None:
        _off()
        enable_operation_spans(provider)
        enable_exemplars()

    return [
        Case("off (never set up)", _off, _tracked(iterations, collector)),
        Case("inline children (floor)", _off, _inline(iterations, collector)),
        Case("exemplars on, no span", _exemplars_idle, _tracked(iterations, collector)),
        Case("no-op tracer", _noop_tracer, _tracked(iterations, collector)),
        Case("sdk, sampled, exemplars", with_sdk, _tracked(iterations, collector)),
        Case("inc+observe, exemplars off", _off, _metric_calls(iterations)),
        Case("inc+observe, exemplars on", _exemplars_idle, _metric_calls(iterations)),
    ], sdk


def run(iterations: int = 20_000, repeats: int = 25) -> dict[str, float]:
    """Best ns per operation of each case over ``repeats`` alternating rounds.

    The best round, as ``timeit`` recommends: on a shared machine other processes only ever
    add time, so the fastest round is the closest to what the code itself costs.
    """
    if iterations < 1 or repeats < 1:
        raise ValueError("iterations and repeats must be >= 1")
    all_cases, sdk = cases(iterations)
    timings: dict[str, list[float]] = {case.name: [] for case in all_cases}
    gc_was_enabled = gc.isenabled()
    try:
        for case in all_cases:  # warm-up: children created, code paths hot
            case.prepare()
            case.run()
        gc.disable()
        for _ in range(repeats):
            for case in all_cases:
                case.prepare()
                timings[case.name].append(case.run())
    finally:
        _off()
        sdk.shutdown()
        if gc_was_enabled:
            gc.enable()
    return {name: min(values) for name, values in timings.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20_000, help="operations per round")
    parser.add_argument("--repeats", type=int, default=25, help="rounds per case")
    parser.add_argument(
        "--max-off-overhead",
        type=float,
        default=None,
        help="exit 1 if exemplars idle exceeds this ratio to tracing off",
    )
    args = parser.parse_args(argv)
    medians = run(args.iterations, args.repeats)
    names = list(medians)
    off = medians[names[0]]
    metric_baseline = medians[names[5]]
    print(f"tracing overhead, {args.iterations} ops x {args.repeats} rounds (best ns/op)")
    for index, name in enumerate(names):
        reference = off if index < 5 else metric_baseline
        print(f"  {name:32s} {medians[name]:10.1f}   x{medians[name] / reference:6.3f}")
    if args.max_off_overhead is not None:
        idle = medians[names[2]] / off
        if idle > args.max_off_overhead:
            print(
                f"exemplars-idle overhead x{idle:.3f} is above --max-off-overhead "
                f"{args.max_off_overhead}",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
