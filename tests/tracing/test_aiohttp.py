"""Tracing over real HTTP: vumeter's aiohttp middleware continues the caller's trace and the
client trace config sends it, on a server listening on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from vumeter import CollectorRegistry
from vumeter.tracing import TracingSetup
from vumeter.tracing.aiohttp import make_tracing_middleware, traced_session, tracing_middleware


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def server(tracing: TracingSetup) -> AsyncIterator[str]:
    provider = tracing.provider
    assert provider is not None

    async def sample(request: web.Request) -> web.Response:
        # The handler calls onward (to the same server): the trace must continue there too.
        base = f"http://127.0.0.1:{request.url.port}"
        async with (
            traced_session(tracer_provider=provider) as session,
            session.get(f"{base}/score/{request.match_info['sample_id']}") as answer,
        ):
            score = await answer.text()
        return web.Response(text=f"enhanced, score {score}")

    async def score(request: web.Request) -> web.Response:
        return web.Response(text="0.9")

    async def fail(request: web.Request) -> web.Response:
        raise RuntimeError("model not loaded")

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text="# EOF\n")

    app = web.Application(middlewares=[make_tracing_middleware(tracer_provider=provider)])
    app.router.add_get("/samples/{sample_id}", sample)
    app.router.add_get("/score/{sample_id}", score)
    app.router.add_get("/fail", fail)
    app.router.add_get("/metrics", metrics)
    runner, url = await _start(app)
    yield url
    await runner.cleanup()


def named(spans: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans.get_finished_spans()}


async def test_trace_flows_client_server_client_server(
    server: str, tracing: TracingSetup, spans: InMemorySpanExporter
) -> None:
    assert tracing.provider is not None
    tracer = tracing.provider.get_tracer("test")
    with tracer.start_as_current_span("caller") as caller:
        async with (
            traced_session(tracer_provider=tracing.provider) as session,
            session.get(f"{server}/samples/s-1") as response,
        ):
            assert await response.text() == "enhanced, score 0.9"

    finished = spans.get_finished_spans()
    trace_id = caller.get_span_context().trace_id
    assert {span.context.trace_id for span in finished} == {trace_id}
    servers = {span.name: span for span in finished if span.kind is SpanKind.SERVER}
    clients = [span for span in finished if span.kind is SpanKind.CLIENT]
    assert set(servers) == {"GET /samples/{sample_id}", "GET /score/{sample_id}"}
    outer_client = next(s for s in clients if s.parent.span_id == caller.get_span_context().span_id)  # type: ignore[union-attr]
    outer = servers["GET /samples/{sample_id}"]
    assert outer.parent.span_id == outer_client.context.span_id  # type: ignore[union-attr]
    inner_client = next(s for s in clients if s.parent.span_id == outer.context.span_id)  # type: ignore[union-attr]
    inner = servers["GET /score/{sample_id}"]
    assert inner.parent.span_id == inner_client.context.span_id  # type: ignore[union-attr]

    attributes = dict(outer.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/samples/{sample_id}"
    assert attributes["url.path"] == "/samples/s-1"
    assert attributes["http.response.status_code"] == 200
    client_attributes = dict(outer_client.attributes or {})
    assert client_attributes["url.full"] == f"{server}/samples/s-1"
    assert client_attributes["http.response.status_code"] == 200
    assert client_attributes["server.address"] == "127.0.0.1"


async def test_errors_probes_and_untraced_callers(
    server: str, tracing: TracingSetup, spans: InMemorySpanExporter
) -> None:
    async with traced_session(tracer_provider=tracing.provider) as session:
        async with session.get(f"{server}/fail") as response:
            assert response.status == 500
        async with session.get(f"{server}/nowhere") as response:
            assert response.status == 404
        async with session.get(f"{server}/metrics") as response:  # a traced caller
            assert response.status == 200
    async with aiohttp.ClientSession() as plain, plain.get(f"{server}/metrics") as response:
        assert response.status == 200  # a scrape without trace context
    spans_by_name = named(spans)

    failed = spans_by_name["GET /fail"]
    assert failed.kind is SpanKind.SERVER
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.events[0].name == "exception"
    # The clients' spans are roots here (no caller span), each server span their child.
    assert failed.parent is not None

    (not_found,) = [
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.SERVER and dict(s.attributes or {})["url.path"] == "/nowhere"
    ]
    assert not_found.name == "GET"  # no route matched: the method alone
    assert dict(not_found.attributes or {})["http.response.status_code"] == 404
    assert not_found.status.status_code is StatusCode.UNSET  # the client's mistake, not ours
    client_404 = next(
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.CLIENT
        and dict(s.attributes or {}).get("http.response.status_code") == 404
    )
    assert client_404.status.status_code is StatusCode.ERROR

    # /metrics is traced for the traced caller only: the plain scrape made no span.
    server_paths = sorted(
        str(dict(s.attributes or {})["url.path"])
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.SERVER
    )
    assert server_paths == ["/fail", "/metrics", "/nowhere"]


async def test_client_span_records_connection_errors(
    tracing: TracingSetup, spans: InMemorySpanExporter
) -> None:
    from tests.support.binaries import free_port

    async with traced_session(tracer_provider=tracing.provider) as session:
        with pytest.raises(OSError, match="Cannot connect"):  # ClientConnectorError
            await session.get(f"http://127.0.0.1:{free_port()}/")
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.ERROR


def test_default_middleware_is_importable_and_mountable() -> None:
    # The stable name other code mounts (vumeter.server adds it to its app).
    app = web.Application(middlewares=[tracing_middleware])
    assert tracing_middleware in app.middlewares


def test_vumeter_server_mounts_the_middleware_first() -> None:
    """create_app() continues callers' traces: the middleware runs before the others, so its
    span sees the final status (behaviour tested above on the same middleware)."""
    from vumeter.server import create_app

    app = create_app(registry=CollectorRegistry())
    assert app.middlewares[0] is tracing_middleware
