"""Debian's real Prometheus, with native histograms enabled, scrapes the vumeter server in
protobuf: ``histogram_count``, ``histogram_sum`` and ``histogram_quantile`` over the native
series agree with numpy on the same observations, within the schema's relative error. A
histogram with classic buckets too serves the classic series to a text scrape of the same
registry (the second job below) and the native series to the protobuf one. Native buckets
merged over processes in multi-process mode agree with numpy in the same way.

Prometheus scrapes two targets: the vumeter server, which negotiates protobuf with it, and
a text-only endpoint of the same registry. (Prometheus before 2.45 has no setting to keep
classic buckets from a protobuf scrape of a histogram that has native ones.)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.multiprocess.processes import run_script
from tests.support.prometheus import running_prometheus
from vumeter import CollectorRegistry, Histogram, generate_latest
from vumeter.multiprocess import MultiProcessCollector

from .conftest import StartServer

_CONFIG = """
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: native
    static_configs:
      - targets: ["{native}"]
  - job_name: classic
    static_configs:
      - targets: ["{classic}"]
"""

#: Schema 3 (factor 1.1): neighbouring bucket bounds differ by 2^(1/8), so an estimate
#: inside the right bucket is off by less than that factor.
SCHEMA_3_ERROR = 2 ** (1 / 8) - 1


@pytest.fixture
def observations(registry: CollectorRegistry) -> np.ndarray:
    values = np.random.default_rng(2026).lognormal(mean=-2.0, sigma=1.2, size=5_000)
    native = Histogram(
        "job_duration_seconds",
        "Processing time",
        ["stage"],
        registry=registry,
        native_histogram_bucket_factor=1.1,
    )
    both = Histogram(
        "score_ratio",
        "Quality score",
        registry=registry,
        buckets=(0.05, 0.1, 0.2, 0.5, 1.0),
        native_histogram_bucket_factor=1.1,
    )
    native.labels("enhance").observe_many(values)
    both.observe_many(values)
    return values


@pytest.fixture
def text_endpoint(registry: CollectorRegistry) -> Iterator[str]:
    """The registry in Prometheus text, whatever the scraper asks for."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def prometheus(
    start_server: StartServer,
    registry: CollectorRegistry,
    observations: np.ndarray,
    text_endpoint: str,
    tmp_path: Path,
) -> Iterator[str]:
    handle = start_server(registry=registry)
    native_target = urllib.parse.urlsplit(handle.url).netloc
    config = _CONFIG.format(native=native_target, classic=text_endpoint)
    with running_prometheus(tmp_path, config, "--enable-feature=native-histograms") as base:
        yield base


def query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def scalar(base: str, promql: str, tmp_path: Path, timeout: float = 60.0) -> float:
    """The single value of ``promql``, polled until the series has been scraped."""
    deadline = time.monotonic() + timeout
    while True:
        result = query(base, promql)
        if result:
            assert len(result) == 1, result
            return float(result[0]["value"][1])
        if time.monotonic() > deadline:
            log = (tmp_path / "prometheus.log").read_text(errors="replace")
            raise AssertionError(f"{promql} had no result within {timeout} s; log:\n{log[-3000:]}")
        time.sleep(0.25)


def assert_agrees_with_numpy(
    base: str, series: str, values: np.ndarray, tmp_path: Path, sum_error: float
) -> None:
    """``histogram_count``, ``histogram_sum`` and the median and 99th percentile of a
    native series against numpy on the values it observed."""
    assert scalar(base, f"histogram_count({series})", tmp_path) == len(values)
    total = scalar(base, f"histogram_sum({series})", tmp_path)
    assert total == pytest.approx(values.sum(), rel=sum_error)
    for q in (0.5, 0.99):
        estimate = scalar(base, f"histogram_quantile({q}, {series})", tmp_path)
        exact = float(np.quantile(values, q))
        assert abs(estimate - exact) / exact < SCHEMA_3_ERROR, (q, estimate, exact)


def test_native_series_agree_with_numpy(
    prometheus: str, observations: np.ndarray, tmp_path: Path
) -> None:
    native = 'job_duration_seconds{job="native",stage="enhance"}'
    assert_agrees_with_numpy(prometheus, native, observations, tmp_path, sum_error=1e-12)
    # Native only: no classic buckets in protobuf; in text, the +Inf bucket alone.
    assert not query(prometheus, 'job_duration_seconds_bucket{job="native"}')
    inf = 'job_duration_seconds_bucket{job="classic",le="+Inf"}'
    assert scalar(prometheus, inf, tmp_path) == len(observations)
    text_buckets = query(prometheus, 'job_duration_seconds_bucket{job="classic"}')
    assert [r["metric"]["le"] for r in text_buckets] == ["+Inf"]


def test_a_classic_and_native_histogram_serves_both_families(
    prometheus: str, observations: np.ndarray, tmp_path: Path
) -> None:
    count = scalar(prometheus, 'histogram_count(score_ratio{job="native"})', tmp_path)
    assert count == len(observations)
    classic = 'score_ratio_bucket{job="classic"}'
    scalar(prometheus, f'{classic[:-1]},le="+Inf"}}', tmp_path)
    buckets = {r["metric"]["le"]: float(r["value"][1]) for r in query(prometheus, classic)}
    expected = {f"{b}": float((observations <= b).sum()) for b in (0.05, 0.1, 0.2, 0.5, 1.0)}
    assert buckets == {**expected, "+Inf": float(len(observations))}
    classic_median = scalar(prometheus, f"histogram_quantile(0.5, {classic})", tmp_path)
    native_median = scalar(
        prometheus, 'histogram_quantile(0.5, score_ratio{job="native"})', tmp_path
    )
    exact = float(np.median(observations))
    # The native estimate is the closer one: its buckets are far narrower.
    assert abs(native_median - exact) < abs(classic_median - exact)


def test_native_buckets_merged_over_processes_agree_with_numpy(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Three worker processes in multi-process mode observe a third each; the server's
    MultiProcessCollector merges their native buckets, and Prometheus's count, sum and
    quantiles over the merged native series agree with numpy on all the values."""
    values = np.random.default_rng(7).lognormal(mean=-2.0, sigma=1.2, size=6_000)
    directory = tmp_path / "multiproc"
    directory.mkdir()
    for part in np.array_split(values, 3):
        run_script(
            f"""
            import vumeter
            h = vumeter.Histogram(
                "mp_job_seconds", "Processing time", registry=None,
                native_histogram_bucket_factor=1.1,
            )
            h.observe_many({[float(v) for v in part]!r})
            """,
            directory,
        )
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    handle = start_server(registry=registry)
    target = urllib.parse.urlsplit(handle.url).netloc
    config = _CONFIG.split("  - job_name: classic")[0].format(native=target)
    with running_prometheus(tmp_path, config, "--enable-feature=native-histograms") as base:
        # The processes' partial sums add in another order than numpy's.
        assert_agrees_with_numpy(base, 'mp_job_seconds{job="native"}', values, tmp_path, 1e-9)
