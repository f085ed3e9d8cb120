"""vumeter's exporters against the real consumers: a Prometheus server scraping
``vumeter.start_http_server`` (it asks for OpenMetrics, and gets the native render), and a
Pushgateway receiving ``vumeter.push_to_gateway`` and ``pushadd_to_gateway`` pushes
(gzipped, with a grouping key) and a ``delete_from_gateway``. All on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

import vumeter
from tests.ops.live_stack import PrometheusAPI, log_tail, running
from tests.support.binaries import free_port, require_binary, wait_for_http
from tests.support.gateways import running_pushgateway
from tests.support.native import natively_rendered

DEADLINE_S = 60.0


@pytest.fixture
def served() -> Iterator[tuple[CollectorRegistry, int]]:
    registry = CollectorRegistry()
    counter = vumeter.Counter("dropin_requests", "Requests.", ["method"], registry=registry)
    counter.labels("get").inc(3, exemplar={"trace_id": "abc"})
    histogram = vumeter.Histogram(
        "dropin_latency_seconds", "Latency.", registry=registry, buckets=(0.1, 1.0)
    )
    for value in (0.05, 0.5, 0.5, 2.0):
        histogram.observe(value)
    httpd, thread = vumeter.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield registry, httpd.server_port
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_prometheus_scrapes_start_http_server(
    served: tuple[CollectorRegistry, int], tmp_path: Path
) -> None:
    prometheus = require_binary("prometheus")
    _, target_port = served
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {"job_name": "dropin", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    command = [
        prometheus,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    expected = {
        'up{job="dropin"}': 1.0,
        'dropin_requests_total{method="get"}': 3.0,
        'dropin_latency_seconds_bucket{le="1.0"}': 3.0,
        "dropin_latency_seconds_count": 4.0,
    }
    # A scrape rendered through collect() would fail, and `up` would be 0.
    with running("prometheus", command, tmp_path) as process, natively_rendered():
        try:
            wait_for_http(f"http://127.0.0.1:{port}/-/ready", timeout=30)
        except TimeoutError as error:
            pytest.fail(f"{error}\n{log_tail(process.log_path)}")
        api = PrometheusAPI(f"http://127.0.0.1:{port}")
        seen: dict[str, float | None] = {}
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            seen = {}
            for expr in expected:
                result = api.query(expr)
                seen[expr] = float(result[0]["value"][1]) if result else None
            if seen == expected:
                break
            time.sleep(0.5)
        assert seen == expected, log_tail(process.log_path)


def test_pushes_reach_a_real_pushgateway(served: tuple[CollectorRegistry, int]) -> None:
    registry, _ = served
    grouping = {"instance": "worker 1/a"}  # a space and a slash: base64 in the URL
    with running_pushgateway() as gateway:
        vumeter.push_to_gateway(
            gateway.url, "dropin", registry, grouping_key=grouping, compression="gzip"
        )
        gateway.wait_for(
            "dropin_requests_total", 3.0, job="dropin", instance="worker 1/a", method="get"
        )
        gateway.wait_for("dropin_latency_seconds_count", 4.0, job="dropin", instance="worker 1/a")
        other = CollectorRegistry()
        vumeter.Gauge("dropin_depth", "Depth.", registry=other).set(7)
        vumeter.pushadd_to_gateway(gateway.url, "dropin", other, grouping_key=grouping)
        gateway.wait_for("dropin_depth", 7.0, job="dropin", instance="worker 1/a")
        assert gateway.sample("dropin_requests_total", job="dropin", method="get") == 3.0
        vumeter.delete_from_gateway(gateway.url, "dropin", grouping_key=grouping)
        gateway.wait_for("dropin_depth", None, job="dropin")
