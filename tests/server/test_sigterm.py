"""SIGTERM on a real worker process: readiness fails first, in-flight requests drain, exit 0."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from .conftest import StartWorker


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes]:
    async with session.get(url) as response:
        return response.status, await response.read()


@pytest.mark.parametrize("mode", ["thread", "asyncio"])
async def test_sigterm_drains_then_exits_zero(start_worker: StartWorker, mode: str) -> None:
    # Each scrape takes 2.5 s; the grace period is 0.8 s. Timeline after SIGTERM at ~0.3 s:
    # readiness 503 at once, liveness still 200; the listener closes at ~1.1 s; the scrape
    # that was in flight still completes at ~2.5 s; then the process exits 0.
    worker = start_worker("--mode", mode, "--grace", "0.8", "--slow-metrics", "2.5")
    async with aiohttp.ClientSession() as session:
        assert (await get(session, worker.url + "/readyz"))[0] == 200
        scrape = asyncio.ensure_future(get(session, worker.url + "/metrics"))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.1)

        status, body = await get(session, worker.url + "/readyz")
        assert status == 503
        assert b'"shutting down"' in body
        assert (await get(session, worker.url + "/livez"))[0] == 200
        assert time.monotonic() - began < 0.8, "the probes above ran inside the grace period"

        await asyncio.sleep(1.2 - (time.monotonic() - began))
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(session, worker.url + "/livez")  # no longer listening
        assert not scrape.done(), "the slow scrape is still in flight after the listener closed"

        status, body = await scrape
        assert status == 200
        assert b"slow_collector_done 1.0" in body

    code, stdout = await asyncio.to_thread(worker.wait_exit, 10)
    assert code == 0
    assert "worker finally ran" in stdout
    assert time.monotonic() - began < 5


async def test_second_sigterm_skips_the_rest_of_the_grace_period(
    start_worker: StartWorker,
) -> None:
    worker = start_worker("--grace", "60", "--busy-threads", "2")
    async with aiohttp.ClientSession() as session:
        assert (await get(session, worker.url + "/readyz"))[0] == 200
        worker.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        assert (await get(session, worker.url + "/readyz"))[0] == 503
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
