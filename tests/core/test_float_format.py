"""The native float formatting against Python's own, on a large corpus.

Every value vumeter prints goes through one formatter that reproduces prometheus_client's
``floatToGoString`` (Python's ``repr`` with Go's exponent rule for positive values from
1e6 up). ``floatToGoString`` of a negative value is its ``repr``, so the negative half of
the corpus checks the ``repr`` layout (used for exemplar timestamps) and the positive
half the Go layout; both share the digits. The corpus mixes random bit patterns (every
magnitude), short decimals, counts, timestamps, neighbours of powers of ten and of
two, subnormals, and exactly representable values whose decimal expansion ends in 5,
where two shortest candidates can be equally close and Python picks the even one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.utils import floatToGoString

import vumeter

go_string = cast(Callable[[float], str], floatToGoString)
CORPUS_SIZE = 40_000  # per kind; eight kinds, both signs


def _corpus() -> list[float]:
    rng = np.random.default_rng(20_251_201)
    n = CORPUS_SIZE
    bits = rng.integers(0, 2**63 - 1, size=n, dtype=np.int64).view(np.float64)
    places = 10.0 ** rng.integers(0, 12, n)
    decimals = np.round(rng.random(n) * 10.0 ** rng.integers(-8, 18, n) * places) / places
    counts = rng.integers(0, 2**60, n).astype(np.float64) // 10.0 ** rng.integers(0, 18, n)
    timestamps = 1.7e9 + rng.integers(0, 10**14, n) / 1e6
    exponents = rng.integers(-320, 308, n)
    near_ten = np.nextafter(10.0**exponents, np.where(rng.random(n) < 0.5, 0.0, np.inf))
    near_two = np.ldexp(1.0, rng.integers(-1074, 1023, n)) * (1 + rng.integers(-2, 3, n) * 2.0**-52)
    subnormal = rng.integers(1, 2**52, n).astype(np.float64) * 5e-324
    # a + b / 2^k with a large: 16 or 17 significant digits, the last often a 5.
    ties = rng.integers(2**20, 2**45, n) + rng.integers(0, 2**8, n) / 2.0 ** rng.integers(1, 9, n)
    values = np.concatenate(
        [bits, decimals, counts, timestamps, near_ten, near_two, subnormal, ties]
    )
    finite = values[np.isfinite(values)]
    return [float(v) for v in np.concatenate([finite, -finite])]


def _rendered_values(values: list[float]) -> list[str]:
    """Each value set on its own gauge child, read back from vumeter's text exposition."""
    registry = CollectorRegistry()
    gauge = vumeter.Gauge("value", "V", ["i"], registry=registry)
    for i, value in enumerate(values):
        gauge.labels(str(i)).set(value)
    lines = vumeter.generate_latest(registry).decode().splitlines()[2:]
    return [line.rsplit(" ", 1)[1] for line in lines]


def test_a_large_corpus_prints_as_python_and_prometheus_client_print_it() -> None:
    values = _corpus()
    assert len(values) > 500_000
    rendered = _rendered_values(values)
    mismatches = [
        (v.hex(), got, go_string(v))
        for v, got in zip(values, rendered, strict=True)
        if got != go_string(v)
    ]
    assert not mismatches, mismatches[:10]
    # The layouts really were both exercised: repr (negative) and Go exponents (positive).
    assert sum(1 for v in values if v < 0 and 1e6 <= -v < 1e16) > 10_000
    assert sum(1 for v in values if 1e6 <= v < 1e16) > 10_000
    assert go_string(-1234567.5) == repr(-1234567.5)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_random_floats_print_as_repr_when_negative(values: list[float]) -> None:
    negatives = [-abs(v) for v in values if v != 0]
    rendered = _rendered_values(negatives)
    assert rendered == [repr(v) for v in negatives]


def test_large_bucket_counts_print_as_prometheus_client_prints_floats() -> None:
    registry = CollectorRegistry()
    histogram = vumeter.Histogram("big", "B", registry=registry, buckets=(0.5, 1.0))
    histogram.observe_many(np.zeros(1_250_000))
    histogram.observe_many(np.ones(1))
    text = vumeter.generate_latest(registry).decode()
    assert f'big_bucket{{le="0.5"}} {go_string(1_250_000.0)}\n' in text
    assert f'big_bucket{{le="+Inf"}} {go_string(1_250_001.0)}\n' in text
    assert go_string(1_250_000.0) == "1.25e+06"
    assert math.isclose(float(go_string(1_250_001.0)), 1_250_001.0)
