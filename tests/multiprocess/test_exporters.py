"""A multi-process merge through every escaping scheme and through vumeter's exporters:
the same bytes as prometheus_client's renderers give for the same registry, natively
rendered where the scheme keeps classic names."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics import exposition as pc_openmetrics

import vumeter
from tests.multiprocess.processes import run_programs, run_script, samples, vumeter_scrape
from vumeter.multiprocess import MultiProcessCollector

SCHEMES = ["allow-utf-8", "underscores", "dots", "values"]


@pytest.fixture
def merged(tmp_path: Path) -> CollectorRegistry:
    program = [["inc", "a", 2.0], ["observe", "a", 0.75], ["set", "max", "a", 3.0]]
    run_programs("vumeter", [program, program], tmp_path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=tmp_path)
    return registry


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_renders_the_merge_as_prometheus_client(
    merged: CollectorRegistry, scheme: str
) -> None:
    assert vumeter.generate_latest(merged, scheme) == prometheus_client.generate_latest(
        merged, scheme
    )
    assert vumeter.generate_openmetrics(merged, scheme) == pc_openmetrics.generate_latest(
        merged, scheme
    )


def test_the_wsgi_app_serves_the_merge_as_prometheus_clients(merged: CollectorRegistry) -> None:
    def get(app: Any, accept: str) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/metrics",
            "QUERY_STRING": "",
            "HTTP_ACCEPT": accept,
            "wsgi.input": io.BytesIO(),
        }
        started: list[Any] = []
        body = b"".join(app(environ, lambda status, headers: started.append(headers)))
        return dict(started[0])["Content-Type"], body

    for accept in ("text/plain", "application/openmetrics-text; version=1.0.0"):
        expected = get(prometheus_client.make_wsgi_app(merged), accept)
        assert get(vumeter.make_wsgi_app(merged), accept) == expected


def test_a_subclass_with_init_leaves_no_probe_in_the_merge(tmp_path: Path) -> None:
    """Building a subclass runs its __init__ on a probe family first: the probe must
    place no series in the process's cell file."""
    run_script(
        """
        import vumeter

        class AppCounter(vumeter.Counter):
            def __init__(self, name, documentation, **kwargs):
                kwargs.setdefault("namespace", "app")
                super().__init__(name, documentation, **kwargs)

        class Timed(vumeter.Histogram):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)

        AppCounter("requests", "Requests.", registry=None).inc(2)
        Timed("latency_seconds", "Latency.", registry=None).observe(0.3)
        """,
        tmp_path,
    )
    got = samples(vumeter_scrape(tmp_path))
    assert got[("app_requests_total", frozenset())] == 2.0
    assert got[("latency_seconds_count", frozenset())] == 1.0
    assert not [name for name, _ in got if "probe" in name]
