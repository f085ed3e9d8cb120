"""How many connections the server holds, and how long it waits for each.

A connection costs a file descriptor whether or not its client ever sends a request, and
aiohttp alone keeps silent connections for an hour (its keep-alive default) and has no cap. A
few thousand idle or byte-a-second clients then exhaust the process's file descriptors, and
``/livez`` stops answering: the kubelet restarts a worker that was doing its job. These limits
(enforced by :mod:`vumeter.server.connections` and :mod:`vumeter.server.listener`) keep that
from happening:

* ``header_timeout``: a request's line and headers must arrive within this many seconds of
  its first byte (and of a new connection being accepted), so slowloris clients are dropped;
* ``keepalive_timeout``: an idle keep-alive connection is closed after this long (aiohttp's own
  timer); above Prometheus' usual 15 s interval, so each scrape reuses its connection;
* ``body_timeout``: no endpoint reads a request body; one that is sent anyway is drained for at
  most this long (aiohttp's lingering time) before the connection is closed;
* ``max_connections``: at most this many connections (fewer if the open-file limit is low: see
  :meth:`ServerLimits.connection_cap`). At the cap, the connection idle the longest is closed
  to make room; if every connection is busy, up to ``probe_connections`` more are accepted for
  health probes only, so ``/livez`` answers even then; beyond that, new connections get a 503.
* ``backlog``: the listening socket's queue of connections not accepted yet;
* ``error_log_interval``: failed ``accept()`` calls (out of file descriptors) and dropped
  connections are logged once per interval, with a count, not once each.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any, Final

from vumeter.runtime import positive_int, seconds

__all__ = ["ServerLimits"]

#: File descriptors left to the rest of the process (logs, sockets of its own, libraries)
#: before half of the remainder goes to the server's connections.
_RESERVED_FDS: Final = 64


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits and timeouts of :class:`vumeter.server.MetricsServer` (see the module
    documentation for what each does)."""

    max_connections: int = 256
    probe_connections: int = 8
    header_timeout: float = 10.0
    keepalive_timeout: float = 20.0
    body_timeout: float = 10.0
    backlog: int = 128
    error_log_interval: float = 10.0

    def __post_init__(self) -> None:
        positive_int("max_connections", self.max_connections)
        positive_int("backlog", self.backlog)
        if type(self.probe_connections) is not int or self.probe_connections < 0:
            raise ValueError(
                f"probe_connections must be an int >= 0, got {self.probe_connections!r}"
            )
        for name in ("header_timeout", "keepalive_timeout", "body_timeout", "error_log_interval"):
            seconds(name, getattr(self, name))

    def connection_cap(self, open_file_limit: int | None = None) -> int:
        """``max_connections``, but at most half of the file descriptors the open-file limit
        (``RLIMIT_NOFILE``, read when not given) leaves after a reserve of 64 for the rest of
        the process, with probe connections counted in; never below 1."""
        if open_file_limit is None:
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            open_file_limit = soft if soft != resource.RLIM_INFINITY else 1 << 20
        affordable = (open_file_limit - _RESERVED_FDS) // 2 - self.probe_connections
        return max(1, min(self.max_connections, affordable))

    def handler_args(self) -> dict[str, Any]:
        """The limits aiohttp's request handler enforces itself."""
        return {"keepalive_timeout": self.keepalive_timeout, "lingering_time": self.body_timeout}
