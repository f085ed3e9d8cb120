"""``_created`` (at metric and child creation and at ``reset()``), exemplar timestamps and
``set_to_current_time()`` read Python's ``time.time()``, as prometheus_client's do, so a
patched clock shows in both libraries alike; an ``inc`` or ``observe`` without an
exemplar never reads it."""

from __future__ import annotations

from typing import Any
from unittest import mock

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_of

import vumeter


def scenario(lib: Any) -> tuple[bytes, bytes]:
    registry = CollectorRegistry()
    with mock.patch("time.time", return_value=1000.25):
        counter = lib.Counter("c", "C", ["k"], registry=registry)
        plain = lib.Counter("plain", "P", registry=registry)
        histogram = lib.Histogram("h", "H", registry=registry, buckets=(1.0, 2.0))
        gauge = lib.Gauge("g", "G", registry=registry)
    with mock.patch("time.time", return_value=2000.5):
        counter.labels("a").inc(2, exemplar={"trace_id": "t1"})
        histogram.observe(1.5, {"trace_id": "t2"})
        gauge.set_to_current_time()
    with mock.patch("time.time", return_value=3000.75):
        plain.inc(5)
        plain.reset()
        # (A reset keeps no exemplar in vumeter, on purpose: see test_reset_drops_the_exemplar.)
        counter.labels("b").inc()
        counter.labels("b").reset()
    return openmetrics_of(registry), prometheus_client.generate_latest(registry)


def test_a_patched_clock_shows_as_with_prometheus_client() -> None:
    ours = scenario(vumeter)
    assert ours == scenario(prometheus_client)
    assert b"h_created 1000.25" in ours[0]
    assert b'h_bucket{le="2.0"} 1.0 # {trace_id="t2"} 1.5 2000.5' in ours[0]
    assert b"plain_created 3000.75" in ours[0]


def test_rendered_natively_too() -> None:
    registry = CollectorRegistry()
    with mock.patch("time.time", return_value=1234.0):
        vumeter.Counter("c", "C", ["k"], registry=registry).labels("x").inc(exemplar={"a": "b"})
    assert b'c_created{k="x"} 1234.0' in vumeter.generate_openmetrics(registry)
    assert b'c_total{k="x"} 1.0 # {a="b"} 1.0 1234.0' in vumeter.generate_openmetrics(registry)


@pytest.mark.parametrize("labelled", [False, True])
def test_observations_without_exemplars_never_read_the_clock(labelled: bool) -> None:
    registry = CollectorRegistry()
    labels = ["k"] if labelled else []
    counter = vumeter.Counter("c", "C", labels, registry=registry)
    histogram = vumeter.Histogram("h", "H", labels, registry=registry)
    gauge = vumeter.Gauge("g", "G", labels, registry=registry)
    if labelled:
        counter, histogram, gauge = (m.labels("v") for m in (counter, histogram, gauge))
    with mock.patch("time.time", side_effect=AssertionError("clock read")) as clock:
        for i in range(100):
            counter.inc()
            counter.inc(2.5)
            histogram.observe(i / 10)
            histogram.observe_many([0.1, 0.2])
            gauge.set(i)
            gauge.inc()
    assert clock.call_count == 0


def test_a_clock_that_fails_falls_back_to_the_system_clock() -> None:
    registry = CollectorRegistry()
    with mock.patch("time.time", return_value="not a number"):
        vumeter.Counter("c", "C", registry=registry)
    [created] = [s.value for m in registry.collect() for s in m.samples if s.name == "c_created"]
    assert created > 1.7e9


def test_reset_drops_the_exemplar() -> None:
    """Where vumeter differs on purpose: prometheus_client's reset() keeps the last
    exemplar (a value above the counter's); vumeter's resets the counter as if new."""
    registry = CollectorRegistry()
    counter = vumeter.Counter("c", "C", registry=registry)
    counter.inc(2, exemplar={"trace_id": "t"})
    counter.reset()
    assert b"# {" not in vumeter.generate_openmetrics(registry)
