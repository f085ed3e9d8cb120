"""``/metrics`` in protobuf when the scraper asks for it as Prometheus does with native
histograms enabled: gzip or not, the bytes decode with client_model's ``metrics.proto``."""

from __future__ import annotations

import gzip

import aiohttp

from tests.support.metrics_proto import by_name
from vumeter import CONTENT_TYPE_PROTOBUF, CollectorRegistry, Histogram

from .conftest import StartServer

PROMETHEUS_ACCEPT = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


async def test_protobuf_with_native_buckets_is_served_gzipped(
    start_server: StartServer, registry: CollectorRegistry
) -> None:
    h = Histogram(
        "audio_processing_duration_seconds",
        "Processing time",
        ["operation"],
        registry=registry,
        buckets=(0.1, 1.0),
        native_histogram_bucket_factor=1.1,
    )
    h.labels("enhance").observe_many([0.05, 0.2, 0.3, 4.0])
    handle = start_server(registry=registry)
    headers = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(handle.url + "/metrics", headers=headers) as response,
    ):
        body = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_PROTOBUF
        assert response.headers["Content-Encoding"] == "gzip"
    families = by_name(gzip.decompress(body))
    (metric,) = families["audio_processing_duration_seconds"].metric
    hist = metric.histogram
    assert (hist.sample_count, hist.schema) == (4, 3)
    assert [b.cumulative_count for b in hist.bucket] == [1, 3]
    assert len(hist.positive_delta) >= 4
    # The server's own metrics come through too (vumeter families, encoded natively).
    assert any(name.startswith("vumeter_server_") for name in families)
