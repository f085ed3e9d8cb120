"""The pusher's own health metrics, registered once per registry.

They live in the registry that is pushed, so the Pushgateway (and Prometheus behind it)
sees ``vumeter_push_failures_total`` and when the previous push succeeded. They exist only
on registries that have a pusher: a scraped worker without one does not expose a push
timestamp of 0 that would look like "never pushed".
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from vumeter import Counter, Gauge
from vumeter.runtime import PerRegistry, registered_together


@dataclass(frozen=True, slots=True)
class PushMetrics:
    failures: Counter
    last_success: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> PushMetrics:
        """Create the metrics on ``registry``; on a name clash nothing stays registered."""
        with registered_together(registry) as keep:
            return cls(
                failures=keep(
                    Counter(
                        "vumeter_push_failures_total",
                        "Pushgateway requests (push or delete) that failed: connection "
                        "error, timeout or HTTP error.",
                        registry=registry,
                    )
                ),
                last_success=keep(
                    Gauge(
                        "vumeter_last_push_success_timestamp_seconds",
                        "Unix time of the last successful push to the Pushgateway.",
                        registry=registry,
                        # The newest push of a pusher that still runs; a dead one pushes
                        # no more, and its old time would only mask a stuck live one.
                        multiprocess_mode="livemax",
                    )
                ),
            )


# Afresh if the registry's owner unregistered either: a new pusher would count into metrics
# nobody exports.
_shared = PerRegistry(
    PushMetrics.register, members=lambda metrics: [metrics.failures, metrics.last_success]
)


def push_metrics_for(registry: CollectorRegistry) -> PushMetrics:
    """The ``PushMetrics`` of ``registry``, registering them on first use."""
    return _shared.get(registry)
