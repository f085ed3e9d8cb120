"""Malformed and hostile requests get a 400, nothing is logged as an error, the server goes on."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from vumeter.server import ServerHandle

from .conftest import StartServer


async def raw_exchange(handle: ServerHandle, request: bytes) -> bytes:
    """Send ``request`` bytes on a fresh connection; return everything until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", handle.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


async def assert_still_serving(handle: ServerHandle) -> None:
    async with aiohttp.ClientSession() as session, session.get(handle.url + "/livez") as response:
        assert response.status == 200


def status_line(response: bytes) -> bytes:
    return response.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", b"400"),
        (b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"Cookie: c=" + b"b" * 9000 + b"\r\n\r\n", b"400"),
        (b"GET /" + b"x" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET /livez HTTP/9.9\r\nHost: x\r\n\r\n", b"400"),
        (b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", b"400"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, b"400"),  # TLS hello
    ],
    ids=["huge-header", "huge-cookie", "huge-url", "bad-version", "bad-length", "tls-on-http"],
)
async def test_malformed_requests_get_400(
    start_server: StartServer,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
    status: bytes,
) -> None:
    handle = start_server()
    with caplog.at_level(logging.DEBUG):
        response = await raw_exchange(handle, request_bytes)
    assert status in status_line(response), response[:200]
    await assert_still_serving(handle)
    # A client's mistake is not the worker's error: nothing at ERROR, no traceback.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_many_bad_connections_in_parallel_do_not_stop_the_server(
    start_server: StartServer,
) -> None:
    handle = start_server()
    huge = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65_536 + b"\r\n\r\n"
    responses = await asyncio.gather(*(raw_exchange(handle, huge) for _ in range(50)))
    assert all(b"400" in status_line(response) for response in responses)
    await assert_still_serving(handle)


async def test_a_client_that_stalls_mid_request_does_not_block_others(
    start_server: StartServer,
) -> None:
    handle = start_server()
    _, writer = await asyncio.open_connection("127.0.0.1", handle.port)
    try:
        writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Partial: ")  # never finished
        await writer.drain()
        await asyncio.sleep(0.1)
        await assert_still_serving(handle)
    finally:
        writer.close()
        await writer.wait_closed()
    await assert_still_serving(handle)


async def test_query_strings_and_bodies_are_ignored(start_server: StartServer) -> None:
    handle = start_server()
    async with aiohttp.ClientSession() as session:
        async with session.get(handle.url + "/readyz?verbose=1&x=%ff") as response:
            assert response.status == 200
        async with session.get(handle.url + "/livez", data=b"x" * 10_000) as response:
            assert response.status == 200
