"""Quantiles and shares from histogram bucket counts, the way Prometheus computes them.

Every histogram here is a list of ``(upper bound, cumulative count)`` pairs sorted by bound,
the last one ``+Inf`` (a classic histogram's ``_bucket`` series, or the increases of those
series over a window). :func:`quantile` follows PromQL's ``histogram_quantile``: linear
interpolation inside the bucket the rank falls in, a lower bound of 0 for the first bucket
when its upper bound is positive, and the upper bound of the highest finite bucket when the
rank falls in ``+Inf``. Where PromQL returns NaN (no observations, no finite bucket, no
``+Inf`` bucket) these functions return ``None``: the view shows "no data".

Native (exponential) histograms are turned into the same form by :func:`native_buckets`,
with an explicit bound at each bucket's lower edge so that interpolation stays inside the
bucket instead of spreading over the empty buckets below it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple

__all__ = [
    "Cumulative",
    "NativeBucketKey",
    "bucket_counts",
    "fraction_below",
    "merge",
    "native_bucket_counts",
    "native_buckets",
    "quantile",
]

#: ``(upper bound, cumulative count)`` pairs, sorted by bound.
Cumulative = Sequence[tuple[float, float]]

_INF: Final = math.inf


class NativeBucketKey(NamedTuple):
    """One bucket of a native histogram: number ``bucket`` at ``schema``; ``sign`` is 1 for
    the positive buckets, -1 for the negative ones and 0 for the zero bucket (whose
    ``bucket`` and ``schema`` are 0 and whose half-width is ``zero_threshold``)."""

    sign: int
    schema: int
    bucket: int
    zero_threshold: float = 0.0


def _monotonic(buckets: Cumulative) -> list[tuple[float, float]]:
    # Counter resets corrected bucket by bucket can leave a bucket a little below the one
    # before it; PromQL evens that out the same way (a running maximum).
    fixed: list[tuple[float, float]] = []
    highest = 0.0
    for bound, count in buckets:
        highest = max(highest, count)
        fixed.append((bound, highest))
    return fixed


def quantile(q: float, buckets: Cumulative) -> float | None:
    """The ``q``-quantile (0 <= q <= 1) of the observations, or None when there is none."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
    if len(buckets) < 2 or buckets[-1][0] != _INF:
        return None  # no finite bucket to interpolate in, or no +Inf bucket
    fixed = _monotonic(buckets)
    observations = fixed[-1][1]
    if observations <= 0:
        return None
    rank = q * observations
    index = next(i for i, (_, count) in enumerate(fixed) if count >= rank)
    if index == len(fixed) - 1:
        return fixed[-2][0]
    upper, count = fixed[index]
    if index == 0:
        if upper <= 0:
            return upper
        lower, below = 0.0, 0.0
    else:
        lower, below = fixed[index - 1]
    in_bucket = count - below
    if in_bucket <= 0:
        return upper
    return lower + (upper - lower) * ((rank - below) / in_bucket)


def fraction_below(threshold: float, buckets: Cumulative) -> float | None:
    """The share of observations at or below ``threshold`` (linear inside a bucket, as
    :func:`quantile` assumes), or None when there is no observation or no finite bucket."""
    if len(buckets) < 2 or buckets[-1][0] != _INF:
        return None
    fixed = _monotonic(buckets)
    observations = fixed[-1][1]
    if observations <= 0:
        return None
    lower, below = 0.0, 0.0
    for index, (upper, count) in enumerate(fixed):
        if threshold <= upper:
            if index == 0 and upper <= 0:
                return count / observations if threshold == upper else 0.0
            if upper == _INF:
                return below / observations
            width = upper - lower
            inside = 1.0 if width <= 0 else max(0.0, threshold - lower) / width
            return (below + (count - below) * inside) / observations
        lower, below = upper, count
    return 1.0


def bucket_counts(buckets: Cumulative) -> list[tuple[float, float]]:
    """``(upper bound, count in that bucket)`` pairs: the cumulative counts differenced."""
    counts: list[tuple[float, float]] = []
    below = 0.0
    for bound, count in _monotonic(buckets):
        counts.append((bound, count - below))
        below = count
    return counts


