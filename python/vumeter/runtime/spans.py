"""The span seam: how the domain's instrumentation opens spans without knowing OpenTelemetry.

``MetricsCollector.track_operation`` and ``track_sample`` (the domain layer) ask the
installed :class:`SpanSource` for a span; ``vumeter.tracing`` (an integration) installs
its OpenTelemetry implementation with :func:`set_span_source`. Neither imports the other:
both import this module. Without a source, tracking opens no span and pays one module
attribute read per operation.

:func:`current_trace_ids` is the other direction: the ids of the span that is current
now (set by vumeter's spans or anyone else's), for log correlation. It reads
OpenTelemetry's API when installed and finds none otherwise. Like exemplars, it names only
sampled spans: those a trace back end will have (a probe that no trace context came with
runs in a dropped span, see ``vumeter.tracing.probes``, and its log lines name no trace).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

__all__ = [
    "ActiveSpan",
    "SpanSource",
    "current_trace_ids",
    "set_span_source",
    "span_source",
]


class ActiveSpan(Protocol):
    """A started span; ``finish`` records the outcome, ends it and restores the context."""

    def finish(self, error: BaseException | None, /) -> None: ...


class SpanSource(Protocol):
    """Opens the spans of tracked operations and samples. Neither method may raise:
    tracing must never break the work it observes."""

    def operation(self, operation: str, dataset: str, sample_id: str | None, /) -> ActiveSpan:
        """Start the span of one operation, as the current span."""
        ...

    def sample(self, sample_id: str, dataset: str, parent: object | None, /) -> ActiveSpan:
        """Start the span of a whole sample, as the current span, continuing ``parent`` (a
        context or W3C trace headers) when given."""
        ...


# Read on every tracked operation; replaced whole by set_span_source, so no lock is needed.
installed: SpanSource | None = None


def set_span_source(source: SpanSource | None) -> SpanSource | None:
    """Install ``source`` for every collector in the process (``None``: no spans); returns
    the previous one. Operations already running finish with the source they started with."""
    global installed
    previous, installed = installed, source
    return previous


def span_source() -> SpanSource | None:
    """The installed span source, if any."""
    return installed


def _no_trace_ids() -> tuple[str, str] | None:
    return None


def _trace_ids_reader() -> Callable[[], tuple[str, str] | None]:
    """The reader of the current span's ids, or one that finds none without OpenTelemetry."""
    try:
        from opentelemetry import trace  # noqa: PLC0415 - the tracing extra is optional
    except ImportError:
        return _no_trace_ids
    get_current_span = trace.get_current_span

    def read() -> tuple[str, str] | None:
        span_context = get_current_span().get_span_context()
        if not span_context.is_valid or not span_context.trace_flags.sampled:
            return None
        return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"

    return read


current_trace_ids: Final = _trace_ids_reader()
"""``(trace_id, span_id)`` of the current sampled OpenTelemetry span as W3C hex, or ``None``."""
