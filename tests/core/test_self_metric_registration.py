"""Self-metrics follow registration: a metric that was unregistered (and perhaps created again)
gives exactly one series or none, and shared self-metric sets unregistered by their owner are
registered afresh rather than counted into nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from vumeter import Counter, Histogram, generate_latest
from vumeter.cardinality import CardinalityLimitExceeded


def rejected_lines(registry: CollectorRegistry) -> list[str]:
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if line.startswith("vumeter_label_sets_rejected_total")
    ]


def refuse_one_label_set(metric: Counter | Histogram) -> None:
    metric.labels("a")
    with pytest.raises(CardinalityLimitExceeded):
        metric.labels("b")


def test_a_recreated_limited_metric_gives_one_rejected_series(registry: CollectorRegistry) -> None:
    first = Counter("jobs", "Jobs", ["kind"], registry=registry, max_label_sets=1)
    refuse_one_label_set(first)
    registry.unregister(first)  # the caller still holds ``first``
    second = Counter("jobs", "Jobs", ["kind"], registry=registry, max_label_sets=1)
    refuse_one_label_set(second)
    refuse_one_label_set(second)
    assert rejected_lines(registry) == ['vumeter_label_sets_rejected_total{metric="jobs"} 2.0']
    del first


def test_an_unregistered_limited_metric_drops_out(registry: CollectorRegistry) -> None:
    kept = Histogram("latency", "Latency", ["route"], registry=registry, max_label_sets=1)
    gone = Counter("requests", "Requests", ["route"], registry=registry, max_label_sets=1)
    refuse_one_label_set(kept)
    refuse_one_label_set(gone)
    registry.unregister(gone)
    assert rejected_lines(registry) == ['vumeter_label_sets_rejected_total{metric="latency"} 1.0']


def test_the_rejected_collector_comes_back_if_its_owner_unregistered_it(
    registry: CollectorRegistry,
) -> None:
    first = Counter("jobs", "Jobs", ["kind"], registry=registry, max_label_sets=1)
    (collector,) = [
        c
        for c in registry._collector_to_names
        if "vumeter_label_sets_rejected" in registry._collector_to_names[c]
    ]
    registry.unregister(collector)
    registry.unregister(first)
    second = Counter("jobs", "Jobs", ["kind"], registry=registry, max_label_sets=1)
    refuse_one_label_set(second)
    assert rejected_lines(registry) == ['vumeter_label_sets_rejected_total{metric="jobs"} 1.0']


def gpu_set(registry: CollectorRegistry) -> tuple[object, list[object]]:
    from vumeter.gpu.metrics import gpu_metrics_for

    metrics = gpu_metrics_for(registry)
    return metrics, [metrics.monitor_up, metrics.poll_failures, *metrics.per_gpu_gauges]


def push_set(registry: CollectorRegistry) -> tuple[object, list[object]]:
    from vumeter.push.metrics import push_metrics_for

    metrics = push_metrics_for(registry)
    return metrics, [metrics.failures, metrics.last_success]


def shipping_set(registry: CollectorRegistry) -> tuple[object, list[object]]:
    from vumeter.logs.shipping import shipping_metrics

    metrics = shipping_metrics(registry)
    return metrics, [metrics.shipped, metrics.dropped, metrics.failures]


@pytest.mark.parametrize("shared", [gpu_set, push_set, shipping_set], ids=["gpu", "push", "logs"])
def test_shared_self_metrics_unregistered_by_their_owner_are_registered_again(
    registry: CollectorRegistry,
    shared: Callable[[CollectorRegistry], tuple[object, list[object]]],
) -> None:
    first, collectors = shared(registry)
    assert shared(registry)[0] is first, "shared while registered"
    before = series(registry)
    registry.unregister(collectors[0])  # e.g. a test or a reload dropping one of them
    second, again = shared(registry)
    assert second is not first
    assert all(c in registry._collector_to_names for c in again)
    assert series(registry) == before, "the same series, each exactly once"


def series(registry: CollectorRegistry) -> list[str]:
    """Every series' name and labels (not values: a fresh counter has a new _created)."""
    return sorted(
        line.split(" ")[0]
        for line in generate_latest(registry).decode().splitlines()
        if not line.startswith("#")
    )
