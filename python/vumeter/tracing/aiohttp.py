"""Tracing over HTTP with aiohttp, on OpenTelemetry's own instrumentations.

:func:`instrument_aiohttp` (``setup_tracing()`` calls it) turns on
``opentelemetry-instrumentation-aiohttp-server`` and ``-client`` for the whole process:

* every ``aiohttp.web.Application`` created afterwards, vumeter's server included, runs each
  request in a ``SERVER`` span named ``"<METHOD> <route>"`` (the route's pattern, such as
  ``GET /score/{sample_id}``, so names stay few), continuing the caller's trace from its
  ``traceparent``; a 5xx answer or an exception marks it failed, a 4xx does not (the
  client's mistake);
* every ``aiohttp.ClientSession`` created afterwards runs each request in a ``CLIENT`` span
  and sends its context, so the server's span becomes its child.

Scrapes and probes (``/metrics``, ``/livez``, ...) are traced only when the caller sends a
trace context: that is the sampler of :mod:`vumeter.tracing.probes`, which
``setup_tracing()`` installs. vumeter's own server goes one step further: a middleware
registered in front of it (:mod:`vumeter.runtime.server_hooks`) lets such requests bypass
the instrumentation altogether, so a kubelet probe or a Prometheus scrape costs what it cost
without tracing. The spans use the stable HTTP semantic conventions
(``http.request.method``, ``http.response.status_code``...): :func:`instrument_aiohttp` sets
``OTEL_SEMCONV_STABILITY_OPT_IN=http`` unless it is set already (``http/dup`` emits both the
old and the new names).

For sessions created before instrumentation, or without it, :func:`client_trace_config` is
the instrumentation's ``aiohttp.TraceConfig`` and :func:`traced_session` a session with it.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import aiohttp
from aiohttp import web
from opentelemetry import trace
from opentelemetry.instrumentation import aiohttp_server
from opentelemetry.instrumentation._semconv import (
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
)
from opentelemetry.instrumentation.aiohttp_client import (
    AioHttpClientInstrumentor,
    create_trace_config,
)
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.utils import suppress_http_instrumentation

from vumeter.runtime import add_server_middleware, remove_server_middleware
from vumeter.tracing.probes import PROBE_PATHS

__all__ = [
    "DEFAULT_EXCLUDED_PATHS",
    "client_trace_config",
    "instrument_aiohttp",
    "make_tracing_middleware",
    "traced_session",
    "uninstrument_aiohttp",
    "untraced_probes_shortcut",
]

DEFAULT_EXCLUDED_PATHS: Final = PROBE_PATHS
"""Paths traced only when the caller sends a trace context (see :mod:`vumeter.tracing.probes`)."""

_SEMCONV_OPT_IN: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_Middleware = Callable[[web.Request, _Handler], Awaitable[web.StreamResponse]]

_lock = threading.Lock()
_instrumented_by_us = False
_probe_shortcut: _Middleware | None = None


def untraced_probes_shortcut(paths: Iterable[str] = PROBE_PATHS) -> _Middleware:
    """A middleware that runs requests to ``paths`` without a ``traceparent`` with HTTP
    instrumentation suppressed: the instrumentation's middleware then returns at once,
    instead of starting a span that the probe sampler drops."""
    probe_paths = frozenset(paths)

    @web.middleware
    async def skip_untraced_probes(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path not in probe_paths or "traceparent" in request.headers:
            return await handler(request)
        with suppress_http_instrumentation():
            return await handler(request)

    return skip_untraced_probes


def instrument_aiohttp(
    tracer_provider: trace.TracerProvider | None = None,
    *,
    probe_paths: Iterable[str] = PROBE_PATHS,
) -> bool:
    """Trace every aiohttp server application and client session created from now on, with
    spans from ``tracer_provider`` (default: the global one); requests of vumeter's server to
    ``probe_paths`` without a trace context bypass the instrumentation.

    Called again, it switches to the new provider. Returns ``False``, changing nothing, when
    something else (``opentelemetry-instrument``, the application itself) instrumented
    aiohttp already: that set-up is left as it is.
    """
    global _instrumented_by_us, _probe_shortcut
    with _lock:
        server, client = AioHttpServerInstrumentor(), AioHttpClientInstrumentor()
        if _instrumented_by_us:
            _uninstrument(server, client)
        elif server.is_instrumented_by_opentelemetry or client.is_instrumented_by_opentelemetry:
            return False
        os.environ.setdefault(_SEMCONV_OPT_IN, "http")
        with warnings.catch_warnings():
            # The server instrumentation subclasses web.Application, which aiohttp
            # discourages with a warning that nobody using vumeter can act on.
            warnings.filterwarnings("ignore", "Inheritance class", DeprecationWarning)
            server.instrument(tracer_provider=tracer_provider)
        client.instrument(tracer_provider=tracer_provider)
        _probe_shortcut = untraced_probes_shortcut(probe_paths)
        add_server_middleware(_probe_shortcut)
        _instrumented_by_us = True
        return True


def uninstrument_aiohttp() -> None:
    """Undo :func:`instrument_aiohttp` (applications and sessions created later are not
    traced); does nothing when vumeter did not instrument aiohttp."""
    global _instrumented_by_us
    with _lock:
        if _instrumented_by_us:
            _uninstrument(AioHttpServerInstrumentor(), AioHttpClientInstrumentor())
            _instrumented_by_us = False


def _uninstrument(server: AioHttpServerInstrumentor, client: AioHttpClientInstrumentor) -> None:
    global _probe_shortcut
    if _probe_shortcut is not None:
        remove_server_middleware(_probe_shortcut)
        _probe_shortcut = None
    if server.is_instrumented_by_opentelemetry:
        server.uninstrument()
    if client.is_instrumented_by_opentelemetry:
        client.uninstrument()


def client_trace_config(
    *, tracer_provider: trace.TracerProvider | None = None
) -> aiohttp.TraceConfig:
    """The client instrumentation's ``aiohttp.TraceConfig``: a ``CLIENT`` span per request,
    whose context is sent (for sessions that the process-wide instrumentation misses)."""
    _OpenTelemetrySemanticConventionStability._initialize()  # type: ignore[no-untyped-call]
    mode = _OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode(
        _OpenTelemetryStabilitySignalType.HTTP
    )
    return create_trace_config(tracer_provider=tracer_provider, sem_conv_opt_in_mode=mode)


def traced_session(
    *, tracer_provider: trace.TracerProvider | None = None, **session_options: Any
) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` whose requests are traced: with the process-wide client
    instrumentation on, any session is; otherwise :func:`client_trace_config` is added to
    its ``trace_configs`` (other options are passed through)."""
    configs = list(session_options.pop("trace_configs", None) or [])
    if not AioHttpClientInstrumentor().is_instrumented_by_opentelemetry:
        configs.append(client_trace_config(tracer_provider=tracer_provider))
    return aiohttp.ClientSession(trace_configs=configs, **session_options)


