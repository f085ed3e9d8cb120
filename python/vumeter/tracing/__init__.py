"""Distributed tracing for vumeter workers, on the OpenTelemetry SDK.

>>> from vumeter.tracing import setup_tracing
>>> tracing = setup_tracing("enhancer")          # exporters from OTEL_* variables
>>> with collector.track_sample("s-1", "libri", parent=extract_from_message(message)):
...     with collector.track_operation("enhance", "libri", sample_id="s-1"):
...         enhance(audio)                       # doctest: +SKIP

* :mod:`~vumeter.tracing.setup`: ``setup_tracing`` (provider, resource, exporters);
* :mod:`~vumeter.tracing.spans`: the ``process_audio`` and per-operation spans of
  ``MetricsCollector``;
* :mod:`~vumeter.tracing.exemplars`: trace ids attached to metrics automatically;
* :mod:`~vumeter.tracing.propagation`: W3C trace context in queue messages, headers,
  threads and processes;
* :mod:`~vumeter.tracing.probes`: scrapes and probes traced only with a trace context;
* :mod:`vumeter.tracing.aiohttp` (imported on its own, needs the ``server`` extra):
  OpenTelemetry's aiohttp server and client instrumentations, which ``setup_tracing`` turns on.

Needs the ``tracing`` extra (``pip install 'vumeter[tracing]'``). See docs/tracing.md.
"""

try:
    import opentelemetry.sdk.trace  # noqa: F401  (fail here, with advice, not deep inside)
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "vumeter.tracing needs the OpenTelemetry SDK: pip install 'vumeter[tracing]'"
    ) from error

from vumeter.runtime.resource import build_resource, default_worker_id
from vumeter.tracing.exemplars import (
    disable_exemplars,
    enable_exemplars,
    exemplar_labels,
    exemplars_enabled,
)
from vumeter.tracing.probes import PROBE_PATHS, UntracedProbes
from vumeter.tracing.propagation import (
    MESSAGE_CONTEXT_KEY,
    attached,
    bind_context,
    extract,
    extract_from_message,
    inject,
    inject_into_message,
)
from vumeter.tracing.setup import TracingSetup, setup_tracing, span_exporter
from vumeter.tracing.spans import (
    SAMPLE_SPAN_NAME,
    OperationSpans,
    disable_operation_spans,
    enable_operation_spans,
    record_span,
)

__all__ = [
    "MESSAGE_CONTEXT_KEY",
    "PROBE_PATHS",
    "SAMPLE_SPAN_NAME",
    "OperationSpans",
    "TracingSetup",
    "UntracedProbes",
    "attached",
    "bind_context",
    "build_resource",
    "default_worker_id",
    "disable_exemplars",
    "disable_operation_spans",
    "enable_exemplars",
    "enable_operation_spans",
    "exemplar_labels",
    "exemplars_enabled",
    "extract",
    "extract_from_message",
    "inject",
    "inject_into_message",
    "record_span",
    "setup_tracing",
    "span_exporter",
]
