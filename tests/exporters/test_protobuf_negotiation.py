"""The exporters answer Prometheus's protobuf Accept header (sent when native histograms
are enabled) with delimited MetricFamily messages, as the vumeter server does, and every
other header with what prometheus_client's exporters send."""

from __future__ import annotations

from typing import Any
from wsgiref.util import setup_testing_defaults

from prometheus_client import CollectorRegistry
from prometheus_client import make_wsgi_app as their_wsgi_app

import vumeter
from tests.support.metrics_proto import by_name

PROMETHEUS_NATIVE_ACCEPT = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def _get(app: Any, accept: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ["HTTP_ACCEPT"] = accept
    headers: dict[str, str] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        headers.update(response_headers)

    body = b"".join(app(environ, start_response))
    return headers["Content-Type"], body


def test_wsgi_app_serves_native_histograms_over_protobuf() -> None:
    registry = CollectorRegistry()
    histogram = vumeter.Histogram(
        "job_seconds", "Jobs", registry=registry, native_histogram_bucket_factor=1.1
    )
    for value in (0.01, 0.3, 0.3, 4.0):
        histogram.observe(value)
    content_type, body = _get(vumeter.make_wsgi_app(registry), PROMETHEUS_NATIVE_ACCEPT)
    assert content_type == vumeter.CONTENT_TYPE_PROTOBUF
    (metric,) = by_name(body)["job_seconds"].metric
    assert metric.histogram.sample_count == 4
    assert metric.histogram.schema == 3
    counts, running = [], 0
    for delta in metric.histogram.positive_delta:
        running += delta
        counts.append(running)
    assert sum(counts) == 4, "every observation in a native bucket"
    assert metric.histogram.zero_count == 0


def test_other_headers_get_prometheus_clients_answer() -> None:
    registry = CollectorRegistry()
    vumeter.Counter("jobs", "Jobs", registry=registry).inc()
    for accept in ("text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0"):
        ours, _ = _get(vumeter.make_wsgi_app(registry), accept)
        theirs, _ = _get(their_wsgi_app(registry), accept)
        assert ours == theirs
