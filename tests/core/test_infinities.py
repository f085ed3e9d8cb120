"""``_sum`` never becomes NaN through recorded values. A histogram's infinite
observation is counted and saturates ``_sum`` to that infinity; the opposite infinity
after it is refused with nothing recorded (``+Inf + -Inf`` is NaN). Counters only grow,
so ``inc(inf)`` saturates them at ``+Inf``. Gauges hold whatever they are set to, as in
prometheus_client."""

from __future__ import annotations

import math

import numpy as np
import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter


def value(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value(name)


def test_an_infinity_saturates_sum_and_the_opposite_one_is_refused() -> None:
    registry = CollectorRegistry()
    h = vumeter.Histogram("snr_db", "S", registry=registry, buckets=[-10.0, 0.0, 10.0])
    h.observe(5.0)
    h.observe(-math.inf)  # a silent signal's SNR in dB
    with pytest.raises(ValueError, match=r"cannot observe inf: _sum is already -inf"):
        h.observe(math.inf)
    h.observe(3.0)
    assert value(registry, "snr_db_count") == 3
    assert registry.get_sample_value("snr_db_bucket", {"le": "-10.0"}) == 1
    assert registry.get_sample_value("snr_db_bucket", {"le": "+Inf"}) == 3
    # A first bound below zero means no _sum sample (as in prometheus_client); with a
    # first bound at zero the saturated sum is exposed.
    registry = CollectorRegistry()
    level = vumeter.Histogram("level", "L", registry=registry, buckets=[0.0, 10.0])
    level.observe(-math.inf)
    with pytest.raises(ValueError, match=r"cannot observe inf: _sum is already -inf"):
        level.observe(math.inf)
    assert value(registry, "level_sum") == -math.inf
    assert value(registry, "level_count") == 1


def test_observe_many_is_all_or_nothing_for_opposite_infinities() -> None:
    registry = CollectorRegistry()
    h = vumeter.Histogram("bulk_inf", "B", registry=registry, buckets=[1.0])
    with pytest.raises(ValueError, match=r"values\[2\] is -inf.*nothing from this call"):
        h.observe_many(np.array([0.5, math.inf, -math.inf]))
    assert value(registry, "bulk_inf_count") == 0
    assert value(registry, "bulk_inf_sum") == 0.0
    h.observe_many(np.array([0.5, math.inf, 2.0]))
    with pytest.raises(ValueError, match=r"values\[1\] is -inf"):
        h.observe_many(np.array([0.5, -math.inf]))
    assert value(registry, "bulk_inf_count") == 3
    assert value(registry, "bulk_inf_sum") == math.inf


def test_overflowing_finite_values_never_sum_to_nan() -> None:
    registry = CollectorRegistry()
    h = vumeter.Histogram("huge", "H", registry=registry, buckets=[0.0])
    big = np.array([1.7e308, -1.7e308] * 8)
    h.observe_many(big)  # lanes of the bulk kernel overflow apart
    for v in (1.7e308, 1.7e308, -1.7e308, -1.7e308, -1.7e308):
        h.observe(v)
    total = value(registry, "huge_sum")
    assert total is not None
    assert not math.isnan(total)


def test_a_counter_saturates_at_inf_and_stays_there_until_reset() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    c = vumeter.Counter("bytes", "B", registry=ours)
    p = prometheus_client.Counter("bytes", "B", registry=theirs)
    for counter in (c, p):
        counter.inc(math.inf)
        counter.inc(5)
        counter.inc(math.inf)
    assert value(ours, "bytes_total") == value(theirs, "bytes_total") == math.inf
    with pytest.raises(ValueError, match="non-negative"):
        c.inc(-math.inf)
    c.reset()
    assert value(ours, "bytes_total") == 0.0


def test_gauges_hold_what_they_are_set_to_like_prometheus_client() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    g = vumeter.Gauge("level", "L", registry=ours)
    p = prometheus_client.Gauge("level", "L", registry=theirs)
    for gauge in (g, p):
        gauge.inc(math.inf)
        gauge.dec(math.inf)
    ours_value, theirs_value = value(ours, "level"), value(theirs, "level")
    assert ours_value is not None
    assert theirs_value is not None
    assert math.isnan(ours_value)
    assert math.isnan(theirs_value)
    g.set(2.5)  # a gauge is a current value: the next set() replaces the NaN
    assert value(ours, "level") == 2.5
