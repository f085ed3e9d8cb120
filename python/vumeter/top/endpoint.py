"""One polled ``/metrics`` endpoint: its readings, its health, and the thread that polls it.

Each endpoint is polled by its own daemon thread (:class:`Poller`), so a slow or hanging
worker delays nobody else's numbers. A failed poll is kept as the endpoint's state (shown
as unreachable, with the reason) and retried at the next interval; the readings gathered
before the failure stay, and counting resumes where it left off (a restarted worker is a
counter reset, corrected as such).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vumeter.top.reading import Reader, Reading
from vumeter.top.scrape import Readiness, ScrapeError, fetch_metrics, fetch_readiness
from vumeter.top.window import History, Increase

__all__ = ["Endpoint", "EndpointState", "Poller"]


@dataclass(frozen=True, slots=True)
class EndpointState:
    """What the view shows of one endpoint, taken at one moment (immutable)."""

    url: str
    #: True after a successful poll, False after a failed one, None before the first.
    up: bool | None
    error: str | None
    readiness: Readiness | None
    #: ``time.monotonic()`` of the last successful poll.
    last_success: float | None
    #: Seconds the last successful poll took (request, transfer, parse).
    scrape_seconds: float | None
    newest: Reading | None
    last_step: Increase | None
    over_window: Increase | None
    since_start: Increase | None


class Endpoint:
    """The state of one endpoint; :meth:`poll` may run in any thread."""

    def __init__(self, url: str, *, window: float, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._reader = Reader()
        self._history = History(window)
        self._lock = threading.Lock()
        self._up: bool | None = None
        self._error: str | None = None
        self._readiness: Readiness | None = None
        self._last_success: float | None = None
        self._scrape_seconds: float | None = None

    def poll(self) -> None:
        """Fetch ``/metrics`` and ``/readyz`` once and record what came back."""
        try:
            scrape = fetch_metrics(self.url, self.timeout)
        except ScrapeError as error:
            self.record_failure(str(error))
            return
        readiness = fetch_readiness(self.url, self.timeout)
        with self._lock:
            # The reader's reset correction depends on the order of polls: one at a time.
            try:
                reading = self._reader.read(scrape.families, scrape.received)
            except ValueError as error:  # e.g. a native histogram whose spans and deltas disagree
                self._up, self._error, self._readiness = False, f"unreadable samples: {error}", None
                return
            self._history.add(reading)
            self._up, self._error = True, None
            self._readiness = readiness
            self._last_success = scrape.received
            self._scrape_seconds = scrape.duration

    def record_failure(self, reason: str) -> None:
        """Show this poll as failed, for ``reason``; earlier readings stay."""
        with self._lock:
            self._up, self._error, self._readiness = False, reason, None

    def state(self) -> EndpointState:
        with self._lock:
            history = self._history
            return EndpointState(
                url=self.url,
                up=self._up,
                error=self._error,
                readiness=self._readiness,
                last_success=self._last_success,
                scrape_seconds=self._scrape_seconds,
                newest=history.newest,
                last_step=history.last_step(),
                over_window=history.over_window(),
                since_start=history.since_start(),
            )


class Poller:
    """Polls every endpoint every ``interval`` seconds, each in its own daemon thread, and
    calls ``on_poll`` (from that thread) after each poll."""

    def __init__(
        self, endpoints: Sequence[Endpoint], interval: float, on_poll: Callable[[], None]
    ) -> None:
        self._endpoints = endpoints
        self._interval = interval
        self._on_poll = on_poll
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number, endpoint in enumerate(self._endpoints):
            thread = threading.Thread(
                target=self._run, args=(endpoint,), name=f"vumeter-top-poll-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, endpoint: Endpoint) -> None:
        next_poll = time.monotonic()
        while not self._stop.is_set():
            try:
                endpoint.poll()
            except Exception as error:  # a bug must not stop the polling of this endpoint
                endpoint.record_failure(f"internal error: {error!r}")
            self._on_poll()
            next_poll += self._interval
            # After a poll that overran the interval, the next one starts at once, and the
            # schedule moves on instead of firing the missed polls in a burst.
            next_poll = max(next_poll, time.monotonic())
            self._stop.wait(next_poll - time.monotonic())

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the threads to stop; a poll in flight is abandoned after ``timeout``
        (the threads are daemons, so they never hold the process up)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
