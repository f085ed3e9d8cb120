"""Connection limits in one process: header and keep-alive timeouts, the cap, eviction of idle
connections, the probe reserve, and the 503 beyond it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from vumeter import CollectorRegistry
from vumeter.server import ServerHandle, ServerLimits

from .conftest import StartServer

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(handle: ServerHandle) -> Connection:
    return await asyncio.open_connection("127.0.0.1", handle.port)


async def closed_within(connection: Connection, seconds: float) -> float | None:
    """Seconds until the server closed ``connection`` (reading everything it sent), or None."""
    reader, _ = connection
    began = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - began


async def close(connection: Connection) -> None:
    _, writer = connection
    writer.close()
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        await writer.wait_closed()


@pytest.fixture
async def connections() -> AsyncIterator[list[Connection]]:
    opened: list[Connection] = []
    yield opened
    for connection in opened:
        await close(connection)


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_a_silent_connection_is_closed_after_the_header_timeout(
    start_server: StartServer, connections: list[Connection]
) -> None:
    handle = start_server(limits=ServerLimits(header_timeout=0.5))
    connections.append(await connect(handle))
    took = await closed_within(connections[-1], 5)
    assert took is not None, "a client that never sends a request keeps its connection"
    assert 0.4 < took < 5


async def test_a_byte_a_second_request_is_cut_at_the_header_timeout(
    start_server: StartServer, connections: list[Connection]
) -> None:
    handle = start_server(limits=ServerLimits(header_timeout=0.6, keepalive_timeout=30))
    reader, writer = await connect(handle)
    connections.append((reader, writer))
    began = time.monotonic()

    async def trickle() -> None:
        writer.write(b"GET /livez HTTP/1.1\r\n")
        for _ in range(50):  # 5 s of a header that never ends
            await asyncio.sleep(0.1)
            writer.write(b"X")
            try:
                await writer.drain()
            except ConnectionError:
                return

    trickling = asyncio.ensure_future(trickle())
    took = await closed_within((reader, writer), 5)
    trickling.cancel()
    assert took is not None, "slowloris keeps its connection by sending a byte now and then"
    assert 0.5 < time.monotonic() - began < 5  # the trickle would go on for 5 s


async def test_keep_alive_then_idle_timeout(start_server: StartServer) -> None:
    handle = start_server(limits=ServerLimits(header_timeout=5, keepalive_timeout=0.5))
    reader, writer = await asyncio.open_connection("127.0.0.1", handle.port)
    try:
        for _ in range(3):  # requests on one connection are served; each resets the timers
            writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(0.2)
        took = await closed_within((reader, writer), 5)
        assert took is not None
        assert took < 4, "closed by the 0.5 s keep-alive timeout (nothing else would close it)"
    finally:
        await close((reader, writer))


async def test_at_the_cap_the_longest_idle_connection_makes_room(
    start_server: StartServer, connections: list[Connection], registry: CollectorRegistry
) -> None:
    handle = start_server(limits=ServerLimits(max_connections=3, probe_connections=1))
    for _ in range(3):
        connections.append(await connect(handle))
        await asyncio.sleep(0.05)  # a clear order of idleness
    status, body = await get(handle.url + "/metrics")
    assert status == 200
    assert 'vumeter_server_connections_dropped_total{reason="evicted"} 1.0' in body
    oldest, *others = connections
    assert await closed_within(oldest, 2) is not None, "the longest idle one was closed"
    for connection in others:
        assert await closed_within(connection, 0.2) is None


class BlockingCollector:
    def __init__(self) -> None:
        self.release = threading.Event()

    def collect(self) -> Iterator[Metric]:
        self.release.wait(30)
        yield GaugeMetricFamily("blocking_collector_returned", "1 once it returned", value=1)


async def test_probes_are_served_while_every_connection_is_busy(
    start_server: StartServer, registry: CollectorRegistry, connections: list[Connection]
) -> None:
    blocking = BlockingCollector()
    registry.register(blocking)
    handle = start_server(
        limits=ServerLimits(max_connections=2, probe_connections=1), scrape_timeout=30
    )
    try:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True)
        ) as session:
            scrapes = [asyncio.ensure_future(session.get(handle.url + "/metrics")) for _ in "ab"]
            await asyncio.sleep(0.3)  # both connections busy rendering
            assert not any(scrape.done() for scrape in scrapes)

            # Beyond the cap, a connection is admitted for health probes only.
            status, _ = await get(handle.url + "/livez")
            assert status == 200
            status, text = await get(handle.url + "/metrics")
            assert status == 503
            assert "only health probes" in text

            # With the probe reserve taken too, a new connection gets a 503 and is closed.
            connections.append(await connect(handle))
            await asyncio.sleep(0.1)
            connections.append(await connect(handle))
            refusal = await asyncio.wait_for(connections[-1][0].read(), 5)
            assert refusal.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            assert b"connection limit reached" in refusal

            blocking.release.set()
            for scrape in scrapes:
                async with await scrape as response:
                    assert response.status == 200
    finally:
        blocking.release.set()
    status, body = await get(handle.url + "/metrics")
    assert 'vumeter_server_connections_dropped_total{reason="refused"} 1.0' in body


def test_limits_are_validated_and_follow_the_open_file_limit() -> None:
    limits = ServerLimits(max_connections=500, probe_connections=8)
    assert limits.connection_cap(open_file_limit=100_000) == 500
    assert limits.connection_cap(open_file_limit=256) == (256 - 64) // 2 - 8
    assert limits.connection_cap(open_file_limit=64) == 1
    assert limits.handler_args() == {"keepalive_timeout": 20.0, "lingering_time": 10.0}
    with pytest.raises(ValueError, match="max_connections must be an int >= 1"):
        ServerLimits(max_connections=0)
    with pytest.raises(ValueError, match="header_timeout must be a finite number"):
        ServerLimits(header_timeout=float("inf"))
    with pytest.raises(ValueError, match="probe_connections must be an int >= 0"):
        ServerLimits(probe_connections=-1)
