"""``BackgroundWorker``: the one lifecycle of vumeter's background threads.

GPU polling (``GPUMonitor``), Pushgateway pushing (``MetricsPusher``), log shipping
(``BackgroundShipper``) and the HTTP server's thread (``ServerHandle``) all run on it, so
they start, stop and survive ``fork()`` the same way:

* ``start()`` launches the daemon thread and returns the worker. Calling it while the
  worker runs does nothing; after ``close()`` it raises ``RuntimeError`` (a closed worker
  has released what it held: create a new one).
* ``close(timeout)`` stops the thread's loop, lets it take its last step (a final push,
  shutting NVML down, delivering queued records), waits at most ``timeout`` seconds and
  returns whether the thread finished. A back end that hangs never makes it raise or wait
  longer: the thread is a daemon and is left behind, with one warning. A worker that was
  never started still takes its last step, in its own thread so that the wait stays
  bounded. A second ``close()`` waits again for the same thread. ``with worker:`` starts
  it and closes it at the end of the block.
* After ``fork()`` the child's copy is *stopped*: it has no thread (threads do not survive
  a fork) and gets fresh locks (one that another thread of the parent held at that moment
  would never be released in the child). ``start()`` starts it cleanly in the child. A
  worker whose job is the child's own output, the log shipper, sets ``restart_in_child``
  and restarts by itself when the parent's was running. A worker the parent had closed
  stays closed. (GPU polling and pushing do not restart on their own: a data-loader
  worker forked from a trainer must not poll NVML again, nor push its copy of the
  parent's registry under the parent's grouping key.)
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from types import TracebackType
from typing import ClassVar, Final, Self

from vumeter.runtime.validation import seconds

__all__ = ["BackgroundWorker"]

_log: Final = logging.getLogger("vumeter.runtime")


class BackgroundWorker:
    """Base of a worker with one daemon thread; subclasses implement :meth:`_run`.

    ``_run`` runs in the thread: it loops until :attr:`_stopping` is set (waiting on it,
    or on something :meth:`_wake` signals), then takes the worker's last step and returns.
    """

    #: The thread's name (``name=`` overrides it per worker).
    thread_name: ClassVar[str] = "vumeter-worker"
    #: Default of :meth:`close`'s ``timeout``, in seconds.
    close_timeout: ClassVar[float] = 10.0
    #: Restart the thread in a forked child when it ran in the parent (see the module doc).
    restart_in_child: ClassVar[bool] = False

    def __init__(self, *, name: str | None = None, logger: logging.Logger | None = None) -> None:
        self._thread_name = name if name is not None else self.thread_name
        self._log = logger if logger is not None else _log
        self._lifecycle = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        _live_workers.add(self)

    # -- state ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the thread runs and has not been asked to stop."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopping.is_set()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (in this process)."""
        return self._closed

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the thread; idempotent while running. Raises ``RuntimeError`` once closed."""
        with self._lifecycle:
            if self._closed:
                raise RuntimeError(
                    f"this {type(self).__name__} is closed; create a new one to start again"
                )
            if self._thread is None:
                self._thread = self._spawn()
        return self

    def close(self, timeout: float | None = None) -> bool:
        """Stop the thread after its last step, waiting at most ``timeout`` seconds
        (default :attr:`close_timeout`); ``False`` when it had not finished by then."""
        limit = self.close_timeout if timeout is None else seconds("timeout", timeout)
        with self._lifecycle:
            first = not self._closed
            self._closed = True
            self._stopping.set()
            if self._thread is None:
                self._thread = self._spawn()  # never started: it only takes its last step
            thread = self._thread
        if first:
            self._wake()
        thread.join(limit)
        if thread.is_alive():
            if first:
                self._log.warning(
                    "%s did not stop within %.1f s%s; leaving its daemon thread behind",
                    type(self).__name__,
                    limit,
                    self._stuck_reason(),
                )
            return False
        return True

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- for subclasses ---------------------------------------------------------------------

    def _run(self) -> None:
        """The thread's body (see the class docstring)."""
        raise NotImplementedError

    def _wake(self) -> None:
        """Called once by :meth:`close` after :attr:`_stopping` is set, outside the
        lifecycle lock: wake the thread if it waits on something other than that event."""

    def _stuck_reason(self) -> str:
        """Appended to the warning when the thread does not stop in time, e.g. ``": an
        NVML call is hanging"``."""
        return ""

    def _after_fork(self) -> None:
        """Reset subclass state in a forked child: fresh locks, nothing the parent owns."""

    # -- internals --------------------------------------------------------------------------

    def _spawn(self) -> threading.Thread:
        thread = threading.Thread(target=self._main, name=self._thread_name, daemon=True)
        thread.start()
        return thread

    def _main(self) -> None:
        try:
            self._run()
        except Exception:  # a bug in a worker must be seen, and must not kill the process
            self._log.exception("%s thread failed", type(self).__name__)

    def _reset_in_child(self) -> None:
        was_started = self._thread is not None
        self._lifecycle = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None
        self._after_fork()
        if self._closed:
            self._stopping.set()
        elif was_started and self.restart_in_child:
            self._thread = self._spawn()


_live_workers: weakref.WeakSet[BackgroundWorker] = weakref.WeakSet()


def _reset_workers_in_child() -> None:
    for worker in list(_live_workers):
        worker._reset_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_workers_in_child)
