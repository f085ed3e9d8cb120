"""The cardinality guard's self-metric.

A metric created with ``max_label_sets=N`` refuses its (N+1)th label set with
:class:`CardinalityLimitExceeded`; each refusal is counted natively and exported as
``vumeter_label_sets_rejected_total{metric="<name>"}`` by one collector per registry.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from vumeter._native import CardinalityLimitExceeded
from vumeter._per_registry import PerRegistry

__all__ = ["CardinalityLimitExceeded", "track_cardinality"]

REJECTED_METRIC = "vumeter_label_sets_rejected"


class _RejectedLabelSets:
    """Collector of refusals for every limited family of one registry."""

    def __init__(self) -> None:
        self._families: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, family: Any) -> None:
        self._families.add(family)

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(REJECTED_METRIC, _HELP, labels=["metric"])]

    def collect(self) -> Iterable[Metric]:
        metric = CounterMetricFamily(REJECTED_METRIC, _HELP, labels=["metric"])
        for family in sorted(self._families, key=lambda f: f._name):
            metric.add_metric([family._name], float(family._rejected_label_sets))
        return [metric]


_HELP = "New label sets refused because a metric reached its max_label_sets limit."


def _registered_collector(registry: CollectorRegistry) -> _RejectedLabelSets:
    collector = _RejectedLabelSets()
    registry.register(collector)
    return collector


_collectors = PerRegistry(_registered_collector)


def track_cardinality(registry: CollectorRegistry, family: Any) -> None:
    """Adds a limited family to its registry's refusal counter (registered on first use)."""
    _collectors.get(registry).add(family)
