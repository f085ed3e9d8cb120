"""Pushing metrics to a Prometheus Pushgateway: ``MetricsPusher``.

For batch jobs that may end between two scrapes. Long-running workers should be scraped
instead; docs/instrumentation.md explains when to use which.
"""

from vumeter.push.metrics import PushMetrics, push_metrics_for
from vumeter.push.pusher import MetricsPusher, PushHandler, normalize_gateway_url
from vumeter.runtime import Backoff  # the backoff every vumeter worker uses

__all__ = [
    "Backoff",
    "MetricsPusher",
    "PushHandler",
    "PushMetrics",
    "normalize_gateway_url",
    "push_metrics_for",
]
