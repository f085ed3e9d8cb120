"""The aiohttp application: ``/metrics`` plus Kubernetes-style health endpoints.

=============  ===============================================================================
``/livez``     Liveness: the process and its event loop answer. Never runs checks, so a
               database outage marks pods unready instead of restarting all of them.
``/readyz``    Readiness: started, not shutting down, every registered check passing.
``/startupz``  Startup: :meth:`HealthChecks.mark_started` was called (slow model loading done).
``/health``    Liveness under its older, common name (same answer as ``/livez``).
``/ready``     Readiness under its older, common name (same answer as ``/readyz``).
``/metrics``   The registry through vumeter's native renderer, negotiated by ``Accept`` and
               ``Accept-Encoding``.
``/``          This list, as JSON.
=============  ===============================================================================

Health bodies are JSON with ``status`` (``pass``/``fail``), ``timestamp``, ``version``,
``message`` and ``checks`` (per check: status, message, duration, when, whether cached); the
HTTP status is 200 when passing and 503 when not. Unknown paths get a JSON 404 and wrong methods
a JSON 405 with ``Allow``. Error bodies and check messages never carry an exception's text
(:mod:`vumeter.server.errors`); the log does, under the error id the body shows. Use
:func:`create_app` to mount this in an existing asyncio service; :func:`vumeter.server.serve`
runs it in a background thread for synchronous workers.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client.registry import Collector, CollectorRegistry

from vumeter import REGISTRY
from vumeter.runtime import __version__, positive_int, seconds, server_middlewares
from vumeter.server.connections import track_requests
from vumeter.server.errors import error_response, new_error_id
from vumeter.server.health import HealthChecks, HealthReport, iso_timestamp
from vumeter.server.negotiation import encode_metrics
from vumeter.server.rendering import (
    SCRAPE_TIMEOUT_HEADER,
    RenderPool,
    RenderRefused,
    RenderTimedOut,
    render_timeout,
)
from vumeter.server.self_metrics import ServerStats, track_server, untrack_server

__all__ = ["CHECKS_KEY", "ENDPOINTS", "create_app"]

logger = logging.getLogger("vumeter.server")

#: Path -> what it is for; served at ``/`` and checked against the deployment files by tests.
ENDPOINTS: dict[str, str] = {
    "/metrics": "Prometheus metrics (text or OpenMetrics by Accept, gzip by Accept-Encoding, "
    "?name[]=metric to select)",
    "/livez": "liveness: the process and its event loop answer",
    "/readyz": "readiness: started, not shutting down, every check passing",
    "/startupz": "startup: initialisation (model loading) finished",
    "/health": "liveness, under its older name (as /livez)",
    "/ready": "readiness, under its older name (as /readyz)",
}

#: The health probes: a connection admitted beyond the connection cap may ask for these only.
PROBE_PATHS: frozenset[str] = frozenset(ENDPOINTS) - {"/metrics"}

_NO_STORE = {"Cache-Control": "no-store"}


#: Name of the ``/readyz`` entry that appears while renders of ``/metrics`` are stuck.
RENDER_CHECK_NAME = "metrics_render"


class _AppState:
    def __init__(
        self,
        registry: Collector,
        version: str,
        renders: RenderPool,
        scrape_timeout: float,
        expose_check_details: bool,
        stats: ServerStats,
    ) -> None:
        self.registry = registry
        self.version = version
        self.started_at = time.monotonic()
        self.renders = renders
        self.scrape_timeout = scrape_timeout
        self.expose_check_details = expose_check_details
        self.stats = stats


#: The app's :class:`HealthChecks`, for handlers and for code that only holds the app.
CHECKS_KEY = web.AppKey("vumeter_checks", HealthChecks)
_STATE_KEY = web.AppKey("vumeter_state", _AppState)


def stats_of(app: web.Application) -> ServerStats:
    """The counters behind the server's self-metrics, for the parts that run the app."""
    return app[_STATE_KEY].stats


