"""Every bucketing path agrees with a binary search on every input: ``observe`` (the
scalar index, arithmetic or searched) and ``observe_many`` (counted, arithmetic and
searched bulk kernels, float64 and float32, contiguous and strided), on layouts built to
break shortcuts: large offsets, tiny spacings, subnormals, negative bounds, and evenly
spaced bounds nudged by a few ulps."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from tests.support.exposition import bucket_state
from vumeter import Histogram

T = 1.7e9


def nudge(x: float, ulps: int) -> float:
    for _ in range(abs(ulps)):
        x = math.nextafter(x, math.inf if ulps > 0 else -math.inf)
    return x


@st.composite
def layouts(draw: st.DrawFn) -> list[float]:
    """Sorted finite bounds, 2 to 60 of them (more than 24 reach the arithmetic and
    searched bulk kernels), usually evenly spaced, often nearly so."""
    n = draw(st.integers(min_value=2, max_value=60))
    offset = draw(st.sampled_from([0.0, T, -T, 1e6, -5e8, 1e-300, 2.5]))
    width = draw(
        st.sampled_from([0.1, 0.25, 1.0, 1e-3, 5e-324, 1e-310, 3e-300, 1e-9, 7.0])
        | st.floats(min_value=1e-6, max_value=1e3)
    )
    bounds = [offset + width * i for i in range(n)]
    if draw(st.booleans()):
        i = draw(st.integers(min_value=0, max_value=n - 1))
        bounds[i] = nudge(bounds[i], draw(st.integers(min_value=-4, max_value=4)))
    if draw(st.booleans()):
        # Consecutive floats from the offset.
        bounds = [offset]
        for _ in range(n - 1):
            bounds.append(math.nextafter(bounds[-1], math.inf))
    return sorted(bounds)


@st.composite
def observations(draw: st.DrawFn, bounds: list[float]) -> list[float]:
    """Bounds and their float neighbours, points between and beyond them, zeros, the
    extremes, and at most one sign of infinity (the other would be refused)."""
    near = st.sampled_from(bounds).flatmap(
        lambda b: st.integers(min_value=-3, max_value=3).map(lambda k: nudge(b, k))
    )
    lo, hi = bounds[0], bounds[-1]
    span = max(hi - lo, 5e-324)
    inside = st.floats(min_value=0.0, max_value=1.0).map(lambda u: lo - span * 0.1 + u * span * 1.2)
    special = st.sampled_from(
        [0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308]
    )
    values = draw(
        st.lists(
            near | inside | special | st.floats(allow_nan=False, allow_infinity=False),
            min_size=1,
            max_size=80,
        )
    )
    infinity = draw(st.sampled_from([None, math.inf, -math.inf]))
    if infinity is not None:
        # Finite values this small cannot overflow _sum to the other infinity (which
        # would refuse this one: see test_infinities), so every value is recorded.
        values = [v for v in values if abs(v) <= 1e300]
        values.insert(draw(st.integers(min_value=0, max_value=len(values))), infinity)
    return values


def expected_buckets(bounds: list[float], values: list[float]) -> list[int]:
    upper = [*bounds, math.inf]
    counts = [0] * len(upper)
    for v in values:
        counts[bisect.bisect_left(upper, v)] += 1
    return counts


def bucket_counts(h: Histogram) -> list[int]:
    cumulative, _ = bucket_state(h)
    return [c - p for c, p in zip(cumulative, [0, *cumulative[:-1]], strict=True)]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
@example(data=None)  # the layout that once took the arithmetic path wrongly
def test_observe_and_observe_many_agree_with_bisect(data: st.DataObject | None) -> None:
    if data is None:
        bounds, values = [T, T + 0.1, T + 0.2, T + 1.0], [T + 0.25, T + 0.2, T + 0.1000001]
    else:
        bounds = data.draw(layouts())
        values = data.draw(observations(bounds))
    expected = expected_buckets(bounds, values)
    registry = CollectorRegistry()
    scalar = Histogram("scalar", "S", registry=registry, buckets=bounds)
    for v in values:
        scalar.observe(v)
    assert bucket_counts(scalar) == expected, f"observe, {bounds=}"

    array = np.array(values, dtype=np.float64)
    bulk = Histogram("bulk", "B", registry=registry, buckets=bounds)
    bulk.observe_many(array)
    assert bucket_counts(bulk) == expected, f"observe_many, {bounds=}"

    # The same values as one channel of an interleaved buffer (read through its stride).
    interleaved = np.empty(2 * len(array))
    interleaved[0::2], interleaved[1::2] = array, 0.0
    strided = Histogram("strided", "S", registry=registry, buckets=bounds)
    strided.observe_many(interleaved[0::2])
    assert bucket_counts(strided) == expected, f"strided observe_many, {bounds=}"

    with np.errstate(over="ignore"):  # float32 overflows to an infinity, as documented
        narrow = array.astype(np.float32)
    single = Histogram("single", "F", registry=registry, buckets=bounds)
    if np.isposinf(narrow).any() and np.isneginf(narrow).any():
        with pytest.raises(ValueError, match="NaN"):
            single.observe_many(narrow)
        assert sum(bucket_counts(single)) == 0
    else:
        single.observe_many(narrow)
        assert bucket_counts(single) == expected_buckets(bounds, [float(v) for v in narrow])


def test_the_large_offset_layout_is_not_taken_as_linear() -> None:
    h = Histogram(
        "offset", "O", registry=CollectorRegistry(), buckets=[T, T + 0.1, T + 0.2, T + 1.0]
    )
    assert not h._linear_buckets
    h.observe(T + 0.25)
    h.observe_many(np.array([T + 0.25]))
    assert bucket_counts(h) == [0, 0, 0, 2, 0], "T + 0.25 belongs in le = T + 1"
    # Evenly spaced layouts keep the O(1) path.
    quality = Histogram(
        "quality", "Q", registry=CollectorRegistry(), buckets=[i / 10 for i in range(1, 11)]
    )
    assert quality._linear_buckets
