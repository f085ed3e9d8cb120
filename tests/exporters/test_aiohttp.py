"""The aiohttp handler answers as prometheus_client's, rendering natively."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler as theirs_handler

from tests.support.native import natively_rendered
from vumeter.exporters.aiohttp import make_aiohttp_handler

CASES = [
    ({}, ""),
    ({"Accept": "application/openmetrics-text; version=1.0.0"}, ""),
    ({"Accept": "text/plain; version=1.0.0; escaping=values"}, ""),
    ({"Accept-Encoding": "gzip"}, ""),
    ({}, "?name[]=depth"),
]


async def _get(
    handler: web.RequestHandler, headers: dict[str, str], query: str
) -> tuple[int, str, bytes]:
    app = web.Application()
    app.router.add_get("/metrics", handler)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics" + query, headers=headers)
        return response.status, response.headers["Content-Type"], await response.read()


@pytest.mark.parametrize(("headers", "query"), CASES)
async def test_aiohttp_handler_answers_as_prometheus_clients(
    mixed_registry: CollectorRegistry, headers: dict[str, str], query: str
) -> None:
    expected = await _get(theirs_handler(mixed_registry), headers, query)
    if query:
        assert await _get(make_aiohttp_handler(mixed_registry), headers, query) == expected
        return
    with natively_rendered():
        assert await _get(make_aiohttp_handler(mixed_registry), headers, query) == expected
