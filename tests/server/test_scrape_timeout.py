"""A collector that never returns: scrapes end at their timeout with a 503, hung renders are
counted and bounded, /readyz and the self-metrics report them, and all recovers once it returns."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator

import aiohttp
import pytest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from vumeter import CollectorRegistry
from vumeter.server.rendering import render_timeout

from .conftest import StartServer

# What Prometheus sends; the render gets 90% of it (at most 0.5 s less).
TIMEOUT_HEADER = {"X-Prometheus-Scrape-Timeout-Seconds": "1"}
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=10)


class HungCollector:
    """Blocks every collect() until released, like a sensor read that never returns."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def collect(self) -> Iterator[Metric]:
        self.release.wait(60)
        yield GaugeMetricFamily("hung_collector_returned", "1 once it returned", value=1)


@pytest.fixture
def hung(registry: CollectorRegistry) -> Iterator[HungCollector]:
    collector = HungCollector()
    registry.register(collector)
    yield collector
    collector.release.set()


def render_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "vumeter-render" and t.is_alive())


async def scrape(
    session: aiohttp.ClientSession, url: str, query: str = ""
) -> tuple[int, str, float]:
    began = time.monotonic()
    async with session.get(
        url + "/metrics" + query, headers=TIMEOUT_HEADER, timeout=CLIENT_TIMEOUT
    ) as response:
        return response.status, await response.text(), time.monotonic() - began


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("10", 9.5),  # Prometheus' default: the answer leaves 0.5 s before it gives up
        ("1", 0.9),
        ("2.5", 2.25),
        ("30", 10.0),  # capped by the server's scrape_timeout
        (None, 10.0),
        ("", 10.0),
        ("soon", 10.0),
        ("-1", 10.0),
        ("0", 10.0),
        ("nan", 10.0),
        ("inf", 10.0),
    ],
)
def test_scrape_timeout_follows_prometheus_within_the_server_default(
    header: str | None, expected: float
) -> None:
    assert render_timeout(header, 10.0) == pytest.approx(expected)


async def test_a_hung_collector_costs_a_bounded_number_of_threads_and_recovers(
    start_server: StartServer, hung: HungCollector, caplog: pytest.LogCaptureFixture
) -> None:
    handle = start_server()
    threads_before = render_threads()
    caplog.set_level(logging.INFO, logger="vumeter.server")
    async with aiohttp.ClientSession() as session:
        # 1. The scrape ends at its timeout (0.9 s) with a 503 that says why.
        status, text, took = await scrape(session, handle.url)
        assert status == 503
        assert 0.8 < took < 6.0  # it ends at its timeout, not when the collector returns
        assert "did not finish within the scrape timeout (0.9 s)" in text
        first_id = json.loads(text)["error_id"]
        stack = [r.getMessage() for r in caplog.records if f"[error {first_id}]" in r.getMessage()]
        assert len(stack) == 1
        assert "in collect" in stack[0]
        assert "self.release.wait(60)" in stack[0]

        # 2. Its thread is stuck, and the self-metric says so (selected metrics do not run
        #    the hung collector).
        status, text, _ = await scrape(session, handle.url, "?name[]=vumeter_server_renders_stuck")
        assert status == 200
        assert "vumeter_server_renders_stuck 1.0" in text

        # 3. A second one gets stuck; at the limit (2) scrapes are refused at once.
        assert (await scrape(session, handle.url))[0] == 503
        for _ in range(5):
            status, text, took = await scrape(session, handle.url)
            assert status == 503
            assert "2 earlier render(s) are stuck" in text
        # Refused without starting a render: no thread per refused scrape.
        assert render_threads() - threads_before == 2

        async with session.get(handle.url + "/readyz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["checks"]["metrics_render"]["status"] == "fail"
        assert body["checks"]["metrics_render"]["message"].startswith(
            "2 render(s) of /metrics stuck (limit 2)"
        )
        async with session.get(handle.url + "/livez") as response:
            assert response.status == 200

        # 4. Once the collector returns, everything recovers.
        hung.release.set()
        deadline = time.monotonic() + 10
        while True:
            async with session.get(handle.url + "/readyz") as response:
                body = await response.json()
                if response.status == 200 and "metrics_render" not in body["checks"]:
                    break
            assert time.monotonic() < deadline, f"the stuck renders never finished: {body}"
            await asyncio.sleep(0.05)
        status, text, _ = await scrape(session, handle.url)
        assert status == 200
        for line in (
            "hung_collector_returned 1.0",
            "vumeter_server_renders_stuck 0.0",
            "vumeter_server_scrape_timeouts_total 2.0",
            "vumeter_server_scrapes_refused_total 5.0",
        ):
            assert line in text.splitlines()
    finished = [r for r in caplog.records if "finished after" in r.getMessage()]
    assert len(finished) == 2