def create_app(
    registry: Collector = REGISTRY,
    checks: HealthChecks | None = None,
    *,
    version: str | None = None,
    render_threads: int = 2,
    scrape_timeout: float = 10.0,
    max_stuck_renders: int = 2,
    expose_check_details: bool = False,
) -> web.Application:
    """Build the application serving ``registry`` and the health of ``checks``.

    Without ``checks`` the app has no readiness checks and counts as started, so every probe
    passes while the process runs. ``render_threads`` bounds how many scrapes render at once;
    ``scrape_timeout`` how long one may take (less when Prometheus says it waits less); while
    ``max_stuck_renders`` renders have outlived their timeout, scrapes are refused (see
    :mod:`vumeter.server.rendering`). ``expose_check_details=True`` shows each check's full
    message in ``/readyz`` (an exception's text included) instead of its summary.
    """
    if not hasattr(registry, "collect"):
        raise TypeError(
            "registry must be a CollectorRegistry (or any object with collect()), "
            f"got {type(registry).__name__}"
        )
    if checks is None:
        checks = HealthChecks()
        checks.mark_started()
    elif not isinstance(checks, HealthChecks):
        raise TypeError(f"checks must be a vumeter HealthChecks, got {type(checks).__name__}")
    positive_int("render_threads", render_threads)
    positive_int("max_stuck_renders", max_stuck_renders)
    scrape_timeout = seconds("scrape_timeout", scrape_timeout)
    if not isinstance(expose_check_details, bool):
        raise TypeError(
            f"expose_check_details must be a bool, got {type(expose_check_details).__name__}"
        )

    # Traced, once tracing is set up, by OpenTelemetry's aiohttp instrumentation, which puts
    # its middleware first (vumeter.tracing.aiohttp): this server knows nothing of tracing.
    # Middlewares registered through the runtime go in front of everything, that one included.
    app = web.Application(
        middlewares=[track_requests, _json_errors, _close_connections_when_draining]
    )
    for middleware in reversed(server_middlewares()):
        app.middlewares.insert(0, middleware)
    stats = ServerStats()
    app[CHECKS_KEY] = checks
    app[_STATE_KEY] = _AppState(
        registry,
        version or __version__,
        RenderPool(render_threads, max_stuck_renders, stats),
        scrape_timeout,
        expose_check_details,
        stats,
    )
    app.on_startup.append(_track_stats)
    app.on_cleanup.append(_untrack_stats)
    app.router.add_get("/", _index)
    app.router.add_get("/metrics", _metrics)
    for path in ("/livez", "/health"):
        app.router.add_get(path, _liveness)
    for path in ("/readyz", "/ready"):
        app.router.add_get(path, _readiness)
    app.router.add_get("/startupz", _startup)
    return app


async def _track_stats(app: web.Application) -> None:
    state = app[_STATE_KEY]
    track_server(state.registry, state.stats)


async def _untrack_stats(app: web.Application) -> None:
    state = app[_STATE_KEY]
    untrack_server(state.registry, state.stats)


def _health_body(
    request: web.Request, ok: bool, message: str, checks: dict[str, Any]
) -> web.Response:
    state = request.app[_STATE_KEY]
    body = {
        "status": "pass" if ok else "fail",
        "timestamp": iso_timestamp(time.time()),
        "version": state.version,
        "message": message,
        "checks": checks,
    }
    return web.json_response(body, status=200 if ok else 503, headers=_NO_STORE)


async def _liveness(request: web.Request) -> web.Response:
    uptime = time.monotonic() - request.app[_STATE_KEY].started_at
    return _health_body(request, True, f"alive for {uptime:.0f} s", {})


async def _readiness(request: web.Request) -> web.Response:
    state = request.app[_STATE_KEY]
    report: HealthReport = await request.app[CHECKS_KEY].readiness()
    details = state.expose_check_details
    results = {result.name: result.to_json(details=details) for result in report.results}
    ok, message = report.ok, report.message
    stuck = state.renders.describe_stuck()
    if stuck is not None and not request.app[CHECKS_KEY].shutting_down:
        # A hung collector is the worker's fault and does not heal by itself: say so here, and
        # fail readiness once scrapes are refused.
        refusing = state.renders.refusing
        results[RENDER_CHECK_NAME] = {"status": "fail" if refusing else "pass", "message": stuck}
        if refusing:
            ok = False
            if report.ok:
                message = f"not ready: failing checks: {RENDER_CHECK_NAME}"
            elif "failing checks: " in message:
                message = f"{message}, {RENDER_CHECK_NAME}"
            else:
                message = f"{message}; failing checks: {RENDER_CHECK_NAME}"
    return _health_body(request, ok, message, results)


