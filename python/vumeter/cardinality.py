"""The cardinality guard's self-metric.

A metric created with ``max_label_sets=N`` refuses its (N+1)th label set with
:class:`CardinalityLimitExceeded`; each refusal is counted natively and exported as
``vumeter_label_sets_rejected_total{metric="<name>"}`` by one collector per registry. At each
scrape it reports the limited families registered in its registry at that moment, so a family
that was unregistered drops out, and one created again under its name gives one series, not two.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from vumeter._native import CardinalityLimitExceeded, MetricFamily
from vumeter._per_registry import PerRegistry, registered_collectors

__all__ = ["CardinalityLimitExceeded", "track_cardinality"]

REJECTED_METRIC = "vumeter_label_sets_rejected"


class _RejectedLabelSets:
    """Collector of refusals for every limited family of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # Weak: the registry holds this collector.
        self._registry = weakref.ref(registry)

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(REJECTED_METRIC, _HELP, labels=["metric"])]

    def collect(self) -> Iterable[Metric]:
        metric = CounterMetricFamily(REJECTED_METRIC, _HELP, labels=["metric"])
        registry = self._registry()
        limited = [
            collector
            for collector in (registered_collectors(registry) if registry is not None else [])
            if isinstance(collector, MetricFamily) and collector._max_label_sets is not None
        ]
        for family in sorted(limited, key=lambda f: f._name):
            metric.add_metric([family._name], float(family._rejected_label_sets))
        return [metric]


_HELP = "New label sets refused because a metric reached its max_label_sets limit."


def _registered_collector(registry: CollectorRegistry) -> _RejectedLabelSets:
    collector = _RejectedLabelSets(registry)
    registry.register(collector)
    return collector


# Afresh if its owner unregistered it: refusals would go unexported otherwise.
_collectors = PerRegistry(_registered_collector, members=lambda collector: [collector])


def track_cardinality(registry: CollectorRegistry, family: Any) -> None:
    """Makes sure ``registry`` exports the refusals of its limited families, ``family``
    among them (the collector finds them among the registered ones at each scrape)."""
    _collectors.get(registry)
