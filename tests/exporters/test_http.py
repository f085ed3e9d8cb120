"""vumeter's WSGI and ASGI apps, ``MetricsHandler`` and ``start_http_server`` answer every
request as prometheus_client's do (status, headers, body), while rendering vumeter's
families natively: they never call a family's ``collect()``."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter
from tests.support.native import natively_rendered

ACCEPTS = [
    None,
    "text/plain",
    "text/plain; version=0.0.4",
    "text/plain; version=1.0.0",
    "text/plain; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text",
    "application/openmetrics-text; version=1.0.0",
    "application/openmetrics-text; version=1.0.0; escaping=dots",
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    "application/json, */*",
]
# (method, path, query, accept, accept-encoding)
REQUESTS = [
    *[("GET", "/metrics", "", accept, None) for accept in ACCEPTS],
    ("GET", "/metrics", "", None, "gzip"),
    ("GET", "/metrics", "", "application/openmetrics-text", "br, GZIP;q=0.5"),
    ("GET", "/metrics", "name[]=requests_total&name[]=depth", None, None),
    ("GET", "/anything", "", None, None),
    ("GET", "/favicon.ico", "", None, None),
    ("OPTIONS", "/metrics", "", None, None),
    ("POST", "/metrics", "", None, None),
]

Response = tuple[int, dict[str, str], bytes]


def _normalised(status: int, headers: list[tuple[str, str]], body: bytes) -> Response:
    header_map = {
        k.lower(): v
        for k, v in headers
        if k.lower() in ("content-type", "content-encoding", "allow")
    }
    if header_map.get("content-encoding") == "gzip":
        body = gzip.decompress(body)  # the compressed bytes carry the time of compression
    return status, header_map, body


def _wsgi(app: Any, request: tuple[str, str, str, str | None, str | None]) -> Response:
    method, path, query, accept, encoding = request
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(),
    }
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    if encoding is not None:
        environ["HTTP_ACCEPT_ENCODING"] = encoding
    started: list[Any] = []
    body = b"".join(app(environ, lambda status, headers: started.extend((status, headers))))
    return _normalised(int(started[0].split()[0]), started[1], body)


@contextmanager
def _as_it_must(request: tuple[str, str, str, str | None, str | None]) -> Iterator[None]:
    """Native rendering for every scrape but the two that prometheus_client renders on
    purpose: a ``name[]`` filter (applied per sample) and ``dots`` escaping (which
    rewrites every legacy name)."""
    method, _, query, accept, _ = request
    if method != "GET" or "name[]" in query or "escaping=dots" in (accept or ""):
        yield
        return
    with natively_rendered():
        yield


@pytest.mark.parametrize("request_", REQUESTS, ids=str)
def test_wsgi_app_answers_as_prometheus_client(
    mixed_registry: CollectorRegistry, request_: tuple[str, str, str, str | None, str | None]
) -> None:
    expected = _wsgi(prometheus_client.make_wsgi_app(mixed_registry), request_)
    with _as_it_must(request_):
        assert _wsgi(vumeter.make_wsgi_app(mixed_registry), request_) == expected


def test_the_native_check_catches_prometheus_clients_encoder(
    mixed_registry: CollectorRegistry,
) -> None:
    request = ("GET", "/metrics", "", None, None)
    with natively_rendered(), pytest.raises(AssertionError, match="collect"):
        _wsgi(prometheus_client.make_wsgi_app(mixed_registry), request)


def _asgi(app: Any, request: tuple[str, str, str, str | None, str | None]) -> Response:
    method, path, query, accept, encoding = request
    headers = [(b"host", b"localhost")]
    if accept is not None:
        headers.append((b"accept", accept.encode()))
    if encoding is not None:
        headers.append((b"accept-encoding", encoding.encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": headers,
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent
    decoded = [(k.decode(), v.decode()) for k, v in start["headers"]]
    return _normalised(start["status"], decoded, body["body"])


@pytest.mark.parametrize("request_", [r for r in REQUESTS if r[0] == "GET"], ids=str)
def test_asgi_app_answers_as_prometheus_client(
    mixed_registry: CollectorRegistry, request_: tuple[str, str, str, str | None, str | None]
) -> None:
    expected = _asgi(prometheus_client.make_asgi_app(mixed_registry), request_)
    with _as_it_must(request_):
        assert _asgi(vumeter.make_asgi_app(mixed_registry), request_) == expected


def _fetch(port: int, request: tuple[str, str, str, str | None, str | None]) -> Response:
    method, path, query, accept, encoding = request
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    try:
        connection.request(method, f"{path}?{query}" if query else path, headers=headers)
        response = connection.getresponse()
        return _normalised(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


@contextmanager
def _serving(start: Callable[..., Any], registry: CollectorRegistry) -> Iterator[int]:
    httpd, thread = start(0, addr="127.0.0.1", registry=registry)
    try:
        yield httpd.server_port
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("name", ["start_http_server", "start_wsgi_server"])
def test_http_server_answers_as_prometheus_client(
    mixed_registry: CollectorRegistry, name: str
) -> None:
    with (
        _serving(getattr(prometheus_client, name), mixed_registry) as theirs,
        _serving(getattr(vumeter, name), mixed_registry) as ours,
    ):
        for request in REQUESTS:
            expected = _fetch(theirs, request)
            with _as_it_must(request):
                assert _fetch(ours, request) == expected, request


def test_metrics_handler_factory_serves_natively(mixed_registry: CollectorRegistry) -> None:
    def serve(handler: type) -> tuple[HTTPServer, threading.Thread]:
        server = HTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return server, thread

    theirs = serve(prometheus_client.MetricsHandler.factory(mixed_registry))
    ours = serve(vumeter.MetricsHandler.factory(mixed_registry))
    try:
        assert issubclass(vumeter.MetricsHandler, prometheus_client.MetricsHandler)
        for request in [r for r in REQUESTS if r[0] == "GET"]:
            expected = _fetch(theirs[0].server_port, request)
            with _as_it_must(request):
                assert _fetch(ours[0].server_port, request) == expected, request
    finally:
        for server, thread in (theirs, ours):
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
