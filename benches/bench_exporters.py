"""Benchmark: prometheus_client's exporters against vumeter's, serving the same registry
of 1,000 histogram (8 buckets) + 1,000 counter children of vumeter metrics, in one
process, medians of alternating rounds.

A user who keeps ``start_http_server`` (or the WSGI/ASGI app, a push, a text file) but
takes it from prometheus_client reaches vumeter's families through prometheus_client's
Python encoder (``collect()`` then formatting in Python); taken from vumeter, the same
call renders natively. Each row is one exporter call; the ratio is prometheus_client's
median over vumeter's.

    python -m benches.bench_exporters [--quick] [--repeats R]
"""

from __future__ import annotations

import argparse
import http.client
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import prometheus_client

import vumeter
from benches.peers import render_series
from benches.timing import alternating, format_seconds

CHILDREN = 1000


def _wsgi_get(
    app: Any, accept: str | None = None, encoding: str | None = None
) -> Callable[[], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/metrics",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(),
    }
    if accept:
        environ["HTTP_ACCEPT"] = accept
    if encoding:
        environ["HTTP_ACCEPT_ENCODING"] = encoding

    def call() -> bytes:
        return b"".join(app(dict(environ), lambda status, headers: None))

    return call


def _http_get(port: int) -> Callable[[], bytes]:
    def call() -> bytes:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/metrics")
            return connection.getresponse().read()
        finally:
            connection.close()

    return call


def _discard(**request: Any) -> Callable[[], None]:
    return lambda: None


def rows(
    registry: Any, directory: Path
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Each row's (prometheus_client's exporter, vumeter's) over ``registry``."""
    om = "application/openmetrics-text; version=1.0.0"
    # What a Prometheus 3 server asks for first (UTF-8 names allowed).
    om_utf8 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,*/*;q=0.1"
    return {
        "WSGI app, text": (
            _wsgi_get(prometheus_client.make_wsgi_app(registry)),
            _wsgi_get(vumeter.make_wsgi_app(registry)),
        ),
        "WSGI app, OpenMetrics": (
            _wsgi_get(prometheus_client.make_wsgi_app(registry), om),
            _wsgi_get(vumeter.make_wsgi_app(registry), om),
        ),
        "WSGI app, OpenMetrics allow-utf-8": (
            _wsgi_get(prometheus_client.make_wsgi_app(registry), om_utf8),
            _wsgi_get(vumeter.make_wsgi_app(registry), om_utf8),
        ),
        "WSGI app, text + gzip": (
            _wsgi_get(prometheus_client.make_wsgi_app(registry), None, "gzip"),
            _wsgi_get(vumeter.make_wsgi_app(registry), None, "gzip"),
        ),
        "write_to_textfile": (
            lambda: prometheus_client.write_to_textfile(str(directory / "p.prom"), registry),
            lambda: vumeter.write_to_textfile(str(directory / "v.prom"), registry),
        ),
        "push_to_gateway (body only)": (
            lambda: prometheus_client.push_to_gateway("gw", "j", registry, handler=_discard),
            lambda: vumeter.push_to_gateway("gw", "j", registry, handler=_discard),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    children, repeats, number = (50, 3, 2) if args.quick else (CHILDREN, args.repeats, 5)
    registry = render_series(vumeter, children)
    servers = []
    for lib in (prometheus_client, vumeter):
        httpd, thread = lib.start_http_server(0, addr="127.0.0.1", registry=registry)
        servers.append((httpd, thread))
    print(f"{children} histogram + {children} counter children of vumeter metrics;")
    print("median per call; ratio = prometheus_client's exporter / vumeter's")
    print(f"{'exporter call':36} {'prometheus_client':>18} {'vumeter':>10} {'ratio':>7}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            table = rows(registry, Path(tmp))
            table["start_http_server, GET /metrics"] = (
                _http_get(servers[0][0].server_port),
                _http_get(servers[1][0].server_port),
            )
            for name, (theirs, ours) in table.items():
                medians = alternating(
                    {"theirs": theirs, "ours": ours}, number, repeats, warm_up=True
                )
                ratio = medians["theirs"] / medians["ours"]
                print(
                    f"{name:36} {format_seconds(medians['theirs']):>18} "
                    f"{format_seconds(medians['ours']):>10} {ratio:6.1f}x"
                )
    finally:
        for httpd, thread in servers:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
