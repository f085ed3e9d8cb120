"""Starting, draining and stopping: serve() in a thread, MetricsServer and create_app in asyncio."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from vumeter import CollectorRegistry, Counter
from vumeter.server import HealthChecks, MetricsServer, create_app, serve

from .conftest import StartServer


class SlowCollector:
    """A collector that takes ``seconds`` to collect: a scrape that is in flight for a while."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def collect(self) -> Iterator[Metric]:
        time.sleep(self.seconds)
        yield GaugeMetricFamily("slow_collector_done", "Set when the slow collect finished", 1)


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


async def refused(url: str) -> bool:
    try:
        await status_of(url)
    except aiohttp.ClientConnectionError:
        return True
    return False


async def test_serve_binds_a_free_port_and_stops(start_server: StartServer) -> None:
    handle = start_server()
    assert handle.port > 0
    assert handle.url == f"http://127.0.0.1:{handle.port}"
    assert handle.running
    assert await status_of(handle.url + "/livez") == 200
    began = time.monotonic()
    handle.stop()
    assert time.monotonic() - began < 2
    assert not handle.running
    assert handle.wait(0)
    assert await refused(handle.url + "/livez")
    handle.stop()  # idempotent


async def test_begin_shutdown_fails_readiness_first_then_stops(start_server: StartServer) -> None:
    handle = start_server(grace_period=1.0)
    handle.begin_shutdown()
    assert handle.checks.shutting_down
    async with aiohttp.ClientSession() as session:
        async with session.get(handle.url + "/readyz") as response:
            assert response.status == 503
            assert (await response.json())["message"] == "shutting down"
            # Keep-alive clients are told to reconnect, to a replica that is still ready.
            assert response.headers["Connection"] == "close"
        async with session.get(handle.url + "/livez") as response:
            assert response.status == 200
        async with session.get(handle.url + "/metrics") as response:
            assert response.status == 200
    assert handle.running
    stopped = await asyncio.to_thread(handle.wait, 5)
    assert stopped
    assert await refused(handle.url + "/livez")


async def test_stop_lets_an_in_flight_scrape_finish(
    start_server: StartServer, registry: CollectorRegistry
) -> None:
    registry.register(SlowCollector(1.0))
    handle = start_server(grace_period=30.0)  # stop() skips the grace period
    async with aiohttp.ClientSession() as session:
        scrape = asyncio.ensure_future(session.get(handle.url + "/metrics"))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        await asyncio.to_thread(handle.stop)
        assert time.monotonic() - began < 5
        async with await scrape as response:
            assert response.status == 200
            assert b"slow_collector_done 1.0" in await response.read()
    assert await refused(handle.url + "/livez")


async def test_stop_is_bounded_by_the_shutdown_timeout(
    start_server: StartServer, registry: CollectorRegistry
) -> None:
    registry.register(SlowCollector(3.0))
    handle = start_server(shutdown_timeout=0.5)
    async with aiohttp.ClientSession() as session:
        scrape = asyncio.ensure_future(session.get(handle.url + "/metrics"))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        await asyncio.to_thread(handle.stop)
        assert time.monotonic() - began < 2.5
        with pytest.raises(aiohttp.ClientError):
            async with await scrape as response:
                await response.read()


async def test_a_taken_port_raises_a_clear_error(start_server: StartServer) -> None:
    first = start_server()
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{first.port}"):
        serve(host="127.0.0.1", port=first.port)


def test_signal_handlers_need_the_main_thread() -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            serve(host="127.0.0.1", port=0, install_signal_handlers=True)
        except ValueError as error:
            errors.append(error)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(10)
    assert len(errors) == 1
    assert "needs the main thread" in str(errors[0])


def test_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="port must be an int between 0 and 65535"):
        serve(host="127.0.0.1", port=70000)
    with pytest.raises(ValueError, match="grace_period must be a finite number of seconds >= 0"):
        serve(host="127.0.0.1", port=0, grace_period=-1)
    with pytest.raises(TypeError, match="checks must be a vumeter HealthChecks"):
        create_app(checks={"db": lambda: True})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="registry must be a CollectorRegistry"):
        create_app(registry="REGISTRY")  # type: ignore[arg-type]


async def test_context_manager_stops_the_server(registry: CollectorRegistry) -> None:
    with serve(host="127.0.0.1", port=0, registry=registry) as handle:
        assert await status_of(handle.url + "/livez") == 200
    assert not handle.running
    assert await refused(handle.url + "/livez")


async def test_metrics_server_inside_a_running_loop(registry: CollectorRegistry) -> None:
    Counter("jobs_total", "Jobs", registry=registry).inc(3)
    checks = HealthChecks()
    async with MetricsServer("127.0.0.1", 0, registry, checks, grace_period=0) as server:
        assert await status_of(server.url + "/startupz") == 503
        checks.mark_started()
        assert await status_of(server.url + "/startupz") == 200
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url + "/metrics") as response,
        ):
            assert b"jobs_total 3.0" in await response.read()
    assert await refused(server.url + "/livez")


async def test_create_app_mounts_in_an_existing_aiohttp_service(
    registry: CollectorRegistry,
) -> None:
    async def business(request: web.Request) -> web.Response:
        return web.Response(text="enhanced")

    service = web.Application()
    service.router.add_get("/enhance", business)
    service.add_subapp("/ops", create_app(registry))
    runner = web.AppRunner(service)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        assert await status_of(f"http://127.0.0.1:{port}/enhance") == 200
        assert await status_of(f"http://127.0.0.1:{port}/ops/livez") == 200
        assert await status_of(f"http://127.0.0.1:{port}/ops/metrics") == 200
    finally:
        await runner.cleanup()
