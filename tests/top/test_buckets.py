"""Quantiles and shares from bucket counts, checked against PromQL's histogram_quantile."""

from __future__ import annotations

import math

import pytest

from vumeter.top.buckets import (
    NativeBucketKey,
    bucket_counts,
    fraction_below,
    merge,
    native_bucket_counts,
    native_buckets,
    quantile,
)

INF = math.inf
# 10 observations: 2 at or below 0.1, 6 more at or below 0.5, 2 more at or below 1.
BUCKETS = [(0.1, 2.0), (0.5, 8.0), (1.0, 10.0), (INF, 10.0)]


def test_quantiles_interpolate_inside_the_bucket_like_promql() -> None:
    assert quantile(0.1, BUCKETS) == pytest.approx(0.05)  # rank 1 of 2 in [0, 0.1]
    assert quantile(0.5, BUCKETS) == pytest.approx(0.1 + 0.4 * (3 / 6))
    assert quantile(0.9, BUCKETS) == pytest.approx(0.5 + 0.5 * (1 / 2))
    assert quantile(1.0, BUCKETS) == pytest.approx(1.0)


def test_a_rank_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    assert quantile(0.99, [(0.1, 1.0), (1.0, 2.0), (INF, 10.0)]) == 1.0


def test_no_observation_empty_and_inf_only_buckets_are_no_data() -> None:
    assert quantile(0.5, []) is None
    assert quantile(0.5, [(INF, 0.0)]) is None
    assert quantile(0.5, [(INF, 12.0)]) is None  # +Inf only: nothing to interpolate in
    assert quantile(0.5, [(0.1, 0.0), (INF, 0.0)]) is None
    assert quantile(0.5, [(0.1, 3.0), (1.0, 3.0)]) is None  # no +Inf bucket
    assert fraction_below(0.5, [(INF, 12.0)]) is None
    assert fraction_below(0.5, []) is None
    assert fraction_below(0.5, [(0.5, 0.0), (INF, 0.0)]) is None


def test_a_first_bucket_at_or_below_zero_gives_its_bound() -> None:
    assert quantile(0.1, [(-1.0, 5.0), (0.0, 8.0), (INF, 10.0)]) == -1.0


def test_non_monotonic_buckets_are_evened_out() -> None:
    # A bucket below its predecessor (reset corrections) counts as the predecessor's value.
    assert quantile(0.5, [(0.1, 4.0), (0.5, 3.0), (1.0, 8.0), (INF, 8.0)]) == pytest.approx(0.1)


def test_fraction_below_a_bound_and_inside_a_bucket() -> None:
    assert fraction_below(0.5, BUCKETS) == pytest.approx(0.8)
    assert fraction_below(0.3, BUCKETS) == pytest.approx((2 + 6 * 0.5) / 10)
    assert fraction_below(0.0, BUCKETS) == 0.0
    assert fraction_below(5.0, BUCKETS) == pytest.approx(1.0)


def test_bucket_counts_difference_the_cumulative_counts() -> None:
    assert bucket_counts(BUCKETS) == [(0.1, 2.0), (0.5, 6.0), (1.0, 2.0), (INF, 0.0)]


def test_merge_adds_histograms_with_different_layouts() -> None:
    a = [(0.5, 2.0), (INF, 4.0)]
    b = [(0.1, 1.0), (1.0, 3.0), (INF, 3.0)]
    assert merge([a, b]) == [(0.1, 1.0), (0.5, 3.0), (1.0, 5.0), (INF, 7.0)]
    assert merge([a]) == a
    assert merge([]) == []


def test_native_bucket_counts_decode_spans_and_deltas() -> None:
    # Spans [0:2, 1:2]: buckets 0, 1, then a gap of one, then 3, 4; deltas 2, +1, -2, +3.
    counts = native_bucket_counts(0, 0.001, 4, [(0, 2), (1, 2)], [2, 1, -2, 3], [], [])
    assert counts == {
        NativeBucketKey(0, 0, 0, 0.001): 4.0,
        NativeBucketKey(1, 0, 0): 2.0,
        NativeBucketKey(1, 0, 1): 3.0,
        NativeBucketKey(1, 0, 3): 1.0,
        NativeBucketKey(1, 0, 4): 4.0,
    }
    with pytest.raises(ValueError, match="fewer deltas"):
        native_bucket_counts(0, 0.0, 0, [(0, 3)], [1, 1], [], [])


def test_native_buckets_interpolate_inside_each_exponential_bucket() -> None:
    # Schema 0: bucket i is (2**(i-1), 2**i]. 4 observations in (1, 2], 4 in (4, 8].
    cumulative = native_buckets({NativeBucketKey(1, 0, 1): 4.0, NativeBucketKey(1, 0, 3): 4.0})
    assert cumulative == [(1.0, 0.0), (2.0, 4.0), (4.0, 4.0), (8.0, 8.0), (INF, 8.0)]
    assert quantile(0.25, cumulative) == pytest.approx(1.5)
    assert quantile(0.75, cumulative) == pytest.approx(6.0)


def test_native_buckets_of_different_schemas_merge_into_the_coarsest() -> None:
    # Schema 1 buckets 1 and 2 are (1, 1.41] and (1.41, 2]: both inside schema 0 bucket 1.
    cumulative = native_buckets(
        {
            NativeBucketKey(1, 1, 1): 1.0,
            NativeBucketKey(1, 1, 2): 1.0,
            NativeBucketKey(1, 0, 1): 2.0,
        }
    )
    assert cumulative == [(1.0, 0.0), (2.0, 4.0), (INF, 4.0)]
