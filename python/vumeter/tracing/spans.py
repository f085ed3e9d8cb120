"""Spans for ``MetricsCollector.track_sample`` and ``track_operation`` (OpenTelemetry).

Once :func:`enable_operation_spans` has run (``setup_tracing`` runs it), every collector in the
process traces its work:

* ``track_sample(sample_id, dataset, parent=...)`` opens a ``process_audio`` span with
  ``sample.id`` and ``dataset.name``; with a ``parent`` (a context or the W3C headers from a
  queue message) it continues that trace as a ``CONSUMER`` span, else it is ``INTERNAL``;
* ``track_operation(operation, dataset, sample_id)`` opens a span named after the operation
  with ``processing.stage`` (the operation), ``dataset.name`` and, when given, ``sample.id``,
  as a child of whatever span is current (the sample's ``process_audio``, normally).

Each span is the current span while its block runs, so log records and metric exemplars inside
carry its ids. An ``Exception`` leaving the block is recorded on the span (an ``exception``
event with the traceback) and sets its status to ``ERROR``; an interruption that is not an
error (``KeyboardInterrupt``, task cancellation) only sets ``processing.interrupted``.
Tracing never breaks the traced work: a failure inside OpenTelemetry is logged once and the
block runs without a span.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import Token
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from vumeter.runtime import ActiveSpan, __version__, set_span_source, span_source

__all__ = [
    "SAMPLE_SPAN_NAME",
    "TRACER_NAME",
    "OperationSpans",
    "disable_operation_spans",
    "enable_operation_spans",
    "record_span",
]

_log: Final = logging.getLogger("vumeter.tracing")

SAMPLE_SPAN_NAME: Final = "process_audio"
TRACER_NAME: Final = "vumeter.audio"


class _NoSpan:
    """Stands in for a span that could not be started."""

    __slots__ = ()

    def finish(self, error: BaseException | None, /) -> None:
        pass


_NO_SPAN: Final = _NoSpan()


class _CurrentSpan:
    """A started span that is the current span until :meth:`finish`."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: trace.Span, token: Token[Context]) -> None:
        self._span = span
        self._token = token

    def finish(self, error: BaseException | None, /) -> None:
        span = self._span
        try:
            if error is not None:
                if isinstance(error, Exception):
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                else:
                    span.set_attribute("processing.interrupted", type(error).__name__)
            span.end()
        except Exception:
            _report_failure("could not end a span")
        finally:
            otel_context.detach(self._token)


_reported = False


def _report_failure(what: str) -> None:
    # Once at ERROR with the traceback, then quietly: a broken exporter or SDK must not
    # turn every processed sample into a log record.
    global _reported
    if not _reported:
        _reported = True
        _log.exception("%s; tracing continues without it (reported once)", what)
    else:
        _log.debug("%s", what, exc_info=True)


def parent_context(parent: object | None) -> Context | None:
    """``parent`` as an OpenTelemetry context: a ``Context`` as is, a mapping of W3C headers
    through the configured propagator, ``None`` for none."""
    if parent is None or isinstance(parent, Context):
        return parent
    if isinstance(parent, Mapping):
        return propagate.extract(parent)
    raise TypeError(
        "parent must be an OpenTelemetry Context or a mapping of W3C trace headers, "
        f"got {type(parent).__name__}"
    )


class OperationSpans:
    """The :class:`~vumeter.runtime.SpanSource` that uses an OpenTelemetry tracer."""

    __slots__ = ("_tracer",)

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    @property
    def tracer(self) -> trace.Tracer:
        return self._tracer

    def operation(self, operation: str, dataset: str, sample_id: str | None, /) -> ActiveSpan:
        try:
            attributes = {"processing.stage": operation, "dataset.name": dataset}
            if sample_id is not None:
                attributes["sample.id"] = sample_id
            span = self._tracer.start_span(operation, attributes=attributes)
            return _CurrentSpan(span, otel_context.attach(trace.set_span_in_context(span)))
        except Exception:
            _report_failure(f"could not start the span of operation {operation!r}")
            return _NO_SPAN

    def sample(self, sample_id: str, dataset: str, parent: object | None, /) -> ActiveSpan:
        try:
            context = parent_context(parent)
            span = self._tracer.start_span(
                SAMPLE_SPAN_NAME,
                context=context,
                kind=SpanKind.INTERNAL if context is None else SpanKind.CONSUMER,
                attributes={"sample.id": sample_id, "dataset.name": dataset},
            )
            return _CurrentSpan(span, otel_context.attach(trace.set_span_in_context(span)))
        except Exception:
            _report_failure(f"could not start the span of sample {sample_id!r}")
            return _NO_SPAN


def record_span(
    name: str,
    parent: object | None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> None:
    """Record a zero-length span ``name`` in the trace of ``parent`` (a context or W3C
    headers), with the collectors' tracer (or the global one).

    For code that handles many samples at once, such as batch scoring: one call per sample
    puts the batch's verdict on that sample (say ``quality.score``) into the sample's own
    trace, so the trace runs from enqueue to result. Never raises.
    """
    try:
        context = parent_context(parent)
        source = span_source()
        tracer = source.tracer if isinstance(source, OperationSpans) else _global_tracer()
        tracer.start_span(name, context=context, attributes=attributes).end()
    except Exception:
        _report_failure(f"could not record span {name!r}")


def _global_tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME, __version__)


def enable_operation_spans(tracer_provider: trace.TracerProvider | None = None) -> OperationSpans:
    """Trace ``track_sample`` and ``track_operation`` of every collector with a tracer from
    ``tracer_provider`` (default: the global one, which may be set later)."""
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    spans = OperationSpans(provider.get_tracer(TRACER_NAME, __version__))
    set_span_source(spans)
    return spans


def disable_operation_spans() -> None:
    """Stop tracing collectors (operations already running finish their spans)."""
    if isinstance(span_source(), OperationSpans):
        set_span_source(None)
