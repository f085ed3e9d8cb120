"""Automatic exemplars: metrics recorded inside a sampled span name its trace.

After :func:`enable_exemplars` (``setup_tracing`` calls it), every ``Counter.inc`` and
``Histogram.observe`` made without an explicit ``exemplar=`` while a sampled, valid span is
current attaches ``{trace_id, span_id}`` (W3C hex) as the OpenMetrics exemplar of the series
or bucket. Prometheus stores them with ``--enable-feature=exemplar-storage`` and Grafana links
from a latency panel to the trace. ``Histogram.observe_many`` never attaches exemplars (a batch
has no single trace).

How it stays free when no span is active: the native core is handed OpenTelemetry's context
variable and the key under which the current span is stored
(``vumeter._native.set_exemplar_source``). On each observation it looks the key up in the
context natively; only when a span is there does it call back into Python
(:func:`exemplar_labels`) to read the ids. This relies on OpenTelemetry's default runtime
context, the ``contextvars`` one; with another implementation (``OTEL_PYTHON_CONTEXT``)
automatic exemplars are left off, with a warning, and explicit ``exemplar=`` still works.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, Final, Protocol

from opentelemetry import context as otel_context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import propagation as trace_propagation

from vumeter import _native

__all__ = ["disable_exemplars", "enable_exemplars", "exemplar_labels", "exemplars_enabled"]

_log: Final = logging.getLogger("vumeter.tracing")


class _ExemplarHook(Protocol):
    def __call__(self, var: ContextVar[Any] | None, key: str | None, extract: Any, /) -> None: ...


_enabled = False


def exemplar_labels(span: object) -> dict[str, str] | None:
    """``{"trace_id", "span_id"}`` of ``span`` when it is valid and sampled, else ``None``.

    Called by the native core with the current span; it never raises (an exemplar is not
    worth failing an observation for).
    """
    try:
        span_context = span.get_span_context()  # type: ignore[attr-defined]
        if not span_context.is_valid or not span_context.trace_flags.sampled:
            return None
        return {
            "trace_id": f"{span_context.trace_id:032x}",
            "span_id": f"{span_context.span_id:016x}",
        }
    except Exception:
        return None


def _native_hook() -> _ExemplarHook | None:
    hook: _ExemplarHook | None = getattr(_native, "set_exemplar_source", None)
    return hook


def enable_exemplars() -> bool:
    """Attach the current span's ids to every observation; ``True`` when that is now on.

    Returns ``False`` (and logs why) when it cannot be: a native core without the hook, or
    an OpenTelemetry runtime context other than the ``contextvars`` one.
    """
    global _enabled
    hook = _native_hook()
    if hook is None:
        _log.warning(
            "automatic exemplars are off: this build of vumeter's native core has no "
            "set_exemplar_source (rebuild it); explicit exemplar= still works"
        )
        return False
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    span_key = getattr(trace_propagation, "_SPAN_KEY", None)
    variable = getattr(runtime, "_current_context", None)
    if (
        not isinstance(runtime, ContextVarsRuntimeContext)
        or not isinstance(variable, ContextVar)
        or not isinstance(span_key, str)
    ):
        _log.warning(
            "automatic exemplars are off: OpenTelemetry's runtime context is %s, not the "
            "contextvars one they read (unset OTEL_PYTHON_CONTEXT to use it); explicit "
            "exemplar= still works",
            type(runtime).__name__,
        )
        return False
    hook(variable, span_key, exemplar_labels)
    _enabled = True
    return True


def disable_exemplars() -> None:
    """Stop attaching exemplars automatically (explicit ``exemplar=`` keeps working)."""
    global _enabled
    hook = _native_hook()
    if hook is not None:
        hook(None, None, None)
    _enabled = False


def exemplars_enabled() -> bool:
    """Whether :func:`enable_exemplars` is in effect."""
    return _enabled
