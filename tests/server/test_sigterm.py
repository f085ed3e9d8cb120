"""SIGTERM on a real worker process: readiness fails first, in-flight requests drain, exit 0."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import aiohttp
import pytest

from .conftest import StartWorker


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with session.get(url) as response:
        return response.status, await response.read()


async def poll(
    session: aiohttp.ClientSession, url: str, until: Callable[[int], bool], timeout: float
) -> int:
    """Poll ``url`` until its status satisfies ``until``; ``-1`` once nothing listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            code = (await get(session, url))[0]
        except aiohttp.ClientConnectionError:
            code = -1
        if until(code):
            return code
        assert time.monotonic() < deadline, f"{url} still answered {code} after {timeout} s"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("mode", ["thread", "asyncio"])
async def test_sigterm_drains_then_exits_zero(start_worker: StartWorker, mode: str) -> None:
    # Each scrape takes 6 s; the grace period is 3 s (room for the probes below on a loaded
    # machine). After SIGTERM, sent while a scrape is in flight: readiness 503 at once,
    # liveness still 200; the listener closes at ~3 s; the scrape that was in flight still
    # completes at ~6 s; then the process exits 0.
    grace = 3.0
    worker = start_worker("--mode", mode, "--grace", str(grace), "--slow-metrics", "6")
    async with aiohttp.ClientSession() as session:
        assert (await get(session, worker.url + "/readyz"))[0] == 200
        scrape = asyncio.ensure_future(get(session, worker.url + "/metrics"))
        assert await asyncio.to_thread(worker.read_line, 10) == {"collecting": True}
        began = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)

        status = await poll(session, worker.url + "/readyz", lambda code: code != 200, grace)
        assert status == 503
        _, body = await get(session, worker.url + "/readyz")
        assert b'"shutting down"' in body
        assert (await get(session, worker.url + "/livez"))[0] == 200
        assert time.monotonic() - began < grace, "the probes above ran inside the grace period"

        await poll(session, worker.url + "/livez", lambda code: code == -1, grace + 2)
        assert not scrape.done(), "the slow scrape is still in flight after the listener closed"

        status, body = await scrape
        assert status == 200
        assert b"slow_collector_done 1.0" in body

    code, stdout = await asyncio.to_thread(worker.wait_exit, 10)
    assert code == 0
    assert "worker finally ran" in stdout
    assert time.monotonic() - began < 10, "exits once the in-flight scrape (6 s) is done"


async def test_second_sigterm_skips_the_rest_of_the_grace_period(
    start_worker: StartWorker,
) -> None:
    worker = start_worker("--grace", "60", "--busy-threads", "2")
    async with aiohttp.ClientSession() as session:
        assert (await get(session, worker.url + "/readyz"))[0] == 200
        worker.process.send_signal(signal.SIGTERM)
        await poll(session, worker.url + "/readyz", lambda code: code == 503, 10)
    began = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    code, stdout = await asyncio.to_thread(worker.wait_exit, 15)
    assert code == 0
    assert "worker finally ran" in stdout
    assert time.monotonic() - began < 5


async def test_sigterm_exits_zero_while_threads_hold_the_gil(start_worker: StartWorker) -> None:
    worker = start_worker("--grace", "0.3", "--busy-threads", "3")
    async with aiohttp.ClientSession() as session:
        assert (await get(session, worker.url + "/metrics"))[0] == 200
    began = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    code, stdout = await asyncio.to_thread(worker.wait_exit, 15)
    assert code == 0
    assert "worker finally ran" in stdout
    assert time.monotonic() - began < 5
