"""Listening, draining and stopping the server inside an asyncio event loop.

Shutdown follows the Kubernetes sequence. :meth:`MetricsServer.begin_shutdown` (or SIGTERM,
once :meth:`MetricsServer.install_signal_handlers` is called) turns readiness to 503 at once but
keeps answering every endpoint for ``grace_period`` seconds, so endpoints controllers and load
balancers notice and move traffic away, and Prometheus gets its last scrape. Then the listener
closes, idle keep-alive connections are closed, and requests still in flight get up to
``shutdown_timeout`` seconds to finish before they are cancelled. A second signal during the
grace period skips the rest of it.

For synchronous workers, :func:`vumeter.server.serve` runs a :class:`MetricsServer` in a
background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client.registry import Collector

from vumeter import REGISTRY
from vumeter.runtime import seconds
from vumeter.server.app import CHECKS_KEY, create_app
from vumeter.server.health import HealthChecks

__all__ = ["MetricsServer", "format_url"]

logger = logging.getLogger("vumeter.server")


def format_url(host: str, port: int) -> str:
    """A URL a client on this machine can use; wildcard binds are reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _ClientErrorLogger(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's request logger, with malformed requests demoted from ERROR to one INFO line.

    aiohttp logs an oversized header or a broken request line as an exception with a traceback.
    That is the client's mistake, not the worker's, and must not page anyone or fill the log.
    """

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, HttpProcessingError):
            self.info("%s: %s", str(msg) % args, error.message)
        else:
            super().exception(msg, *args, **kwargs)


class MetricsServer:
    """The metrics and health server on ``host:port`` in the running event loop.

    ``port=0`` picks a free port; read the bound one from :attr:`port` after :meth:`start`.
    """

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = 8080,
        registry: Collector = REGISTRY,
        checks: HealthChecks | None = None,
        *,
        version: str | None = None,
        grace_period: float = 5.0,
        shutdown_timeout: float = 5.0,
        access_log: bool = False,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int between 0 and 65535, got {port!r}")
        self.host = host
        self._requested_port = port
        self.grace_period = seconds("grace_period", grace_period, allow_zero=True)
        self.shutdown_timeout = seconds("shutdown_timeout", shutdown_timeout, allow_zero=True)
        self.app = create_app(registry, checks, version=version)
        # access_log=None switches aiohttp's per-request logging off: probes every few seconds
        # and scrapes every 15 s would otherwise drown the worker's own log lines.
        self._runner = web.AppRunner(
            self.app,
            access_log=logging.getLogger("aiohttp.access") if access_log else None,
            shutdown_timeout=self.shutdown_timeout,
            logger=_ClientErrorLogger(logging.getLogger("aiohttp.server")),
        )
        self._port: int | None = None
        self._closed: asyncio.Event | None = None
        self._skip_grace: asyncio.Event | None = None
        self._drain: asyncio.Task[None] | None = None
        self._signals: tuple[signal.Signals, ...] = ()

    @property
    def checks(self) -> HealthChecks:
        return self.app[CHECKS_KEY]

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not listening yet; await start() first")
        return self._port

    @property
    def url(self) -> str:
        return format_url(self.host, self.port)

    async def start(self) -> None:
        """Bind and start answering. Raises ``OSError`` naming the address if binding fails."""
        if self._closed is not None:
            raise RuntimeError("this MetricsServer was already started; create a new one")
        self._closed, self._skip_grace = asyncio.Event(), asyncio.Event()
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self._closed.set()
            raise OSError(
                error.errno,
                f"cannot listen on {self.host}:{self._requested_port}: {error.strerror or error}",
            ) from error
        self._port = int(self._runner.addresses[0][1])
        logger.info("serving metrics and health on %s", self.url)

    def begin_shutdown(self) -> None:
        """Fail readiness now; stop listening after the grace period. Call from the loop."""
        if self._closed is None:
            raise RuntimeError("the server was never started")
        self.checks.mark_shutting_down()
        if self._drain is None:
            logger.info(
                "draining: readiness fails, serving for %.1f s more, then stopping",
                self.grace_period,
            )
            self._drain = asyncio.get_running_loop().create_task(self._drain_then_close())

    def stop_soon(self) -> None:
        """Like :meth:`begin_shutdown`, but skip the grace period (in-flight requests finish)."""
        self.begin_shutdown()
        assert self._skip_grace is not None
        self._skip_grace.set()

    async def stop(self) -> None:
        """Fail readiness, stop listening now, let in-flight requests finish, and return."""
        if self._closed is None or self._closed.is_set():
            return
        self.stop_soon()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Return once the server has stopped (after a signal, begin_shutdown or stop)."""
        if self._closed is None:
            raise RuntimeError("the server was never started")
        await self._closed.wait()

    def install_signal_handlers(
        self, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        """Drain on ``signals`` (default SIGTERM and SIGINT); a second one skips the grace."""
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.add_signal_handler(signum, self._on_signal, signum)
        self._signals = signals

    def _on_signal(self, signum: signal.Signals) -> None:
        if self.checks.shutting_down and self._drain is not None:
            logger.info("%s again: skipping the rest of the grace period", signum.name)
            self.stop_soon()
        else:
            logger.info("%s received", signum.name)
            self.begin_shutdown()

    async def _drain_then_close(self) -> None:
        assert self._skip_grace is not None
        assert self._closed is not None
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._skip_grace.wait(), self.grace_period)
            # Stops listening, closes idle keep-alive connections, waits up to shutdown_timeout
            # for in-flight handlers, then runs the app's cleanup (render thread pool).
            await self._runner.cleanup()
        finally:
            loop = asyncio.get_running_loop()
            for signum in self._signals:
                loop.remove_signal_handler(signum)
            self._closed.set()
            logger.info("server stopped")

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
