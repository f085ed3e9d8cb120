"""Checks that block: a multiprocessing.Event whose lock is held, an async def that blocks its
loop. /livez must keep answering and every check's timeout must hold."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.synchronize
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import pytest

from vumeter.server import HealthChecks
from vumeter.server.checks import models_loaded_check

from .conftest import StartServer

# Far above what /livez takes on a loaded two-core machine (a few ms), far below the time the
# blocking calls below take: a /livez slower than this waited for the blocked call.
LIVEZ_BOUND_S = 2.0
BLOCK_S = 6.0


@pytest.fixture
def held_event() -> Iterator[multiprocessing.synchronize.Event]:
    """A multiprocessing.Event whose internal lock is held, as while another process holds it
    (its is_set() waits for that lock). Released after BLOCK_S at the latest."""
    event = multiprocessing.Event()
    lock = event._cond  # type: ignore[attr-defined]  # the cross-process lock is_set() takes
    lock.acquire()
    guard = threading.Lock()
    held = [True]

    def release() -> None:
        with guard:
            if held[0]:
                held[0] = False
                lock.release()

    timer = threading.Timer(BLOCK_S, release)
    timer.start()
    yield event
    timer.cancel()
    release()


async def livez_latencies(url: str, until: asyncio.Future[object]) -> list[float]:
    """Probe /livez one request at a time (new connection each, like the kubelet) until
    ``until`` is done; every probe must answer 200."""
    latencies: list[float] = []
    while not until.done() or not latencies:
        began = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + "/livez", timeout=aiohttp.ClientTimeout(total=BLOCK_S * 2)) as reply,
        ):
            assert reply.status == 200
        latencies.append(time.monotonic() - began)
        await asyncio.sleep(0.05)
    return latencies


async def readyz_while_probing(url: str) -> tuple[float, dict[str, object], list[float]]:
    """GET /readyz while probing /livez; its duration and body, and the /livez latencies."""
    async with aiohttp.ClientSession() as session:
        began = time.monotonic()
        readiness = asyncio.ensure_future(session.get(url + "/readyz"))
        latencies = await livez_latencies(url, readiness)
        async with await readiness as response:
            assert response.status == 503
            body = await response.json()
        return time.monotonic() - began, body, latencies


def report(what: str, latencies: list[float]) -> None:
    print(
        f"\n{what}: /livez over {len(latencies)} probes: median "
        f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )


async def test_a_multiprocessing_event_whose_lock_is_held_neither_blocks_the_loop_nor_the_timeout(
    start_server: StartServer, held_event: multiprocessing.synchronize.Event
) -> None:
    checks = HealthChecks()
    checks.add("models", models_loaded_check(held_event), timeout=0.5)
    checks.mark_started()
    handle = start_server(checks=checks)

    took, body, latencies = await readyz_while_probing(handle.url)

    report("models_loaded_check(multiprocessing.Event) blocked", latencies)
    assert max(latencies) < LIVEZ_BOUND_S
    assert body["checks"]["models"]["message"] == "timed out after 0.5 s"  # type: ignore[index]
    assert took < BLOCK_S / 2, "the check's timeout fired, not the lock's release"


async def test_an_async_check_that_blocks_its_loop_times_out_and_livez_answers(
    start_server: StartServer,
) -> None:
    calls = []

    async def blocks() -> bool:  # the user's bug: a blocking call inside async def
        calls.append(1)
        time.sleep(BLOCK_S)
        return True

    checks = HealthChecks(default_ttl=0)
    checks.add("blocks", blocks, timeout=0.5)
    checks.mark_started()
    handle = start_server(checks=checks)

    took, body, latencies = await readyz_while_probing(handle.url)

    report("async def check blocking its loop", latencies)
    assert max(latencies) < LIVEZ_BOUND_S
    assert body["checks"]["blocks"]["message"] == "timed out after 0.5 s"  # type: ignore[index]
    assert took < BLOCK_S / 2
    # Still blocked: the next probe says so instead of queueing another run behind it.
    async with aiohttp.ClientSession() as session, session.get(handle.url + "/readyz") as reply:
        body = await reply.json()
    assert body["checks"]["blocks"]["message"].startswith("previous run has not returned")
    assert calls == [1]


async def test_a_blocked_async_check_does_not_stall_the_others() -> None:
    async def blocks() -> bool:
        time.sleep(BLOCK_S)
        return True

    async def fine() -> bool:
        await asyncio.sleep(0)
        return True

    checks = HealthChecks(default_ttl=0)
    checks.add("blocks", blocks, timeout=0.5)
    checks.add("fine", fine, timeout=0.5)
    checks.mark_started()
    report = await checks.readiness()
    results = {result.name: result for result in report.results}
    assert results["blocks"].message == "timed out after 0.5 s"
    assert results["fine"].ok, results["fine"].message


async def test_an_async_check_runs_on_the_loop_it_is_given() -> None:
    service_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=service_loop.run_forever, daemon=True)
    thread.start()
    try:
        # A client bound to the service's loop, as an asyncpg pool or aiohttp session would be.
        connected = asyncio.run_coroutine_threadsafe(_make_event(), service_loop).result(5)
        ran_on = []

        async def ping() -> bool:
            ran_on.append(asyncio.get_running_loop())
            await asyncio.wait_for(connected.wait(), 1)
            return True

        checks = HealthChecks()
        checks.add("db", ping, loop=service_loop)
        result = await checks.run_check("db")
        assert result.ok, result.message
        assert ran_on == [service_loop]

        serving = asyncio.get_running_loop()
        checks.add("on-serving-loop", lambda_async(ran_on), loop=serving)
        assert (await checks.run_check("on-serving-loop")).ok
        assert ran_on[-1] is serving
        with pytest.raises(TypeError, match="loop must be an asyncio event loop"):
            checks.add("bad", ping, loop="main")  # type: ignore[arg-type]
    finally:
        service_loop.call_soon_threadsafe(service_loop.stop)
        thread.join(5)
        service_loop.close()


async def _make_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


def lambda_async(ran_on: list[asyncio.AbstractEventLoop]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        ran_on.append(asyncio.get_running_loop())
        return True

    return check
