"""The cardinality guard's self-metric.

A metric created with ``max_label_sets=N`` refuses its (N+1)th label set with
:class:`CardinalityLimitExceeded`; each refusal is counted natively and exported as
``vumeter_label_sets_rejected_total{metric="<name>"}`` by one collector per registry, for the
limited families registered there at the time of the scrape: a family that was unregistered
drops out, so one created again under its name gives one series, not two.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from vumeter._native import CardinalityLimitExceeded
from vumeter._registry import is_registered, registered_among

__all__ = ["CardinalityLimitExceeded", "track_cardinality"]

REJECTED_METRIC = "vumeter_label_sets_rejected"


class _RejectedLabelSets:
    """Collector of refusals for every limited family of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # Weak: the registry holds this collector.
        self._registry = weakref.ref(registry)
        self.families: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, family: Any) -> None:
        self.families.add(family)

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(REJECTED_METRIC, _HELP, labels=["metric"])]

    def collect(self) -> Iterable[Metric]:
        metric = CounterMetricFamily(REJECTED_METRIC, _HELP, labels=["metric"])
        registry = self._registry()
        families = registered_among(registry, list(self.families)) if registry else []
        for family in sorted(families, key=lambda f: f._name):
            metric.add_metric([family._name], float(family._rejected_label_sets))
        return [metric]


_HELP = "New label sets refused because a metric reached its max_label_sets limit."
_collectors: weakref.WeakKeyDictionary[CollectorRegistry, _RejectedLabelSets] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def track_cardinality(registry: CollectorRegistry, family: Any) -> None:
    """Adds a limited family to its registry's refusal counter (registered on first use)."""
    with _lock:
        collector = _collectors.get(registry)
        # Unregistered by its owner since: a fresh one, or refusals would go unexported.
        if collector is None or not is_registered(registry, collector):
            fresh = _RejectedLabelSets(registry)
            if collector is not None:
                fresh.families |= collector.families
            registry.register(fresh)
            _collectors[registry] = collector = fresh
        collector.add(family)
