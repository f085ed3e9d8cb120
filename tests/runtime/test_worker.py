"""BackgroundWorker: one lifecycle for every vumeter background thread, fork included."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from typing import ClassVar

import pytest

from vumeter.runtime import BackgroundWorker


class Ticker(BackgroundWorker):
    """Counts ticks until stopped, then takes a last step; can be made to hang in it."""

    thread_name: ClassVar[str] = "test-ticker"
    close_timeout: ClassVar[float] = 2.0

    def __init__(self, *, restart: bool = False) -> None:
        super().__init__(logger=logging.getLogger("tests.ticker"))
        self.restart_in_child = restart  # type: ignore[misc]
        self.ticks = 0
        self.last_steps = 0
        self.forks_seen = 0
        self.hang = threading.Event()
        self.hang.set()  # set: the last step does not hang

    def _run(self) -> None:
        while not self._stopping.wait(0.005):
            self.ticks += 1
        self.hang.wait()
        self.last_steps += 1

    def _stuck_reason(self) -> str:
        return ": the last step hangs"

    def _after_fork(self) -> None:
        self.forks_seen += 1


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_start_close_and_the_context_manager() -> None:
    with Ticker() as ticker:
        assert ticker.running
        assert ticker.start() is ticker  # idempotent while running
        wait_until(lambda: ticker.ticks > 2)
        assert threading.current_thread().name != "test-ticker"
    assert not ticker.running
    assert ticker.closed
    assert ticker.last_steps == 1
    assert ticker.close() is True  # idempotent
    assert ticker.last_steps == 1
    with pytest.raises(RuntimeError, match="this Ticker is closed; create a new one"):
        ticker.start()


def test_close_without_start_still_takes_the_last_step() -> None:
    ticker = Ticker()
    assert ticker.close(timeout=1) is True
    assert ticker.ticks == 0
    assert ticker.last_steps == 1


def test_close_is_bounded_when_the_last_step_hangs(caplog: pytest.LogCaptureFixture) -> None:
    ticker = Ticker().start()
    ticker.hang.clear()
    started = time.monotonic()
    assert ticker.close(timeout=0.1) is False
    assert time.monotonic() - started < 1.0
    assert "Ticker did not stop within 0.1 s: the last step hangs" in caplog.text
    assert ticker.close(timeout=0.05) is False  # still stuck; no second warning
    assert caplog.text.count("did not stop") == 1
    ticker.hang.set()
    assert ticker.close(timeout=2) is True  # it finished meanwhile
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        ticker.close(timeout=0)


def test_a_failing_thread_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(BackgroundWorker):
        def _run(self) -> None:
            raise RuntimeError("bug in the worker")

    worker = Broken().start()
    assert worker.close(timeout=2) is True
    assert "Broken thread failed" in caplog.text
    assert "bug in the worker" in caplog.text


def _fork(child: object) -> int:
    """Fork, run ``child()`` in the child (its return value is the exit status)."""
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        status = 99
        try:
            status = child()  # type: ignore[operator]
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)


@pytest.mark.parametrize("restart", [False, True])
def test_a_forked_child_gets_a_stopped_worker_that_starts_cleanly(restart: bool) -> None:
    ticker = Ticker(restart=restart).start()
    wait_until(lambda: ticker.ticks > 0)
    # The parent's lifecycle lock is held across the fork: a child that kept it would hang.
    held = ticker._lifecycle
    held.acquire()

    def child() -> int:
        if ticker.forks_seen != 1 or ticker.closed:
            return 2
        if ticker.running is not restart:  # restarts by itself only when asked to
            return 3
        ticker.start()  # the fresh lock: does not hang
        before = ticker.ticks
        wait_until(lambda: ticker.ticks > before)
        return 0 if ticker.close(timeout=2) and ticker.last_steps == 1 else 4

    try:
        assert _fork(child) == 0
    finally:
        held.release()
    assert ticker.running  # the parent's thread is untouched
    assert ticker.close() is True


def test_a_worker_closed_before_the_fork_stays_closed_in_the_child() -> None:
    ticker = Ticker(restart=True).start()
    ticker.close()

    def child() -> int:
        if ticker.running or not ticker.closed:
            return 2
        try:
            ticker.start()
        except RuntimeError:
            return 0
        return 3

    assert _fork(child) == 0
