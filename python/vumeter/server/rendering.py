"""Rendering ``/metrics`` off the event loop, bounded in time and in threads.

A custom collector can hang (a sensor read that never returns, a lock it never gets). A thread
cannot be killed, so the server cannot take the hung one back; what it can do:

* **bound each scrape**: Prometheus says how long it waits
  (``X-Prometheus-Scrape-Timeout-Seconds``); the render gets that, less a margin for the
  response to travel, and never more than the server's own ``scrape_timeout``. Past it the
  scrape is answered with a 503 whose body says what happened, instead of hanging.
* **bound the threads**: each render runs in a daemon thread (a hung one cannot keep the
  process from exiting); at most ``threads`` render at once, and a render that outlives its
  timeout counts as *stuck* until it returns. While ``max_stuck`` are stuck, scrapes are
  refused at once (503) and start no thread, so a hung collector costs ``max_stuck`` threads,
  not one per scrape. ``/readyz`` and ``vumeter_server_renders_stuck`` report it; the log has
  where each stuck thread hangs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from vumeter.server.errors import new_error_id
from vumeter.server.offloop import start_in_thread
from vumeter.server.ratelog import RateLimitedLog
from vumeter.server.self_metrics import ServerStats

__all__ = ["RenderPool", "RenderRefused", "RenderTimedOut", "render_timeout"]

logger = logging.getLogger("vumeter.server")

SCRAPE_TIMEOUT_HEADER: Final = "X-Prometheus-Scrape-Timeout-Seconds"
_STACK_FRAMES: Final = 12


def render_timeout(header: str | None, default: float) -> float:
    """Seconds a render may take: what the scraper waits (``header``), less a margin so the
    answer arrives before it gives up (10%, at most 0.5 s), capped at ``default``."""
    try:
        asked = float(header) if header is not None else math.nan
    except ValueError:
        return default
    if not math.isfinite(asked) or asked <= 0:
        return default
    return min(default, asked - min(0.5, asked * 0.1))


class RenderTimedOut(Exception):
    """The render did not finish within its timeout (it goes on in its thread)."""

    def __init__(self, timeout: float, error_id: str) -> None:
        super().__init__(f"rendering did not finish within {timeout:.3g} s")
        self.timeout = timeout
        self.error_id = error_id


class RenderRefused(Exception):
    """Too many earlier renders are stuck: no new one is started."""

    def __init__(self, stuck: int, oldest_error_id: str | None) -> None:
        super().__init__(f"{stuck} earlier render(s) have not finished")
        self.stuck = stuck
        self.oldest_error_id = oldest_error_id


@dataclass(eq=False)
class _Render:
    """One render; ``done`` and ``error_id`` are guarded by ``RenderPool._lock``."""

    since: float  # time.monotonic() the render started
    done: bool = False
    #: Set when the render timed out (it is stuck until ``done``).
    error_id: str = ""


class RenderPool:
    """Runs renders in daemon threads, at most ``threads`` at once, each with a timeout."""

    def __init__(self, threads: int, max_stuck: int, stats: ServerStats) -> None:
        self.threads = threads
        self.max_stuck = max_stuck
        self._stats = stats
        self._lock = threading.Lock()
        self._stuck: set[_Render] = set()
        self._slots: asyncio.Semaphore | None = None
        self._refusals: RateLimitedLog | None = None

    @property
    def stuck(self) -> int:
        with self._lock:
            return len(self._stuck)

    def describe_stuck(self) -> str | None:
        """For ``/readyz``: ``None`` while no render is stuck."""
        with self._lock:
            if not self._stuck:
                return None
            count = len(self._stuck)
            oldest = min(self._stuck, key=lambda render: render.since)
        age = time.monotonic() - oldest.since
        state = "scrapes are refused" if count >= self.max_stuck else "scrapes still served"
        return (
            f"{count} render(s) of /metrics stuck (limit {self.max_stuck}), the oldest for "
            f"{age:.0f} s (error id {oldest.error_id}); {state}"
        )

    @property
    def refusing(self) -> bool:
        return self.stuck >= self.max_stuck

    async def render(self, function: Callable[[], Any], timeout: float) -> Any:
        """``function()`` in a thread, or :class:`RenderTimedOut` / :class:`RenderRefused`."""
        if self._slots is None:
            # Created on first use so that it belongs to the loop serving the app.
            self._slots = asyncio.Semaphore(self.threads)
            self._refusals = RateLimitedLog(
                logger, logging.WARNING, 60.0, loop=asyncio.get_running_loop()
            )
        self._refuse_if_stuck()
        began = time.monotonic()
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except TimeoutError:
            raise self._timed_out(timeout, began, None) from None
        try:
            self._refuse_if_stuck()  # more may have got stuck while this one waited
            render = _Render(began)
            future, thread = start_in_thread(
                function, "vumeter-render", lambda: self._finished(render)
            )
            remaining = max(timeout - (time.monotonic() - began), 0.0)
            try:
                return await asyncio.wait_for(future, remaining)
            except TimeoutError:
                raise self._timed_out(timeout, began, (render, thread)) from None
        finally:
            self._slots.release()

    def _refuse_if_stuck(self) -> None:
        with self._lock:
            count = len(self._stuck)
            if count < self.max_stuck:
                return
            oldest = min(self._stuck, key=lambda render: render.since)
        self._stats.scrapes_refused += 1
        assert self._refusals is not None
        self._refusals.event(
            f"scrape refused: {count} render(s) of /metrics are stuck (limit {self.max_stuck}; "
            f"the oldest is error id {oldest.error_id})"
        )
        raise RenderRefused(count, oldest.error_id)

    def _timed_out(
        self,
        timeout: float,
        began: float,
        running: tuple[_Render, threading.Thread] | None,
    ) -> RenderTimedOut:
        error_id = new_error_id()
        self._stats.scrape_timeouts += 1
        if running is None:
            logger.warning(
                "scrape timed out after %.3g s [error %s] waiting for a render thread "
                "(%d render(s) at once)",
                timeout,
                error_id,
                self.threads,
            )
            return RenderTimedOut(timeout, error_id)
        render, thread = running
        with self._lock:
            if not render.done:  # it may have returned just now
                render.error_id = error_id
                self._stuck.add(render)
                self._stats.renders_stuck = len(self._stuck)
            count = len(self._stuck)
        logger.warning(
            "scrape timed out after %.3g s [error %s]: a collector is slow or hung; its thread "
            "goes on (%d stuck, at %d new scrapes are refused) in:\n%s",
            timeout,
            error_id,
            count,
            self.max_stuck,
            _stack_of(thread),
        )
        return RenderTimedOut(timeout, error_id)

    def _finished(self, render: _Render) -> None:
        with self._lock:
            render.done = True
            was_stuck = render in self._stuck
            self._stuck.discard(render)
            self._stats.renders_stuck = len(self._stuck)
        if was_stuck:
            logger.info(
                "a render that timed out [error %s] finished after %.1f s",
                render.error_id,
                time.monotonic() - render.since,
            )


def _stack_of(thread: threading.Thread) -> str:
    frame = sys._current_frames().get(thread.ident) if thread.ident is not None else None
    if frame is None:
        return "  (the thread has just finished)"
    return "".join(traceback.format_stack(frame, limit=_STACK_FRAMES)).rstrip()
