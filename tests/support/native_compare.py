"""The same observations into vumeter and client_golang, and the native histogram of
each exposition in one comparable form (:class:`Native`).

Both expositions are decoded by the same ``metrics.proto`` (:mod:`tests.support.metrics_proto`),
so any difference is in what the two libraries recorded, not in how they are read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

import vumeter
from tests.support import golang
from tests.support.metrics_proto import absolute_buckets, by_name
from vumeter.histogram import DEFAULT_NATIVE_ZERO_THRESHOLD

Buckets = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Case:
    """One histogram's settings, in vumeter's terms, and what it observes."""

    values: tuple[float, ...]
    factor: float
    zero_threshold: float = DEFAULT_NATIVE_ZERO_THRESHOLD
    #: 0: no limit (client_golang's default; vumeter's is 160).
    max_buckets: int = 0
    buckets: tuple[float, ...] | None = None
    #: How far the bucket limit may widen the zero bucket (0: never, as in both).
    max_zero_threshold: float = 0.0

    def vumeter(self, name: str, registry: CollectorRegistry) -> vumeter.Histogram:
        histogram = vumeter.Histogram(
            name,
            f"golang-reference {name}",  # the help text the Go program gives
            registry=registry,
            buckets=self.buckets,
            native_histogram_bucket_factor=self.factor,
            native_histogram_zero_threshold=self.zero_threshold,
            native_histogram_max_buckets=self.max_buckets,
            native_histogram_max_zero_threshold=self.max_zero_threshold,
        )
        for value in self.values:
            histogram.observe(value)
        return histogram

    def golang(self, name: str) -> golang.GoHistogram:
        return golang.GoHistogram(
            name,
            self.values,
            bucket_factor=self.factor,
            # vumeter's 0 is "only exact zeros", which client_golang spells
            # NativeHistogramZeroThresholdZero (-1): its 0 means the default 2^-128.
            zero_threshold=-1.0 if self.zero_threshold == 0 else self.zero_threshold,
            max_bucket_number=self.max_buckets,
            max_zero_threshold=self.max_zero_threshold,
            buckets=self.buckets,
        )


def expand(spans: Any, deltas: Sequence[int]) -> Buckets:
    """Absolute ``(index, count)`` of every bucket that holds a count (gap-filling zeros
    dropped: two encodings of the same buckets expand alike)."""
    return tuple(sorted(absolute_buckets(spans, deltas).items()))


@dataclass(frozen=True)
class Native:
    schema: int
    zero_threshold: float
    zero_count: int
    count: int
    sum: float
    positive: Buckets
    negative: Buckets
    #: The wire encoding: (offset, length) spans and deltas, each side.
    encoding: tuple[Any, ...]

    @classmethod
    def of(cls, family: Any) -> Native:
        (metric,) = family.metric
        h = metric.histogram
        assert h.HasField("schema"), f"{family.name} has no native buckets"

        def spans(side: Any) -> tuple[tuple[int, int], ...]:
            # A zero-length span carries no bucket: client_golang 1.17+ (and vumeter)
            # add one to mark an empty histogram native, 1.14 does not.
            return tuple((s.offset, s.length) for s in side if s.length)

        return cls(
            schema=h.schema,
            zero_threshold=h.zero_threshold,
            zero_count=h.zero_count,
            count=h.sample_count,
            sum=h.sample_sum,
            positive=expand(h.positive_span, h.positive_delta),
            negative=expand(h.negative_span, h.negative_delta),
            encoding=(
                spans(h.positive_span),
                tuple(h.positive_delta),
                spans(h.negative_span),
                tuple(h.negative_delta),
            ),
        )


@dataclass(frozen=True)
class Pair:
    case: Case
    ours: Native
    theirs: Native


@dataclass(frozen=True)
class Observed:
    pairs: list[Pair]
    #: Each library's text exposition of all the cases.
    our_text: str
    their_text: str


def observe_both(binary: Path, cases: Sequence[Case]) -> Observed:
    """Every case into a vumeter histogram and a client_golang one (one Go run for all)."""
    registry = CollectorRegistry()
    names = [f"h{i}" for i in range(len(cases))]
    for name, case in zip(names, cases, strict=True):
        case.vumeter(name, registry)
    ours = by_name(vumeter.generate_protobuf(registry))
    theirs = golang.run(binary, [c.golang(n) for n, c in zip(names, cases, strict=True)])
    pairs = [
        Pair(case, Native.of(ours[name]), Native.of(theirs.families[name]))
        for name, case in zip(names, cases, strict=True)
    ]
    return Observed(pairs, vumeter.generate_latest(registry).decode(), theirs.text)


def sums_agree(ours: float, theirs: float, values: Sequence[float]) -> bool:
    """Equal to 1e-9 of the sum's magnitude, or of the values' when they cancel (the
    same values added in another order may differ by rounding, no more)."""
    if math.isinf(ours) or math.isinf(theirs):
        return ours == theirs
    scale = sum(abs(v) for v in values)
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9 * scale)


def differences(pair: Pair) -> list[str]:
    """What differs between vumeter's native histogram and client_golang's; [] if none."""
    ours, theirs = pair.ours, pair.theirs
    out = [
        f"{field}: vumeter {getattr(ours, field)!r}, client_golang {getattr(theirs, field)!r}"
        for field in (
            "schema",
            "zero_threshold",
            "zero_count",
            "count",
            "positive",
            "negative",
            "encoding",
        )
        if getattr(ours, field) != getattr(theirs, field)
    ]
    if not sums_agree(ours.sum, theirs.sum, pair.case.values):
        out.append(f"sum: vumeter {ours.sum!r}, client_golang {theirs.sum!r}")
    return out


def assert_same(observed: Observed) -> None:
    failures = [
        f"{pair.case}:\n  " + "\n  ".join(found)
        for pair in observed.pairs
        if (found := differences(pair))
    ]
    assert not failures, "vumeter and client_golang differ:\n" + "\n".join(failures)
