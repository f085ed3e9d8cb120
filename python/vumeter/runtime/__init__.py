"""vumeter's runtime layer: what every integration shares, so each does it one way.

It sits between the metrics (the top-level ``vumeter`` modules, below it) and the
integrations (``vumeter.gpu``, ``push``, ``logs``, ``server``, ``tracing``, above it):

* :class:`BackgroundWorker` (``worker``): the one lifecycle of a background thread:
  ``start()``, ``close(timeout) -> bool``, context manager, fork handling;
* :class:`Outage` (``outage``): failures counted, one warning when they start, one line
  when they end;
* :class:`Backoff` and :func:`backoff_delay` (``backoff``): exponential backoff with equal
  jitter;
* :class:`PerRegistry` and :func:`registered_together` (``self_metrics``): self-metrics
  created once per registry, all or nothing;
* :func:`seconds` and :func:`positive_int` (``validation``): shared argument checks;
* the span seam (``spans``): :class:`SpanSource`, :func:`set_span_source`,
  :func:`current_trace_ids`, so that the domain opens spans and logs read trace ids
  without importing the tracing integration;
* the server seam (``server_hooks``): middlewares another integration puts in front of
  vumeter's HTTP server (tracing's shortcut for untraced probes);
* ``__version__`` (``version``), and :mod:`vumeter.runtime.resource`, the OpenTelemetry
  resource shared by traces and logs (imported on its own: it needs the ``tracing`` extra).

Needs only what the metrics layer needs (prometheus_client, numpy, the native core).
"""

from vumeter.runtime.backoff import Backoff, backoff_delay
from vumeter.runtime.outage import Outage
from vumeter.runtime.self_metrics import PerRegistry, registered_together
from vumeter.runtime.server_hooks import (
    add_server_middleware,
    remove_server_middleware,
    server_middlewares,
)
from vumeter.runtime.spans import (
    ActiveSpan,
    SpanSource,
    current_trace_ids,
    set_span_source,
    span_source,
)
from vumeter.runtime.validation import positive_int, seconds
from vumeter.runtime.version import __version__
from vumeter.runtime.worker import BackgroundWorker

__all__ = [
    "ActiveSpan",
    "BackgroundWorker",
    "Backoff",
    "Outage",
    "PerRegistry",
    "SpanSource",
    "__version__",
    "add_server_middleware",
    "backoff_delay",
    "current_trace_ids",
    "positive_int",
    "registered_together",
    "remove_server_middleware",
    "seconds",
    "server_middlewares",
    "set_span_source",
    "span_source",
]
