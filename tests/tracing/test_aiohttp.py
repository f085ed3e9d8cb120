"""Tracing over real HTTP: OpenTelemetry's aiohttp instrumentations, turned on by
setup_tracing(), continue the caller's trace on the server and send it from the client, on a
server listening on 127.0.0.1; scrapes and probes are traced only for traced callers."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.binaries import free_port
from vumeter import CollectorRegistry
from vumeter.runtime import server_middlewares
from vumeter.server import create_app
from vumeter.tracing import TracingSetup, UntracedProbes
from vumeter.tracing.aiohttp import (
    instrument_aiohttp,
    make_tracing_middleware,
    traced_session,
    uninstrument_aiohttp,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def _routes(app: web.Application) -> web.Application:
    async def sample(request: web.Request) -> web.Response:
        # The handler calls onward (to the same server) with a plain session: the process-wide
        # client instrumentation traces it, so the trace continues there too.
        base = f"http://127.0.0.1:{request.url.port}"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/score/{request.match_info['sample_id']}") as answer,
        ):
            score = await answer.text()
        return web.Response(text=f"enhanced, score {score}")

    async def score(request: web.Request) -> web.Response:
        return web.Response(text="0.9")

    async def fail(request: web.Request) -> web.Response:
        raise RuntimeError("model not loaded")

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="overloaded")

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text="# EOF\n")

    app.router.add_get("/samples/{sample_id}", sample)
    app.router.add_get("/score/{sample_id}", score)
    app.router.add_get("/fail", fail)
    app.router.add_get("/unavailable", unavailable)
    app.router.add_get("/metrics", metrics)
    return app


@pytest.fixture
async def server(tracing: TracingSetup) -> AsyncIterator[str]:
    assert tracing.http_instrumented
    runner, url = await _start(_routes(web.Application()))  # created after setup_tracing
    yield url
    await runner.cleanup()


def server_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]


def attributes(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


async def untraced_get(url: str, headers: dict[str, str] | None = None) -> int:
    """A GET by a client outside OpenTelemetry (as Prometheus or the kubelet are)."""

    def get() -> int:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status

    return await asyncio.to_thread(get)


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
    assert len(clients) == 2  # one per request: no session was traced twice
    assert set(servers) == {"GET /samples/{sample_id}", "GET /score/{sample_id}"}
    outer_client = next(s for s in clients if s.parent.span_id == caller.get_span_context().span_id)  # type: ignore[union-attr]
    outer = servers["GET /samples/{sample_id}"]
    assert outer.parent.span_id == outer_client.context.span_id  # type: ignore[union-attr]
    inner_client = next(s for s in clients if s.parent.span_id == outer.context.span_id)  # type: ignore[union-attr]
    inner = servers["GET /score/{sample_id}"]
    assert inner.parent.span_id == inner_client.context.span_id  # type: ignore[union-attr]

    # The stable HTTP semantic conventions, which instrument_aiohttp() opts into.
    assert os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] == "http"
    server_attributes = attributes(outer)
    assert server_attributes["http.request.method"] == "GET"
    assert server_attributes["http.route"] == "/samples/{sample_id}"
    assert server_attributes["url.path"] == "/samples/s-1"
    assert server_attributes["http.response.status_code"] == 200
    client_attributes = attributes(outer_client)
    assert client_attributes["url.full"] == f"{server}/samples/s-1"
    assert client_attributes["http.response.status_code"] == 200
    assert client_attributes["server.address"] == "127.0.0.1"


async def test_errors_probes_and_untraced_callers(
    server: str, tracing: TracingSetup, spans: InMemorySpanExporter
) -> None:
    async with traced_session(tracer_provider=tracing.provider) as session:
        async with session.get(f"{server}/fail") as response:
            assert response.status == 500
        async with session.get(f"{server}/unavailable") as response:
            assert response.status == 503
        async with session.get(f"{server}/nowhere") as response:
            assert response.status == 404
        async with session.get(f"{server}/metrics") as response:  # a traced caller
            assert response.status == 200
    assert await untraced_get(f"{server}/metrics") == 200  # a scrape without trace context
    by_path = {str(attributes(s)["url.path"]): s for s in server_spans(spans)}

    # /metrics is traced for the traced caller only: the plain scrape made no span.
    assert sorted(by_path) == ["/fail", "/metrics", "/nowhere", "/unavailable"]

    failed = by_path["/fail"]
    assert failed.name == "GET /fail"
    assert failed.status.status_code is StatusCode.ERROR
    assert [event.name for event in failed.events] == ["exception"]
    assert failed.parent is not None  # the client's span is a root, the server's its child
    assert by_path["/unavailable"].status.status_code is StatusCode.ERROR  # a 5xx answer

    not_found = by_path["/nowhere"]
    assert not_found.name == "GET"  # no route matched: the method alone
    assert attributes(not_found)["http.response.status_code"] == 404
    assert not_found.status.status_code is StatusCode.UNSET  # the client's mistake, not ours
    client_404 = next(
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.CLIENT and attributes(s).get("http.response.status_code") == 404
    )
    assert client_404.status.status_code is StatusCode.ERROR


async def test_client_span_records_connection_errors(
    tracing: TracingSetup, spans: InMemorySpanExporter
) -> None:
    async with traced_session(tracer_provider=tracing.provider) as session:
        with pytest.raises(OSError, match="Cannot connect"):  # ClientConnectorError
            await session.get(f"http://127.0.0.1:{free_port()}/")
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.ERROR


async def test_vumeter_server_is_traced_without_knowing_about_tracing(
    tracing: TracingSetup, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampled: list[str] = []  # the span names the sampler was asked about
    should_sample = UntracedProbes.should_sample

    def spy(self: UntracedProbes, *args: Any, **kwargs: Any) -> Any:
        sampled.append(args[2])
        return should_sample(self, *args, **kwargs)

    monkeypatch.setattr(UntracedProbes, "should_sample", spy)
    app = create_app(registry=CollectorRegistry())
    # In front: the shortcut that lets untraced probes bypass the instrumentation, then the
    # instrumentation's own middleware; the server registered neither itself.
    assert [getattr(m, "__name__", "") for m in app.middlewares[:2]] == [
        "skip_untraced_probes",
        "_middleware",
    ]
    assert server_middlewares() == (app.middlewares[0],)
    runner, url = await _start(app)
    try:
        assert await untraced_get(f"{url}/") == 200
        for path in ("/livez", "/readyz", "/metrics"):
            assert await untraced_get(f"{url}{path}") == 200  # a kubelet, a Prometheus
        async with traced_session() as session, session.get(f"{url}/livez") as response:
            assert response.status == 200
        # A caller outside OpenTelemetry that still sends a trace context.
        assert await untraced_get(f"{url}/readyz", {"traceparent": TRACEPARENT}) == 200
    finally:
        await runner.cleanup()
    names = sorted(span.name for span in server_spans(spans))
    assert names == ["GET /", "GET /livez", "GET /readyz"]
    # The untraced probes never reached the instrumentation: no span was even considered.
    assert sorted(name for name in sampled if name.startswith("GET /")) == names
    continued = next(s for s in server_spans(spans) if s.name == "GET /readyz")
    assert f"{continued.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    uninstrument_aiohttp()
    assert server_middlewares() == ()
    assert create_app(registry=CollectorRegistry()).middlewares[0].__name__ == "_json_errors"


async def test_deprecated_middleware_traces_an_app_created_before_instrumentation(
    tracing: TracingSetup, spans: InMemorySpanExporter
) -> None:
    uninstrument_aiohttp()
    early = _routes(web.Application())  # created while aiohttp is not instrumented
    with pytest.deprecated_call(match="make_tracing_middleware"):
        middleware = make_tracing_middleware(tracer_provider=tracing.provider)
    early.middlewares.append(middleware)
    late = _routes(web.Application(middlewares=[middleware]))  # instrumented: no second span
    for app in (early, late):
        runner, url = await _start(app)
        try:
            async with traced_session() as session, session.get(f"{url}/score/s-2") as answer:
                assert await answer.text() == "0.9"
        finally:
            await runner.cleanup()
    assert [span.name for span in server_spans(spans)] == ["GET /score/{sample_id}"] * 2


def test_deprecated_module_middleware_warns_and_is_a_middleware() -> None:
    from vumeter.tracing import aiohttp as aiohttp_tracing

    with pytest.deprecated_call(match="tracing_middleware are deprecated"):
        middleware = aiohttp_tracing.tracing_middleware
    app = web.Application(middlewares=[middleware])
    assert middleware in app.middlewares
    uninstrument_aiohttp()


def test_instrumentation_by_someone_else_is_left_alone(tracing: TracingSetup) -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    uninstrument_aiohttp()
    AioHttpClientInstrumentor().instrument()  # the application's own set-up
    try:
        assert instrument_aiohttp(tracing.provider) is False
        assert AioHttpClientInstrumentor().is_instrumented_by_opentelemetry
    finally:
        AioHttpClientInstrumentor().uninstrument()
