"""A log line per interval for events that can repeat thousands of times a second.

An exhausted file-descriptor table makes every ``accept()`` fail; a flood of idle connections
makes the server refuse or drop each one. Logging each event would write millions of lines (and
the writing itself would slow the loop that must recover). :class:`RateLimitedLog` writes the
first event of a quiet period at once, counts the rest, and writes one summary line with the
count when the interval has passed, then stays silent until the next event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from vumeter.runtime import seconds

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """``event(message)`` logs at most once per ``interval`` seconds, with a count.

    Call it from one thread (the event loop's). With ``loop``, the summary of the events
    counted after the last line is written ``interval`` seconds later even if no event
    follows; without, it waits for the next event or :meth:`flush`.
    """

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        interval: float,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = seconds("interval", interval)
        self._logger = logger
        self._level = level
        self._loop = loop
        self._clock = clock
        self._last_line = -float("inf")
        self._suppressed = 0
        self._last_message = ""
        self._timer: asyncio.TimerHandle | None = None
        #: Every event counted, logged or not.
        self.total = 0

    def event(self, message: str) -> None:
        self.total += 1
        self._last_message = message
        if self._clock() - self._last_line >= self._interval:
            self._write(message, self._suppressed + 1)
        else:
            self._suppressed += 1
            if self._loop is not None and self._timer is None:
                delay = self._last_line + self._interval - self._clock()
                self._timer = self._loop.call_later(max(delay, 0.0), self.flush)

    def flush(self) -> None:
        """Write the summary of events not logged yet, if any."""
        self._timer = None
        if self._suppressed:
            self._write(self._last_message, self._suppressed)

    def close(self) -> None:
        """Flush and cancel the pending summary timer."""
        if self._timer is not None:
            with contextlib.suppress(RuntimeError):
                self._timer.cancel()
        self.flush()

    def _write(self, message: str, count: int) -> None:
        now = self._clock()
        if count > 1:  # then a line was written before, at ``_last_line``
            message = f"{message} ({count} times in the last {now - self._last_line:.0f} s)"
        self._logger.log(self._level, "%s", message)
        self._last_line = now
        self._suppressed = 0