def make_tracing_middleware(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    excluded_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
) -> _Middleware:
    """Deprecated: ``setup_tracing()`` (or :func:`instrument_aiohttp`) traces every aiohttp
    application; remove the middleware from ``middlewares=``.

    Kept working: it instruments aiohttp with ``tracer_provider`` and traces the requests
    of an application created before that (one created after is traced already).
    ``excluded_paths`` is ignored: the probe sampler decides (:mod:`vumeter.tracing.probes`).
    """
    warnings.warn(
        "make_tracing_middleware() and tracing_middleware are deprecated: setup_tracing() or "
        "vumeter.tracing.aiohttp.instrument_aiohttp() traces every aiohttp application "
        "created after it; remove the middleware",
        DeprecationWarning,
        stacklevel=2,
    )
    del excluded_paths
    instrument_aiohttp(tracer_provider)
    traced = aiohttp_server.create_aiohttp_middleware(tracer_provider)

    @web.middleware
    async def trace_if_not_instrumented(
        request: web.Request, handler: _Handler
    ) -> web.StreamResponse:
        if any(_is_instrumentation(m) for m in request.app.middlewares):
            return await handler(request)
        response: web.StreamResponse = await traced(request, handler)
        return response

    return trace_if_not_instrumented


def _is_instrumentation(middleware: object) -> bool:
    return getattr(middleware, "__module__", None) == aiohttp_server.__name__


def __getattr__(name: str) -> Any:
    if name == "tracing_middleware":  # the deprecated module-level middleware
        return make_tracing_middleware()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
