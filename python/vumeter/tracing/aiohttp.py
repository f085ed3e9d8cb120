"""Tracing over HTTP with aiohttp: a server middleware and a client trace config.

Server: :data:`tracing_middleware` (or :func:`make_tracing_middleware` for options) continues
the caller's trace from its ``traceparent`` header and runs the handler in a ``SERVER`` span
named ``"<METHOD> <route>"`` (the route's pattern, not the concrete path, so names stay few),
with the HTTP semantic-convention attributes and the response status. A 5xx answer or an
exception marks the span as failed. Put it first in the middleware list so it sees the
final status::

    app = web.Application(middlewares=[tracing_middleware, ...])

Prometheus scrapes and probes (``/metrics``, ``/livez``, ``/readyz``, ``/startupz``,
``/health``, ``/ready``) are traced only when the caller sends a trace context: untraced
scrapes and kubelet probes would be most of the spans and none of the interest, while a traced
caller still sees its trace continue through them.

Client: ``aiohttp.ClientSession(trace_configs=[client_trace_config()])`` (or
:func:`traced_session`) runs each request in a ``CLIENT`` span and sends its ``traceparent``,
so the server's span becomes its child.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from types import SimpleNamespace
from typing import Any, Final

import aiohttp
from aiohttp import web
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from yarl import URL

__all__ = [
    "DEFAULT_EXCLUDED_PATHS",
    "client_trace_config",
    "make_tracing_middleware",
    "traced_session",
    "tracing_middleware",
]

TRACER_NAME: Final = "vumeter.http"
DEFAULT_EXCLUDED_PATHS: Final = frozenset(
    {"/metrics", "/livez", "/readyz", "/startupz", "/health", "/ready"}
)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_Middleware = Callable[[web.Request, _Handler], Awaitable[web.StreamResponse]]


def _tracer(tracer_provider: trace.TracerProvider | None) -> trace.Tracer:
    import vumeter

    # The global provider's tracer is a proxy: it follows a provider installed later.
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    return provider.get_tracer(TRACER_NAME, vumeter.__version__)


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def _set_status(span: trace.Span, status: int, server: bool) -> None:
    span.set_attribute("http.response.status_code", status)
    # A 4xx is the client's error: it fails a CLIENT span but not the SERVER span.
    if status >= 500 or (not server and status >= 400):
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))


def make_tracing_middleware(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    excluded_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
) -> _Middleware:
    """A server middleware tracing every request, except requests to ``excluded_paths``
    that carry no ``traceparent`` (scrapes and probes)."""
    tracer = _tracer(tracer_provider)
    excluded = frozenset(excluded_paths)

    @web.middleware
    async def trace_request(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path in excluded and "traceparent" not in request.headers:
            return await handler(request)
        route = _route(request)
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "url.path": request.path,
            "url.scheme": request.scheme,
        }
        if route is not None:
            attributes["http.route"] = route
        if request.remote:
            attributes["client.address"] = request.remote
        if request.host:
            attributes["server.address"] = request.host.split(":")[0]
        user_agent = request.headers.get("User-Agent")
        if user_agent:
            attributes["user_agent.original"] = user_agent
        with tracer.start_as_current_span(
            f"{request.method} {route}" if route else request.method,
            context=propagate.extract(request.headers),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = await handler(request)
            except web.HTTPException as error:  # an answer, raised: 404, 405, redirects
                _set_status(span, error.status, server=True)
                raise
            except Exception as error:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                raise
            _set_status(span, response.status, server=True)
            return response

    return trace_request


tracing_middleware: Final = make_tracing_middleware()
"""The server middleware with the defaults: global tracer provider, probes not traced."""


def client_trace_config(
    *, tracer_provider: trace.TracerProvider | None = None
) -> aiohttp.TraceConfig:
    """An ``aiohttp.TraceConfig`` that traces each client request and sends its context."""
    tracer = _tracer(tracer_provider)

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        url: URL = params.url
        attributes: dict[str, Any] = {
            "http.request.method": params.method,
            "url.full": str(url.with_user(None).with_query(None)),
        }
        if url.host:
            attributes["server.address"] = url.host
        if url.port is not None:
            attributes["server.port"] = url.port
        span = tracer.start_span(params.method, kind=SpanKind.CLIENT, attributes=attributes)
        context.vumeter_span = span
        propagate.inject(params.headers, context=trace.set_span_in_context(span))

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        span: trace.Span | None = getattr(context, "vumeter_span", None)
        if span is not None:
            _set_status(span, params.response.status, server=False)
            span.end()

    async def on_request_exception(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        span: trace.Span | None = getattr(context, "vumeter_span", None)
        if span is not None:
            error = params.exception
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end()

    config = aiohttp.TraceConfig()
    config.on_request_start.append(on_request_start)
    config.on_request_end.append(on_request_end)
    config.on_request_exception.append(on_request_exception)
    return config


def traced_session(
    *, tracer_provider: trace.TracerProvider | None = None, **session_options: Any
) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` with :func:`client_trace_config` added to its
    ``trace_configs`` (other options are passed through)."""
    configs = list(session_options.pop("trace_configs", None) or [])
    configs.append(client_trace_config(tracer_provider=tracer_provider))
    return aiohttp.ClientSession(trace_configs=configs, **session_options)