def _bounds(key: NativeBucketKey) -> tuple[float, float]:
    if key.sign == 0:
        return -key.zero_threshold, key.zero_threshold
    base = 2.0 ** (2.0**-key.schema)
    lower, upper = base ** (key.bucket - 1), base**key.bucket
    return (lower, upper) if key.sign > 0 else (-upper, -lower)


def native_buckets(counts: Mapping[NativeBucketKey, float]) -> list[tuple[float, float]]:
    """Cumulative ``(bound, count)`` pairs of native histogram bucket counts, ending in
    ``+Inf``; every bucket contributes its lower edge as well, with the count below it.

    Buckets of different schemas are first merged into the coarsest one, as PromQL does
    when it adds native histograms together."""
    if not counts:
        return []
    schemas = [key.schema for key in counts if key.sign != 0]
    coarsest = min(schemas) if schemas else 0
    merged: dict[NativeBucketKey, float] = {}
    for key, count in counts.items():
        if key.sign != 0 and key.schema != coarsest:
            shift = key.schema - coarsest
            # Bucket i at schema s lies inside bucket ceil(i / 2**shift) at schema s - shift.
            bucket = -((-key.bucket) >> shift)
            key = NativeBucketKey(key.sign, coarsest, bucket)
        merged[key] = merged.get(key, 0.0) + count
    edges: list[tuple[float, float, float]] = sorted(
        (*_bounds(key), count) for key, count in merged.items() if count > 0
    )
    cumulative: list[tuple[float, float]] = []
    total = 0.0
    for lower, upper, count in edges:
        if not cumulative or cumulative[-1][0] < lower:
            cumulative.append((lower, total))
        total += count
        if cumulative[-1][0] == upper:
            cumulative[-1] = (upper, total)
        else:
            cumulative.append((upper, total))
    cumulative.append((_INF, total))
    return cumulative


def native_bucket_counts(
    schema: int,
    zero_threshold: float,
    zero_count: float,
    positive: Iterable[tuple[int, int]],
    positive_deltas: Iterable[int],
    negative: Iterable[tuple[int, int]],
    negative_deltas: Iterable[int],
) -> dict[NativeBucketKey, float]:
    """The absolute count of every bucket of one native histogram sample, from its spans
    ``(offset, length)`` and delta-encoded counts (the first count, then differences)."""
    counts: dict[NativeBucketKey, float] = {}
    if zero_count:
        # The zero bucket does not depend on the schema: one key for every schema.
        counts[NativeBucketKey(0, 0, 0, zero_threshold)] = float(zero_count)
    for sign, spans, deltas in ((1, positive, positive_deltas), (-1, negative, negative_deltas)):
        delta_iter = iter(deltas)
        index, count = 0, 0
        for span_number, (offset, length) in enumerate(spans):
            # The first span's offset is the index of its first bucket; each later one is
            # the gap after the end of the span before it.
            index = offset if span_number == 0 else index + offset
            for _ in range(length):
                delta = next(delta_iter, None)
                if delta is None:
                    raise ValueError("native histogram has fewer deltas than its spans need")
                count += delta
                if count < 0:
                    raise ValueError("native histogram bucket count below zero")
                counts[NativeBucketKey(sign, schema, index)] = float(count)
                index += 1
    return counts


def merge(histograms: Iterable[Cumulative]) -> list[tuple[float, float]]:
    """The sum of several cumulative histograms (different workers, different layouts):
    at every bound, each histogram counts what it has at or below that bound."""
    lists = [list(h) for h in histograms if h]
    if len(lists) == 1:
        return lists[0]
    bounds = sorted({bound for h in lists for bound, _ in h})
    merged = [0.0] * len(bounds)
    for h in lists:
        position, below = 0, 0.0
        for index, bound in enumerate(bounds):
            while position < len(h) and h[position][0] <= bound:
                below = h[position][1]
                position += 1
            merged[index] += below
    return list(zip(bounds, merged, strict=True))
