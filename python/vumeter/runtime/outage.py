"""``Outage``: how a background task reports that its back end keeps failing.

Every failure is counted (in the task's failure counter), one WARNING is logged when a run
of failures starts, later failures of the same run go to DEBUG, and one INFO line says when
the task works again and how long it did not. A back end that is down for an hour gives
two lines in the log, not one per attempt.

Not thread-safe on its own: each task records from one thread, or under its own lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["Outage"]


class Outage:
    """The current run of failures of one task. ``count`` increments its failure counter."""

    def __init__(self, logger: logging.Logger, count: Callable[[], object]) -> None:
        self._log = logger
        self._count = count
        self._failures = 0
        self._since = 0.0

    @property
    def failures(self) -> int:
        """Failures since the task last succeeded."""
        return self._failures

    def failed(self, message: str, *args: object, exc_info: BaseException | None = None) -> bool:
        """Count one failure and log ``message % args`` (WARNING when the run starts,
        DEBUG afterwards); ``True`` when this failure started the run."""
        self._count()
        started = self._failures == 0
        if started:
            self._since = time.monotonic()
            self._log.warning(message, *args, exc_info=exc_info)
        else:
            self._log.debug(
                "%s (%d failures in a row)", message % args, self._failures + 1, exc_info=exc_info
            )
        self._failures += 1
        return started

    def succeeded(self, task: str) -> None:
        """The task works (again): one INFO line when that ends a run of failures."""
        if self._failures:
            self._log.info(
                "%s recovered after %d failed attempt(s) over %.1f s",
                task,
                self._failures,
                time.monotonic() - self._since,
            )
            self._failures = 0
