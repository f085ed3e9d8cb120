"""Benchmark: the hot path of subclassed metrics against unsubclassed ones (and against
prometheus_client), in one process, medians of alternating rounds.

Rows per library: ``inc()`` on a counter without labels, ``observe()`` on a labelled
histogram child, and ``labels(...).observe()``; for the class as shipped, a subclass
that overrides nothing but ``__init__`` (its children are made from a generated child
class), and a subclass overriding ``observe``/``inc`` with ``super()``.

    python -m benches.bench_subclass [--quick] [--repeats R]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import prometheus_client

import vumeter
from benches.timing import alternating, format_seconds


def _classes(lib: Any) -> dict[str, tuple[type, type]]:
    class InitCounter(lib.Counter):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.owner = "a"

    class InitHistogram(lib.Histogram):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.owner = "a"

    class OverridingCounter(lib.Counter):  # type: ignore[misc,name-defined]
        def inc(self, amount: float = 1.0, exemplar: Any = None) -> None:
            super().inc(amount, exemplar)

    class OverridingHistogram(lib.Histogram):  # type: ignore[misc,name-defined]
        def observe(self, amount: float, exemplar: Any = None) -> None:
            super().observe(amount, exemplar)

    return {
        "as shipped": (lib.Counter, lib.Histogram),
        "subclass, __init__ only": (InitCounter, InitHistogram),
        "subclass overriding with super()": (OverridingCounter, OverridingHistogram),
    }


def candidates(lib: Any) -> dict[str, Callable[[], object]]:
    out: dict[str, Callable[[], object]] = {}
    for kind, (counter_cls, histogram_cls) in _classes(lib).items():
        registry = lib.CollectorRegistry()
        counter = counter_cls("c", "C", registry=registry)
        histogram = histogram_cls("h", "H", ["a"], registry=registry)
        child = histogram.labels("x")
        out[f"{kind}: counter.inc()"] = counter.inc
        out[f"{kind}: child.observe(0.3)"] = lambda child=child: child.observe(0.3)
        out[f"{kind}: labels('x').observe(0.3)"] = lambda h=histogram: h.labels("x").observe(0.3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    number, repeats = (200, 2) if args.quick else (100_000, args.repeats)
    ours = candidates(vumeter)
    theirs = candidates(prometheus_client)
    medians_ours = alternating(ours, number, repeats)
    medians_theirs = alternating(theirs, number, repeats)
    print("median per call; ratio = prometheus_client / vumeter")
    print(f"{'call':56} {'vumeter':>10} {'prometheus_client':>18} {'ratio':>7}")
    for name, seconds in medians_ours.items():
        ratio = medians_theirs[name] / seconds
        print(
            f"{name:56} {format_seconds(seconds):>10} "
            f"{format_seconds(medians_theirs[name]):>18} {ratio:6.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
