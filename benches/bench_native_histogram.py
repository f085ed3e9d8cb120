"""Benchmark: native histograms. vumeter's native ``observe`` and ``observe_many`` against
its classic histogram and prometheus_client's (no Python library records native
histograms, so there is no like-for-like peer), the protobuf render of 1,000 native
histogram children against the text render of the same children, and the series each
demo histogram costs classic versus native.

    python -m benches.bench_native_histogram [--quick] [--repeats R]

prints medians and ratios; exits 0 whatever they are (goals are reported, not asserted).
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np
import prometheus_client

import vumeter
from benches.timing import alternating
from vumeter.audio.catalog import AudioProcessingMetrics

FACTOR = 1.1  # schema 3, client_golang's default factor


def _timeit_median(
    statement: str, namespace: dict[str, object], number: int, repeats: int
) -> float:
    timer = timeit.Timer(statement, globals=namespace)
    return sorted(t / number for t in timer.repeat(repeats, number))[repeats // 2]


def bench_observe(scale: int, repeats: int) -> None:
    registry = prometheus_client.CollectorRegistry()
    native = vumeter.Histogram(
        "n", "N", ["k"], registry=registry, native_histogram_bucket_factor=FACTOR
    ).labels("a")
    both = vumeter.Histogram(
        "b",
        "B",
        ["k"],
        registry=registry,
        native_histogram_bucket_factor=FACTOR,
        buckets=vumeter.Histogram.DEFAULT_BUCKETS,
    ).labels("a")
    classic = vumeter.Histogram("c", "C", ["k"], registry=registry).labels("a")
    theirs = prometheus_client.Histogram(
        "p", "P", ["k"], registry=prometheus_client.CollectorRegistry()
    ).labels("a")
    namespace: dict[str, object] = {
        "native": native,
        "both": both,
        "classic": classic,
        "theirs": theirs,
        "v": 0.0421,
    }
    number = 20_000 * scale
    rows = {
        "vumeter native observe": "native.observe(v)",
        "vumeter classic+native observe": "both.observe(v)",
        "vumeter classic observe": "classic.observe(v)",
        "prometheus_client observe": "theirs.observe(v)",
    }
    medians = {name: _timeit_median(s, namespace, number, repeats) for name, s in rows.items()}
    base = medians["vumeter native observe"]
    print(f"{'one observe, bound child':<40}{'median ns':>12}{'x native':>12}")
    for name, median in medians.items():
        print(f"{name:<40}{median * 1e9:>12.1f}{median / base:>12.2f}")


def bench_observe_many(scale: int, repeats: int) -> None:
    values = np.random.default_rng(1).lognormal(-3.0, 1.5, size=100_000 * scale)
    registry = prometheus_client.CollectorRegistry()
    native = vumeter.Histogram("n", "N", registry=registry, native_histogram_bucket_factor=FACTOR)
    classic = vumeter.Histogram("c", "C", registry=registry)

    def numpy_exponential() -> None:
        np.unique(np.ceil(np.log2(values) * 8), return_counts=True)

    medians = alternating(
        {
            "vumeter native observe_many": lambda: native.observe_many(values),
            "vumeter classic observe_many (15 buckets)": lambda: classic.observe_many(values),
            "numpy log2 + ceil + unique (schema 3)": numpy_exponential,
        },
        number=1,
        repeats=repeats,
    )
    base = medians["vumeter native observe_many"]
    title = f"observe_many of {len(values):,} float64"
    print(f"\n{title:<44}{'median ms':>10}{'ns/value':>10}{'x native':>10}")
    for name, median in medians.items():
        per_value = median / len(values) * 1e9
        print(f"{name:<44}{median * 1e3:>10.2f}{per_value:>10.2f}{median / base:>10.2f}")


def bench_render(children: int, repeats: int) -> None:
    registry = prometheus_client.CollectorRegistry()
    family = vumeter.Histogram(
        "job_duration_seconds",
        "D",
        ["worker"],
        registry=registry,
        native_histogram_bucket_factor=FACTOR,
    )
    rng = np.random.default_rng(2)
    for i in range(children):
        family.labels(str(i)).observe_many(rng.lognormal(-3.0, 1.0, size=200))
    size = len(vumeter.generate_protobuf(registry))
    medians = alternating(
        {
            "generate_protobuf (native buckets)": lambda: vumeter.generate_protobuf(registry),
            "generate_latest (text: +Inf, _count, _sum)": lambda: vumeter.generate_latest(registry),
        },
        number=1,
        repeats=repeats,
        warm_up=True,
    )
    print(f"\n{f'render {children:,} native histogram children':<46}{'median ms':>10}")
    for name, median in medians.items():
        print(f"{name:<46}{median * 1e3:>10.2f}")
    print(f"protobuf body: {size:,} bytes, {size / children:.0f} per child")


def series_per_demo_histogram() -> None:
    """Series one child of each demo histogram adds to Prometheus: classic buckets (with
    +Inf), _count and _sum; a native histogram is one series whatever its buckets."""
    metrics = AudioProcessingMetrics(prometheus_client.CollectorRegistry())
    print(f"\n{'series per child (demo histograms)':<40}{'classic':>9}{'native':>9}")
    for attribute in ("processing_duration", "quality_score", "snr_db", "pesq_score", "stoi_score"):
        histogram = getattr(metrics, attribute)
        classic = len(histogram._upper_bounds) + 2
        print(f"{histogram._name:<40}{classic:>9}{1:>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    scale = 1 if args.quick else 10
    repeats = 3 if args.quick else args.repeats
    bench_observe(1 if args.quick else 5, repeats)
    bench_observe_many(scale, repeats)
    bench_render(50 if args.quick else 1_000, repeats)
    series_per_demo_histogram()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
