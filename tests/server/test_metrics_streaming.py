"""Large ``/metrics`` bodies go out in slices: the bytes, length and headers are those of
the render, plain and gzipped, and HEAD still answers without a body."""

from __future__ import annotations

import gzip
import logging
import socket

import aiohttp
import pytest

from vumeter import CollectorRegistry, Counter, generate_latest

from .conftest import StartServer


def _without_server_metrics(body: bytes) -> bytes:
    """The body less the server's own families (their values move with every request)."""
    own = (b"vumeter_server_", b"# HELP vumeter_server_", b"# TYPE vumeter_server_")
    return b"".join(line for line in body.splitlines(keepends=True) if not line.startswith(own))


def _large(registry: CollectorRegistry) -> bytes:
    jobs = Counter("jobs", "Jobs done.", ["worker", "queue"], registry=registry)
    for i in range(30_000):
        jobs.labels(f"worker-{i}", "transcode").inc(i)
    body = generate_latest(registry)
    assert len(body) > 2 * 1024 * 1024, "several slices"
    return body


async def test_a_large_body_arrives_whole(
    start_server: StartServer, registry: CollectorRegistry
) -> None:
    expected = _large(registry)
    handle = start_server(registry=registry)
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for encoding in ("identity", "gzip"):
            headers = {"Accept-Encoding": encoding}
            async with session.get(handle.url + "/metrics", headers=headers) as response:
                body = await response.read()
                assert response.status == 200
                assert int(response.headers["Content-Length"]) == len(body)
                assert response.headers["Vary"] == "Accept, Accept-Encoding"
            if encoding == "gzip":
                assert response.headers["Content-Encoding"] == "gzip"
                body = gzip.decompress(body)
            assert _without_server_metrics(body) == expected
        async with session.head(handle.url + "/metrics") as response:
            assert response.status == 200
            assert await response.read() == b""


async def test_a_scraper_that_leaves_mid_body_is_no_error(
    start_server: StartServer, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    expected = _large(registry)
    handle = start_server(registry=registry)
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.settimeout(10)
        client.connect((handle.host, handle.port))
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
    # A whole scrape afterwards takes several turns of the event loop, by which time the
    # first handler has seen its connection go.
    async with (
        aiohttp.ClientSession() as session,
        session.get(handle.url + "/metrics", headers={"Accept-Encoding": "identity"}) as response,
    ):
        assert _without_server_metrics(await response.read()) == expected
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
