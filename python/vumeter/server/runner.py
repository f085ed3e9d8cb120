"""The server in a background thread, for synchronous workers: :func:`serve`.

The thread owns its own event loop, so the worker's code never has to know about asyncio.
Everything :class:`ServerHandle` offers is safe to call from any thread. The thread is a daemon:
a worker that exits without calling :meth:`ServerHandle.stop` is not kept alive by it.
:class:`ServerHandle` is a :class:`~vumeter.runtime.BackgroundWorker`; in a forked child its
copy is closed (the parent's server stays the parent's): a child that should serve calls
:func:`serve` itself, on a port of its own.

With ``install_signal_handlers=True`` (main thread only), SIGTERM and SIGINT start the drain
described in :mod:`vumeter.server.lifecycle` while the worker keeps running; once the server has
stopped, ``SystemExit(0)`` is raised in the main thread, so ``finally`` blocks and ``atexit``
hooks run and the process exits 0, as Kubernetes expects from a clean termination.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from types import FrameType, TracebackType
from typing import Any, ClassVar, Self

from prometheus_client.registry import Collector

from vumeter import REGISTRY
from vumeter.runtime import BackgroundWorker
from vumeter.server.health import HealthChecks
from vumeter.server.lifecycle import MetricsServer

__all__ = ["ServerHandle", "serve"]

logger = logging.getLogger("vumeter.server")

_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ServerHandle(BackgroundWorker):
    """Controls a server started by :func:`serve`."""

    thread_name: ClassVar[str] = "vumeter-server"

    def __init__(self, server: MetricsServer) -> None:
        super().__init__(logger=logger)
        self._server = server
        self._signals: _SignalExit | None = None
        self._new_thread_state()

    # -- information --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def checks(self) -> HealthChecks:
        return self._server.checks

    @property
    def running(self) -> bool:
        return self._listening.is_set() and not self._stopped.is_set()

    # -- control ------------------------------------------------------------------------------

    def start(self, startup_timeout: float = 10.0) -> Self:
        """Start serving in the background thread; returns once the server listens.

        Raises ``TimeoutError`` if it does not listen within ``startup_timeout`` seconds, and
        the server's own error (``OSError`` for an address in use) if it cannot start.
        """
        super().start()
        if not self._listening.wait(startup_timeout):
            raise TimeoutError(f"the vumeter server did not start within {startup_timeout:g} s")
        if self._error is not None:
            raise self._error
        return self

    def begin_shutdown(self) -> None:
        """Readiness fails from this call on; the server stops after its grace period.

        Returns at once. Call it from your own SIGTERM handler, then :meth:`wait`.
        """
        self.checks.mark_shutting_down()
        self._call_in_loop(self._server.begin_shutdown)

    def close(self, timeout: float | None = None) -> bool:
        """Fail readiness, stop listening now, let in-flight requests finish and join the
        thread, waiting at most ``timeout`` seconds (default: the server's
        ``shutdown_timeout`` plus 5 s); ``False`` if the thread had not ended by then."""
        self.checks.mark_shutting_down()
        limit = self._server.shutdown_timeout + 5.0 if timeout is None else timeout
        finished = super().close(limit)
        if self._signals is not None and threading.current_thread() is threading.main_thread():
            self._signals.restore()
        return finished

    def stop(self, timeout: float | None = None) -> None:
        """Like :meth:`close`, but raises ``TimeoutError`` if the thread has not ended after
        ``timeout`` seconds (default: the server's ``shutdown_timeout`` plus 5 s)."""
        limit = self._server.shutdown_timeout + 5.0 if timeout is None else timeout
        if not self.close(limit):
            raise TimeoutError(f"the vumeter server thread did not stop within {limit:g} s")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped; ``False`` if ``timeout`` passed first."""
        return self._stopped.wait(timeout)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _call_in_loop(self, callback: Any) -> None:
        if self._loop is None:
            return
        # RuntimeError: the loop has closed, so the server has already stopped.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback)

    def _wake(self) -> None:
        self._call_in_loop(self._server.stop_soon)

    def _new_thread_state(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._listening = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()  # cleared while the thread serves

    def _after_fork(self) -> None:
        self._new_thread_state()
        # The parent's server (its loop, its listening socket) is the parent's.
        self._closed = True

    def _run(self) -> None:
        if self._stopping.is_set():  # closed before it was started: nothing to serve
            self._listening.set()
            return
        self._stopped.clear()
        loop = asyncio.new_event_loop()
        try:
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as error:
                self._error = error
                return
            self._loop = loop
            self._listening.set()
            if self._stopping.is_set():  # close() came while the server was starting
                loop.call_soon(self._server.stop_soon)
            loop.run_until_complete(self._server.wait_closed())
        except Exception:
            logger.exception("the vumeter server thread failed")
        finally:
            self._loop = None
            _close_loop(loop)
            if self._signals is not None:
                self._signals.server_stopped()
            self._listening.set()  # wake start() if the server failed to start
            self._stopped.set()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


class _SignalExit:
    """Main-thread signal handlers: first signal drains, the drain's end exits with status 0.

    Python runs signal handlers in the main thread only, between bytecodes. When the server
    thread has finished draining, it re-sends the signal to the main thread
    (``pthread_kill``, which also interrupts a blocking ``sleep`` or ``wait``), and this handler
    then raises ``SystemExit(0)`` there.
    """

    def __init__(self, handle: ServerHandle) -> None:
        self._handle = handle
        self._signum: int | None = None
        self._exit_pending = False
        self._previous = {s: signal.signal(s, self._on_signal) for s in _HANDLED_SIGNALS}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._exit_pending:
            self.restore()
            raise SystemExit(0)
        # No logging here: the handler may have interrupted the main thread inside a write to
        # the same stream. The server thread logs when it acts on the request.
        if self._handle._stopped.is_set():
            # Stopped by stop() earlier: let the previous disposition handle this one.
            self.restore()
            signal.raise_signal(signum)
        elif self._signum is None:
            self._signum = signum
            self._handle.begin_shutdown()
        else:
            self._handle._call_in_loop(self._handle._server.stop_soon)

    def server_stopped(self) -> None:
        """Called in the server thread once it has stopped."""
        main = threading.main_thread()
        if self._signum is None or not main.is_alive() or main.ident is None:
            return
        self._exit_pending = True
        signal.pthread_kill(main.ident, self._signum)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}


def serve(
    host: str = "0.0.0.0",
    port: int = 8080,
    registry: Collector = REGISTRY,
    checks: HealthChecks | None = None,
    *,
    version: str | None = None,
    grace_period: float = 5.0,
    shutdown_timeout: float = 5.0,
    install_signal_handlers: bool = False,
    access_log: bool = False,
    startup_timeout: float = 10.0,
) -> ServerHandle:
    """Serve ``/metrics`` and the health endpoints from a background thread.

    Returns once the server is listening (``port=0`` picks a free port: read ``handle.port``).
    Raises ``OSError`` if the address cannot be bound. See :class:`MetricsServer` for the
    meaning of ``grace_period`` and ``shutdown_timeout``.
    """
    if install_signal_handlers and threading.current_thread() is not threading.main_thread():
        raise ValueError(
            "install_signal_handlers=True needs the main thread (Python delivers signals there); "
            "call serve() from it, or call handle.begin_shutdown() from your own handler"
        )
    server = MetricsServer(
        host,
        port,
        registry,
        checks,
        version=version,
        grace_period=grace_period,
        shutdown_timeout=shutdown_timeout,
        access_log=access_log,
    )
    handle = ServerHandle(server).start(startup_timeout)
    if install_signal_handlers:
        handle._signals = _SignalExit(handle)
    return handle
