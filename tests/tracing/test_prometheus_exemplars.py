"""A real Prometheus with exemplar storage scrapes vumeter's OpenMetrics exposition and keeps
the trace ids of the spans the observations were made in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import vumeter
from tests.support.prometheus import running_prometheus
from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.tracing import TracingSetup

_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vumeter-exemplars
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


@pytest.fixture
async def metrics_port(registry: CollectorRegistry) -> AsyncIterator[int]:
    async def metrics(request: web.Request) -> web.Response:
        encoder, content_type = vumeter.choose_encoder(request.headers.get("Accept"))
        return web.Response(body=encoder(registry), headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


@pytest.fixture
def prometheus(metrics_port: int, tmp_path: Path) -> Iterator[str]:
    config = _CONFIG.format(port=metrics_port)
    with running_prometheus(tmp_path, config, "--enable-feature=exemplar-storage") as base:
        yield base


async def _exemplars(session: aiohttp.ClientSession, base: str, query: str) -> list[Any]:
    now = time.time()
    params = {"query": query, "start": str(now - 300), "end": str(now + 60)}
    try:
        async with session.get(f"{base}/api/v1/query_exemplars", params=params) as response:
            if response.status != 200:
                return []
            body = await response.json()
    except aiohttp.ClientConnectionError:  # still starting
        return []
    data: list[Any] = body.get("data") or []
    return data


async def test_prometheus_stores_the_trace_ids(
    tracing: TracingSetup,
    collector: MetricsCollector,
    prometheus: str,
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    with (
        collector.track_sample("s-1", "libri"),
        collector.track_operation("enhance", "libri", sample_id="s-1"),
    ):
        await asyncio.sleep(0.03)

    deadline = time.monotonic() + 60
    query = 'audio_processing_duration_seconds_bucket{dataset="libri"}'
    async with aiohttp.ClientSession() as session:
        while True:
            series = await _exemplars(session, prometheus, query)
            if series or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    log = (tmp_path / "prometheus.log").read_text(errors="replace")
    assert series, f"no exemplars stored within 60 s; Prometheus log:\n{log[-3000:]}"

    (enhance,) = [span for span in spans.get_finished_spans() if span.name == "enhance"]
    (exemplar,) = [e for s in series for e in s["exemplars"]]
    assert exemplar["labels"] == {
        "trace_id": f"{enhance.context.trace_id:032x}",
        "span_id": f"{enhance.context.span_id:016x}",
    }
    assert float(exemplar["value"]) >= 0.03
    # The exemplar sits on the bucket the observation fell into.
    assert float(series[0]["seriesLabels"]["le"]) >= float(exemplar["value"])
    assert series[0]["seriesLabels"]["job"] == "vumeter-exemplars"
