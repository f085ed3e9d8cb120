"""The connection cap and the request-head timeout, between asyncio and aiohttp.

aiohttp has neither. :class:`ConnectionGuard` wraps each accepted connection's aiohttp
protocol in a :class:`GuardedConnection` that decides, when the connection is made, whether it
is admitted (see :class:`vumeter.server.limits.ServerLimits` for the rules), and closes it when
its request line and headers do not arrive in time. The :func:`track_requests` middleware tells
the guard which connections are busy with a request: those are never closed to make room, and
idle ones are, the longest idle first.

Everything here runs on the event loop thread, so none of it takes a lock.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from vumeter.server.errors import error_response
from vumeter.server.limits import ServerLimits
from vumeter.server.ratelog import RateLimitedLog
from vumeter.server.self_metrics import ServerStats

__all__ = ["GUARD_KEY", "ConnectionGuard", "GuardedConnection", "track_requests"]

logger = logging.getLogger("vumeter.server")

_REFUSED_BODY = json.dumps(
    {"status": "error", "error": "connection limit reached; try again later"}
).encode()
_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: " + str(len(_REFUSED_BODY)).encode() + b"\r\n\r\n" + _REFUSED_BODY
)


class GuardedConnection(asyncio.Protocol):
    """One accepted connection: the aiohttp protocol inside, if the guard admitted it.

    ``request_waiting``: a complete request head was already waiting when the connection was
    accepted. Such a connection is never closed to make room before that request is served: a
    flood of connections that send nothing would otherwise close a probe's connection between
    accepting it and reading its request.
    """

    __slots__ = (
        "_guard",
        "_make_inner",
        "_timer",
        "busy",
        "inner",
        "probe_only",
        "received_while_busy",
        "request_waiting",
        "transport",
    )

    def __init__(
        self,
        guard: ConnectionGuard,
        make_inner: Callable[[], asyncio.Protocol],
        *,
        request_waiting: bool = False,
    ) -> None:
        self._guard = guard
        self._make_inner = make_inner
        self._timer: asyncio.TimerHandle | None = None
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.probe_only = False
        self.received_while_busy = False
        self.request_waiting = request_waiting

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self._guard.admit(self):
            transport.write(_REFUSED)
            transport.close()
            return
        self.inner = self._make_inner()
        self.inner.connection_made(transport)
        self.start_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if self.busy:
            self.received_while_busy = True
        elif self._timer is None:
            self.start_header_timer()  # the first byte of a new request
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_header_timer()
        self._guard.forget(self)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    # -- the guard's side -----------------------------------------------------------------------

    def start_header_timer(self) -> None:
        self.cancel_header_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._guard.limits.header_timeout, self._header_expired)

    def cancel_header_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_expired(self) -> None:
        self._timer = None
        if not self.busy:
            self._guard.drop(self, "header_timeout")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class ConnectionGuard:
    """Admits, tracks and drops the connections of one listening server."""

    def __init__(
        self, limits: ServerLimits, stats: ServerStats, probe_paths: Iterable[str]
    ) -> None:
        self.limits = limits
        self.probe_paths = frozenset(probe_paths)
        self.cap = limits.connection_cap()
        self._stats = stats
        # Insertion order is idle order: the first entry has been idle the longest.
        self._idle: dict[GuardedConnection, None] = {}
        self._busy: set[GuardedConnection] = set()
        self._probes: set[GuardedConnection] = set()
        self._by_transport: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self._logs: dict[str, RateLimitedLog] = {}

    def connection_factory(
        self, make_inner: Callable[[], asyncio.Protocol]
    ) -> Callable[..., GuardedConnection]:
        """``factory(request_waiting=...)`` makes the guarded protocol of one connection."""
        return functools.partial(GuardedConnection, self, make_inner)

    @property
    def open(self) -> int:
        return len(self._by_transport)

    def admit(self, connection: GuardedConnection) -> bool:
        """Whether ``connection`` may stay (see :class:`ServerLimits` for the order)."""
        general = self.open - len(self._probes)
        if general >= self.cap and not self._evict_one():
            if len(self._probes) >= self.limits.probe_connections:
                self._count(
                    "refused",
                    f"connection refused: at the limit of {self.cap} "
                    f"connections plus {self.limits.probe_connections} for health probes",
                )
                return False
            connection.probe_only = True
            self._probes.add(connection)
        assert connection.transport is not None
        self._by_transport[connection.transport] = connection
        self._idle[connection] = None
        self._stats.connections_open = self.open
        return True

    def _evict_one(self) -> bool:
        for victim in self._idle:
            if not victim.probe_only and not victim.request_waiting:
                self.drop(victim, "evicted")
                return True
        return False

    def drop(self, connection: GuardedConnection, reason: str) -> None:
        """Close ``connection`` now, counted under ``reason``."""
        self.forget(connection)
        connection.close()
        messages = {
            "evicted": f"closed an idle connection to make room (limit {self.cap} connections)",
            "header_timeout": "closed a connection that sent no complete request within "
            f"{self.limits.header_timeout:g} s",
        }
        self._count(reason, messages[reason])

    def forget(self, connection: GuardedConnection) -> None:
        if (
            connection.transport is None
            or self._by_transport.pop(connection.transport, None) is None
        ):
            return
        self._idle.pop(connection, None)
        self._busy.discard(connection)
        self._probes.discard(connection)
        self._stats.connections_open = self.open

    def connection_of(self, request: web.BaseRequest) -> GuardedConnection | None:
        transport = request.transport
        return self._by_transport.get(transport) if transport is not None else None

    def begin_request(self, connection: GuardedConnection) -> None:
        connection.busy = True
        connection.request_waiting = False
        connection.received_while_busy = False
        connection.cancel_header_timer()
        if connection in self._idle:
            del self._idle[connection]
            self._busy.add(connection)

    def end_request(self, connection: GuardedConnection) -> None:
        connection.busy = False
        if connection in self._busy:
            self._busy.discard(connection)
            self._idle[connection] = None  # now the most recently active
        if connection.received_while_busy:
            connection.start_header_timer()  # a pipelined request is on its way

    def _count(self, reason: str, message: str) -> None:
        self._stats.connections_dropped[reason] += 1
        log = self._logs.get(reason)
        if log is None:
            level = logging.WARNING if reason == "refused" else logging.INFO
            log = RateLimitedLog(
                logger, level, self.limits.error_log_interval, loop=asyncio.get_running_loop()
            )
            self._logs[reason] = log
        log.event(message)

    def close(self) -> None:
        for log in self._logs.values():
            log.close()


#: The app's :class:`ConnectionGuard`, set by the server that listens for it.
GUARD_KEY = web.AppKey("vumeter_connection_guard", ConnectionGuard)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def track_requests(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Marks the request's connection busy while it is handled; on a connection admitted for
    probes only, answers anything but a probe with a 503 and closes it."""
    guard = request.app.get(GUARD_KEY)
    connection = guard.connection_of(request) if guard is not None else None
    if guard is None or connection is None:
        return await handler(request)
    if connection.probe_only and request.path not in guard.probe_paths:
        refusal = error_response(
            503,
            "connection limit reached; only health probes are served right now",
            headers={"Retry-After": "1"},
        )
        refusal.force_close()
        return refusal
    guard.begin_request(connection)
    try:
        response = await handler(request)
    finally:
        guard.end_request(connection)
    if connection.probe_only:
        response.force_close()  # give the slot back to the next probe
    return response
