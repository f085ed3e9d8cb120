"""The pusher's own health metrics, registered once per registry.

They live in the registry that is pushed, so the Pushgateway (and Prometheus behind it)
sees ``vumeter_push_failures_total`` and when the previous push succeeded. They exist only
on registries that have a pusher: a scraped worker without one does not expose a push
timestamp of 0 that would look like "never pushed".
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from vumeter import Counter, Gauge
from vumeter._registry import reuse_or_register


@dataclass(frozen=True, slots=True)
class PushMetrics:
    failures: Counter
    last_success: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> PushMetrics:
        """Create the metrics on ``registry``; on a name clash nothing stays registered."""
        failures = Counter(
            "vumeter_push_failures_total",
            "Pushgateway requests (push or delete) that failed: connection error, timeout "
            "or HTTP error.",
            registry=registry,
        )
        try:
            last_success = Gauge(
                "vumeter_last_push_success_timestamp_seconds",
                "Unix time of the last successful push to the Pushgateway.",
                registry=registry,
            )
        except BaseException:
            registry.unregister(failures)
            raise
        return cls(failures, last_success)


_shared: weakref.WeakKeyDictionary[CollectorRegistry, PushMetrics] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def _members(metrics: PushMetrics) -> list[Gauge | Counter]:
    return [metrics.failures, metrics.last_success]


def push_metrics_for(registry: CollectorRegistry) -> PushMetrics:
    """The ``PushMetrics`` of ``registry``, registering them on first use."""
    if not isinstance(registry, CollectorRegistry):
        raise TypeError(f"registry must be a CollectorRegistry, got {type(registry).__name__}")
    with _shared_lock:
        # Afresh if the owner unregistered any of them: counting into those would be lost.
        metrics = reuse_or_register(
            registry, _shared.get(registry), _members, lambda: PushMetrics.register(registry)
        )
        _shared[registry] = metrics
        return metrics
