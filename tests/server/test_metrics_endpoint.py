"""``/metrics``: vumeter metrics in both exposition formats, gzip, and collector failures."""

from __future__ import annotations

import asyncio
import gzip
import re
import threading
import time
from collections.abc import Iterator

import aiohttp
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from vumeter import CollectorRegistry, Counter, Histogram, generate_latest, generate_openmetrics
from vumeter.server.negotiation import gzip_accepted

from .conftest import StartServer

OPENMETRICS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@pytest.fixture
def audio_registry(registry: CollectorRegistry) -> CollectorRegistry:
    processed = Counter(
        "audio_samples_processed_total",
        "Processed audio samples",
        ["dataset", "processor", "status"],
        registry=registry,
    )
    processed.labels("librispeech", "enhance", "success").inc(41)
    processed.labels("librispeech", "enhance", "error").inc()
    duration = Histogram(
        "audio_processing_duration_seconds",
        "Processing time",
        ["dataset", "operation"],
        buckets=(0.01, 0.1, 1.0),
        registry=registry,
    )
    duration.labels("librispeech", "enhance").observe(0.05)
    return registry


def settled(exposition: bytes) -> bytes:
    """The exposition without the server's open-connection gauge, which counts the scraper's
    own connection while it scrapes and may not afterwards."""
    live = re.compile(rb"^vumeter_server_connections [0-9.e+]+\n", re.MULTILINE)
    assert live.search(exposition), "the server's self-metrics are served"
    return live.sub(b"", exposition)


async def fetch(url: str, headers: dict[str, str]) -> tuple[aiohttp.ClientResponse, bytes]:
    # auto_decompress=False: the test sees the bytes on the wire, not aiohttp's decoding.
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers=headers) as response,
    ):
        return response, await response.read()


async def test_default_format_is_prometheus_text(
    start_server: StartServer, audio_registry: CollectorRegistry
) -> None:
    handle = start_server(registry=audio_registry)
    response, body = await fetch(handle.url + "/metrics", {"Accept-Encoding": "identity"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "Content-Encoding" not in response.headers
    assert settled(body) == settled(generate_latest(audio_registry))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    key = (("dataset", "librispeech"), ("processor", "enhance"), ("status", "success"))
    assert samples["audio_samples_processed_total", key] == 41
    hist_key = (("dataset", "librispeech"), ("le", "0.1"), ("operation", "enhance"))
    assert samples["audio_processing_duration_seconds_bucket", hist_key] == 1


async def test_openmetrics_when_accepted(
    start_server: StartServer, audio_registry: CollectorRegistry
) -> None:
    handle = start_server(registry=audio_registry)
    response, body = await fetch(
        handle.url + "/metrics", {"Accept": OPENMETRICS_ACCEPT, "Accept-Encoding": "identity"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert settled(body) == settled(generate_openmetrics(audio_registry))


@pytest.mark.parametrize(
    ("accept_encoding", "compressed"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("identity", False),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("", False),
    ],
)
async def test_gzip_follows_accept_encoding(
    start_server: StartServer,
    audio_registry: CollectorRegistry,
    accept_encoding: str,
    compressed: bool,
) -> None:
    handle = start_server(registry=audio_registry)
    response, body = await fetch(handle.url + "/metrics", {"Accept-Encoding": accept_encoding})
    assert response.status == 200
    assert "Accept-Encoding" in response.headers["Vary"]
    if compressed:
        assert response.headers["Content-Encoding"] == "gzip"
        assert settled(gzip.decompress(body)) == settled(generate_latest(audio_registry))
    else:
        assert "Content-Encoding" not in response.headers
        assert settled(body) == settled(generate_latest(audio_registry))


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=0.001", True),
        ("gzip;q=0.0", False),
        ("gzip;q=nonsense", False),
        ("gzip;q=2", False),
        ("deflate", False),
        ("*;q=0", False),
    ],
)
def test_gzip_accepted_parses_weights(header: str | None, accepted: bool) -> None:
    assert gzip_accepted(header) is accepted


async def test_name_parameters_select_metrics(
    start_server: StartServer, audio_registry: CollectorRegistry
) -> None:
    handle = start_server(registry=audio_registry)
    url = handle.url + "/metrics?name[]=audio_samples_processed_total"
    response, body = await fetch(url, {"Accept-Encoding": "identity"})
    assert response.status == 200
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    assert names == {"audio_samples_processed"}


class FailingCollector:
    """A custom collector whose source is broken, as a user's collector may be."""

    def collect(self) -> Iterator[Metric]:
        raise OSError("sensor file vanished")


async def test_failing_collector_gives_500_and_the_server_keeps_serving(
    start_server: StartServer, audio_registry: CollectorRegistry
) -> None:
    failing = FailingCollector()
    audio_registry.register(failing)
    handle = start_server(registry=audio_registry)
    async with aiohttp.ClientSession() as session:
        async with session.get(handle.url + "/metrics") as response:
            assert response.status == 500
            body = await response.json()
            assert body["error"] == "rendering the metrics failed: a collector raised OSError"
        async with session.get(handle.url + "/livez") as response:
            assert response.status == 200
        audio_registry.unregister(failing)
        async with session.get(handle.url + "/metrics") as response:
            assert response.status == 200
            assert b"audio_samples_processed_total" in await response.read()


class SlowCollector:
    def __init__(self) -> None:
        self.collecting = threading.Event()

    def collect(self) -> Iterator[Metric]:
        self.collecting.set()
        time.sleep(1.0)
        return iter(())


async def test_liveness_answers_while_a_slow_scrape_renders(
    start_server: StartServer, audio_registry: CollectorRegistry
) -> None:
    slow = SlowCollector()
    audio_registry.register(slow)
    handle = start_server(registry=audio_registry)
    async with aiohttp.ClientSession() as session:
        scrape = asyncio.ensure_future(session.get(handle.url + "/metrics"))
        assert await asyncio.to_thread(slow.collecting.wait, 10), "the scrape never started"
        began = time.monotonic()
        async with session.get(handle.url + "/livez") as response:
            assert response.status == 200
        assert time.monotonic() - began < 0.5, "rendering must not run on the event loop"
        assert not scrape.done()
        async with await scrape as response:
            assert response.status == 200