async def _startup(request: web.Request) -> web.Response:
    started = request.app[CHECKS_KEY].started
    return _health_body(
        request, started, "startup complete" if started else "startup in progress", {}
    )


async def _index(request: web.Request) -> web.Response:
    body = {
        "service": "vumeter",
        "version": request.app[_STATE_KEY].version,
        "endpoints": ENDPOINTS,
    }
    return web.json_response(body)


async def _metrics(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE_KEY]
    names = request.query.getall("name[]", [])
    if names and not isinstance(state.registry, CollectorRegistry):
        raise web.HTTPBadRequest(text="name[] needs the served registry to be a CollectorRegistry")
    render = functools.partial(
        encode_metrics,
        state.registry,
        request.headers.get("Accept"),
        request.headers.get("Accept-Encoding"),
        names,
    )
    timeout = render_timeout(request.headers.get(SCRAPE_TIMEOUT_HEADER), state.scrape_timeout)
    try:
        encoded = await state.renders.render(render, timeout)
    except RenderTimedOut as error:
        return error_response(
            503,
            f"rendering the metrics did not finish within the scrape timeout "
            f"({error.timeout:.3g} s): a collector is slow or hung",
            error_id=error.error_id,
        )
    except RenderRefused as error:
        return error_response(
            503,
            f"metrics unavailable: {error.stuck} earlier render(s) are stuck in a collector "
            f"that does not return; new scrapes are refused until one finishes",
            error_id=error.oldest_error_id,
        )
    except Exception as error:
        error_id = new_error_id()
        logger.error("rendering the metrics failed [error %s]", error_id, exc_info=error)
        return error_response(
            500,
            f"rendering the metrics failed: a collector raised {type(error).__name__}",
            error_id=error_id,
        )
    headers = {"Content-Type": encoded.content_type, "Vary": "Accept, Accept-Encoding"}
    if encoded.content_encoding is not None:
        headers["Content-Encoding"] = encoded.content_encoding
    if request.method == "HEAD" or len(encoded.body) <= _STREAM_CHUNK:
        return web.Response(body=encoded.body, headers=headers)
    return await _stream(request, encoded.body, headers)


#: Bodies larger than this go out in slices of this size.
_STREAM_CHUNK = 1024 * 1024


async def _stream(request: web.Request, body: bytes, headers: dict[str, str]) -> web.StreamResponse:
    """Sends a large body in slices, each awaited until the socket has taken it. Written
    at once, the body would be copied into the transport's buffer and the rest of it
    moved after every send, all on the event loop: while 32 MB scrapes ran back to back
    (benches/bench_scrape_stall.py), ``/livez`` p99 was 52 ms that way and 15 ms in 1 MiB
    slices; smaller slices cost more GIL hand-overs when other threads are busy."""
    response = web.StreamResponse(headers=headers)
    response.content_length = len(body)
    await response.prepare(request)
    view = memoryview(body)
    try:
        for start in range(0, len(body), _STREAM_CHUNK):
            await response.write(view[start : start + _STREAM_CHUNK])
        await response.write_eof()
    except ConnectionError:
        pass  # the scraper went away (its timeout): there is no one left to answer
    return response


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _json_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """404 and 405 as JSON (keeping ``Allow``); unexpected errors as a logged JSON 500."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status not in (404, 405):
            raise
        body: dict[str, Any] = {"status": "error", "error": error.reason, "path": request.path}
        if error.status == 404:
            body["endpoints"] = sorted(ENDPOINTS)
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return web.json_response(body, status=error.status, headers=headers)
    except Exception as error:
        error_id = new_error_id()
        logger.exception(
            "unhandled error serving %s %s [error %s]", request.method, request.path, error_id
        )
        return error_response(
            500,
            f"internal error serving {request.path} ({type(error).__name__})",
            error_id=error_id,
        )


@web.middleware
async def _close_connections_when_draining(
    request: web.Request, handler: _Handler
) -> web.StreamResponse:
    """While shutting down, ask keep-alive clients to reconnect (to another replica)."""
    response = await handler(request)
    if request.app[CHECKS_KEY].shutting_down:
        response.force_close()
    return response
