"""A registry holding vumeter families, a prometheus_client metric and a custom
collector, so that every exporter test covers a mixed registry."""

from __future__ import annotations

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter


@pytest.fixture
def mixed_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = vumeter.Counter("requests", "Requests.", ["method"], registry=registry)
    counter.labels("get").inc(3)
    histogram = vumeter.Histogram("latency_seconds", "Latency.", ["route"], registry=registry)
    histogram.labels("/a").observe(0.2)
    vumeter.Gauge("depth", "Queue depth.", registry=registry).set(4)
    prometheus_client.Summary("legacy_seconds", "Legacy.", registry=registry).observe(1.5)
    return registry
