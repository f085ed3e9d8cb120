"""HealthChecks: checks that pass, fail, raise or hang; timeouts, caching, concurrency."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time

import aiohttp
import pytest

from vumeter.server import CheckOutcome, HealthChecks

from .conftest import StartServer


def started_checks(**options: float) -> HealthChecks:
    checks = HealthChecks(**options)
    checks.mark_started()
    return checks


async def test_no_check_code_runs_on_the_serving_loop() -> None:
    seen: dict[str, threading.Thread] = {}
    loops: list[asyncio.AbstractEventLoop] = []

    def sync_check() -> bool:
        seen["sync"] = threading.current_thread()
        return True

    async def async_check() -> bool:
        seen["async"] = threading.current_thread()
        loops.append(asyncio.get_running_loop())
        return True

    checks = started_checks(default_ttl=0)
    checks.add("sync", sync_check)
    checks.add("async", async_check)
    for _ in range(2):
        report = await checks.readiness()
        assert report.ok, report.message
    assert seen["async"] is not threading.current_thread()
    assert seen["sync"] is not threading.current_thread()
    assert seen["sync"].daemon, "a hung check must not keep the process from exiting"
    assert seen["async"].daemon
    # The same loop every run, so a check may keep loop-bound clients between runs.
    assert loops[0] is loops[1] is not asyncio.get_running_loop()


@pytest.mark.parametrize(
    ("value", "ok", "message"),
    [
        (True, True, ""),
        (None, True, ""),
        (CheckOutcome(True, "fine"), True, "fine"),
        (False, False, "check returned False"),
        (CheckOutcome(False, "queue full"), False, "queue full"),
        (42, False, "raised TypeError: check returned int; expected bool, None or"),
    ],
)
async def test_return_values(value: object, ok: bool, message: str) -> None:
    checks = started_checks()
    checks.add("check", lambda: value)
    result = await checks.run_check("check")
    assert result.ok is ok
    assert result.message.startswith(message)


async def test_a_raising_check_fails_with_its_reason() -> None:
    def broken() -> bool:
        raise ConnectionRefusedError("db:5432 refused the connection")

    checks = started_checks()
    checks.add("db", broken)
    report = await checks.readiness()
    assert not report.ok
    assert report.message == "not ready: failing checks: db"
    (result,) = report.results
    assert result.message == "raised ConnectionRefusedError: db:5432 refused the connection"


async def test_hanging_async_check_times_out() -> None:
    async def hangs() -> bool:
        await asyncio.sleep(60)
        return True

    checks = started_checks()
    checks.add("hangs", hangs, timeout=0.2)
    began = time.monotonic()
    result = await checks.run_check("hangs")
    assert time.monotonic() - began < 2
    assert not result.ok
    assert result.message == "timed out after 0.2 s"
    assert result.duration_seconds >= 0.2


async def test_hung_sync_check_is_not_started_again_until_it_returns() -> None:
    release = threading.Event()
    calls = []

    def hangs() -> bool:
        calls.append(1)
        release.wait(30)
        return True

    checks = started_checks(default_ttl=0)
    checks.add("nvml", hangs, timeout=0.2)
    try:
        first = await checks.run_check("nvml")
        assert first.message == "timed out after 0.2 s"
        second = await checks.run_check("nvml")
        assert not second.ok
        assert second.message.startswith("previous run has not returned after")
        assert len(calls) == 1, "a hung check costs one thread, not one per probe"
    finally:
        release.set()
    deadline = time.monotonic() + 10  # the stuck thread returns; the next probe runs it again
    while not (result := await checks.run_check("nvml")).ok:
        assert time.monotonic() < deadline, result.message
        await asyncio.sleep(0.02)
    assert len(calls) == 2


async def test_results_are_cached_for_their_ttl() -> None:
    calls = []
    checks = started_checks()
    checks.add("counted", lambda: calls.append(1), ttl=0.5)
    first = await checks.run_check("counted")
    ran = time.monotonic()
    second = await checks.run_check("counted")
    assert (first.cached, second.cached) == (False, True)
    assert second.checked_at == first.checked_at
    assert len(calls) == 1
    deadline = time.monotonic() + 10
    while (third := await checks.run_check("counted")).cached:
        assert time.monotonic() < deadline, "the cached result never expired"
        await asyncio.sleep(0.02)
    assert time.monotonic() - ran >= 0.5, "not run again before its TTL ran out"
    assert third.checked_at > first.checked_at
    assert len(calls) == 2


async def test_concurrent_probes_share_one_run() -> None:
    calls = []

    async def slow() -> bool:
        calls.append(1)
        await asyncio.sleep(0.1)
        return True

    checks = started_checks(default_ttl=0)
    checks.add("slow", slow)
    reports = await asyncio.gather(*(checks.readiness() for _ in range(20)))
    assert all(report.ok for report in reports)
    assert len(calls) == 1


async def test_checks_run_concurrently() -> None:
    # Each check waits until all six are running at once: run one after another, the first
    # would wait for the others until its timeout.
    together = threading.Barrier(6)

    async def waits_async() -> bool:
        await asyncio.to_thread(together.wait, 5)
        return True

    def waits_sync() -> bool:
        together.wait(5)
        return True

    checks = started_checks(default_timeout=10)
    for index in range(3):
        checks.add(f"async-{index}", waits_async)
        checks.add(f"sync-{index}", waits_sync)
    report = await checks.readiness()
    assert report.ok, report.message
    assert len(report.results) == 6


async def test_shutting_down_fails_readiness_without_running_checks() -> None:
    calls = []
    checks = started_checks()
    checks.add("counted", lambda: calls.append(1))
    checks.mark_shutting_down()
    report = await checks.readiness()
    assert (report.ok, report.message, report.results) == (False, "shutting down", ())
    assert calls == []


async def test_failures_and_recoveries_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    healthy = threading.Event()
    checks = started_checks(default_ttl=0)
    checks.add("db", lambda: CheckOutcome(healthy.is_set(), "state"))
    with caplog.at_level(logging.INFO, logger="vumeter.server"):
        for _ in range(3):
            await checks.readiness()
        healthy.set()
        for _ in range(3):
            await checks.readiness()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert re.fullmatch(r"readiness check 'db' failing \[error [0-9a-f]{8}\]: state", messages[0])
    assert messages[1] == "readiness check 'db' passing again"


def test_registration_errors_say_what_was_expected() -> None:
    checks = HealthChecks()
    checks.add("disk", lambda: True)
    with pytest.raises(ValueError, match="already registered"):
        checks.add("disk", lambda: True)
    with pytest.raises(TypeError, match="must be a callable"):
        checks.add("db", "SELECT 1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        checks.add(" ", lambda: True)
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        checks.add("db", lambda: True, timeout=0)
    with pytest.raises(ValueError, match="ttl must be a finite number"):
        checks.add("db", lambda: True, ttl=float("nan"))
    with pytest.raises(ValueError, match="default_ttl"):
        HealthChecks(default_ttl=-1)
    with pytest.raises(KeyError, match="no check named 'gpu'"):
        checks.remove("gpu")
    assert checks.names == ("disk",)
    checks.remove("disk")
    assert not checks.names


async def test_liveness_answers_while_a_sync_check_hangs(start_server: StartServer) -> None:
    release, entered = threading.Event(), threading.Event()

    def hangs() -> bool:
        entered.set()
        return release.wait(30)

    checks = started_checks()
    checks.add("hangs", hangs, timeout=3)
    handle = start_server(checks=checks)
    try:
        async with aiohttp.ClientSession() as session:
            readiness = asyncio.ensure_future(session.get(handle.url + "/readyz"))
            assert await asyncio.to_thread(entered.wait, 10), "the check never started"
            began = time.monotonic()
            async with session.get(handle.url + "/livez") as response:
                assert response.status == 200
            assert time.monotonic() - began < 1.0
            assert not readiness.done()
            async with await readiness as response:
                assert response.status == 503
                body = await response.json()
            assert body["checks"]["hangs"]["message"] == "timed out after 3 s"
    finally:
        release.set()


async def test_a_check_calling_sys_exit_fails_without_stopping_the_server(
    start_server: StartServer,
) -> None:
    def exits() -> None:
        raise SystemExit(3)

    checks = started_checks()
    checks.add("exits", exits)
    handle = start_server(checks=checks)
    async with aiohttp.ClientSession() as session:
        async with session.get(handle.url + "/readyz") as response:
            assert response.status == 503
            body = await response.json()
        error_id = body["checks"]["exits"]["error_id"]
        assert body["checks"]["exits"]["message"] == (
            f"raised RuntimeError (error id {error_id}; details in the server log)"
        )
        async with session.get(handle.url + "/livez") as response:
            assert response.status == 200
