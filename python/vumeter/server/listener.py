"""The listening socket, with an accept loop that survives running out of file descriptors.

``loop.create_server`` handles a failed ``accept()`` (``EMFILE``: the process is out of file
descriptors) by logging it with a traceback, pausing for a second, and *going on with the same
accept loop*: up to ``backlog`` failures, log entries and scheduled restarts per wake-up, which
compound (a CPython bug: the accept loop does not stop after the failure). Measured with 300
idle clients against a 256-descriptor limit: 110,000 log lines in 7 s, and ``/livez`` timing
out. :class:`GuardedSite` accepts itself: on
a failed ``accept()`` it stops, counts the error, logs it once per ``error_log_interval`` (with
the count), and tries again after :data:`ACCEPT_PAUSE_S`. Every accepted connection goes
through the :class:`~vumeter.server.connections.ConnectionGuard`, whose cap keeps the server
from exhausting the descriptors itself.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
from typing import Any, Final

from aiohttp import web

from vumeter.server.connections import ConnectionGuard, GuardedConnection
from vumeter.server.ratelog import RateLimitedLog
from vumeter.server.self_metrics import ServerStats

__all__ = ["ACCEPT_PAUSE_S", "GuardedSite"]

logger = logging.getLogger("vumeter.server")

#: How long accepting pauses after a failed ``accept()``: long enough not to spin on an
#: exhausted descriptor table, short enough that a probe queued in the backlog still answers.
ACCEPT_PAUSE_S: Final = 0.25
#: Connections accepted per wake-up of the loop. Few, so that a flood cannot admit (and close
#: to make room) a whole cap's worth of connections between accepting a probe's connection and
#: reading its request, which takes a loop iteration or two.
ACCEPT_BATCH: Final = 16
#: How far a new connection is peeked into for a complete request head (a probe's is ~100 B).
_PEEK_BYTES: Final = 2048


async def _listen(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for every address of ``host``; with ``port=0``
    they all share the port the first one was given."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    bound: set[tuple[int, Any]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in bound:
                continue
            bound.add((family, address))
            if port == 0 and sockets:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _request_waiting(conn: socket.socket) -> bool:
    """Whether a whole request head already waits on ``conn``: what an ordinary client sends
    right after connecting, and what idle and slowloris clients never do."""
    try:
        return b"\r\n\r\n" in conn.recv(_PEEK_BYTES, socket.MSG_PEEK)
    except OSError:  # nothing yet (BlockingIOError), or the client has gone
        return False


class GuardedSite(web.BaseSite):
    """An aiohttp site on ``host:port`` whose connections pass through ``guard``."""

    __slots__ = ("_errors", "_guard", "_host", "_paused", "_port", "_sockets", "_stats", "_tasks")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        guard: ConnectionGuard,
        stats: ServerStats,
    ) -> None:
        super().__init__(runner, backlog=guard.limits.backlog)
        self._host = host
        self._port = port
        self._guard = guard
        self._stats = stats
        self._sockets: list[socket.socket] = []
        self._paused: dict[socket.socket, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: RateLimitedLog | None = None

    @property
    def name(self) -> str:
        return f"http://{self._host or '0.0.0.0'}:{self.port}"

    @property
    def port(self) -> int:
        return int(self._sockets[0].getsockname()[1]) if self._sockets else self._port

    @property
    def addresses(self) -> list[Any]:
        return [sock.getsockname() for sock in self._sockets]

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._errors = RateLimitedLog(
            logger, logging.WARNING, self._guard.limits.error_log_interval, loop=loop
        )
        self._sockets = await _listen(self._host, self._port, self._backlog)
        factory = self._guard.connection_factory(server)
        for sock in self._sockets:
            loop.add_reader(sock.fileno(), self._accept, sock, factory)

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            timer = self._paused.pop(sock, None)
            if timer is not None:
                timer.cancel()
            else:
                loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []
        if self._errors is not None:
            self._errors.close()
        self._guard.close()
        await super().stop()

    def _accept(self, sock: socket.socket, factory: Any) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as error:
                self._accept_failed(loop, sock, factory, error)
                return
            conn.setblocking(False)
            connection = factory(request_waiting=_request_waiting(conn))
            task = loop.create_task(self._connect(conn, connection))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket, connection: GuardedConnection) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: connection, conn)
        except OSError:  # the client went away between accept() and now
            conn.close()

    def _accept_failed(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, factory: Any, error: OSError
    ) -> None:
        self._stats.accept_errors += 1
        code = errno.errorcode.get(error.errno or 0, str(error.errno))
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert self._errors is not None
        self._errors.event(
            f"cannot accept connections on {self.name}: {error.strerror} ({code}; open-file "
            f"limit {soft}); new connections wait in the backlog, retrying every "
            f"{ACCEPT_PAUSE_S:g} s"
        )
        loop.remove_reader(sock.fileno())
        self._paused[sock] = loop.call_later(ACCEPT_PAUSE_S, self._resume, sock, factory)

    def _resume(self, sock: socket.socket, factory: Any) -> None:
        if self._paused.pop(sock, None) is None:
            return  # stopped meanwhile
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), self._accept, sock, factory)
