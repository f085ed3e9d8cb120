"""The server's own health in the registry it serves: stuck renders, scrape timeouts,
connections dropped by the limits, accept errors.

Each running server (app) counts into one :class:`ServerStats`. One collector per registry
exports the sum over the servers that serve it, so two servers of one registry never give
duplicate series, and a server that has stopped drops out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from vumeter.runtime import PerRegistry

__all__ = ["DROP_REASONS", "ServerStats", "track_server", "untrack_server"]

logger = logging.getLogger("vumeter.server")

#: Why the server closed or refused a connection itself.
DROP_REASONS: Final = ("header_timeout", "evicted", "refused")


@dataclass(eq=False)
class ServerStats:
    """Counters of one server. Written on its event loop (``renders_stuck`` under the render
    pool's lock); read by the collector, for which a slightly stale integer is fine."""

    scrape_timeouts: int = 0
    scrapes_refused: int = 0
    renders_stuck: int = 0
    connections_open: int = 0
    accept_errors: int = 0
    connections_dropped: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(DROP_REASONS, 0)
    )


class _Servers:
    """The :class:`ServerStats` of the servers serving one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._stats: set[ServerStats] = set()
        self._lock = threading.Lock()

    def add(self, stats: ServerStats) -> None:
        with self._lock:
            self._stats.add(stats)

    def discard(self, stats: ServerStats) -> None:
        with self._lock:
            self._stats.discard(stats)

    def snapshot(self) -> list[ServerStats]:
        with self._lock:
            return list(self._stats)


class _ServerCollector:
    """Sums the :class:`ServerStats` of every server of one registry."""

    def __init__(self, servers: _Servers) -> None:
        self._servers = servers

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self._servers.snapshot())

    @staticmethod
    def _families(servers: list[ServerStats]) -> list[Metric]:
        def total(attribute: str) -> float:
            return float(sum(getattr(stats, attribute) for stats in servers))

        stuck = GaugeMetricFamily(
            "vumeter_server_renders_stuck",
            "Renders of /metrics that outlived their scrape timeout and are still running "
            "(a collector is hung); at the server's limit new scrapes are refused.",
            value=total("renders_stuck"),
        )
        timeouts = CounterMetricFamily(
            "vumeter_server_scrape_timeouts",
            "Scrapes answered 503 because rendering did not finish within the scrape timeout.",
            value=total("scrape_timeouts"),
        )
        refused = CounterMetricFamily(
            "vumeter_server_scrapes_refused",
            "Scrapes answered 503 at once because too many earlier renders were stuck.",
            value=total("scrapes_refused"),
        )
        open_connections = GaugeMetricFamily(
            "vumeter_server_connections",
            "HTTP connections the metrics server holds open.",
            value=total("connections_open"),
        )
        dropped = CounterMetricFamily(
            "vumeter_server_connections_dropped",
            "Connections the server closed or refused itself: header_timeout (no complete "
            "request in time), evicted (idle, closed to make room), refused (at the limit).",
            labels=["reason"],
        )
        for reason in DROP_REASONS:
            count = sum(stats.connections_dropped[reason] for stats in servers)
            dropped.add_metric([reason], float(count))
        accept_errors = CounterMetricFamily(
            "vumeter_server_accept_errors",
            "Failed accept() calls of the listening socket (e.g. EMFILE: out of file "
            "descriptors); the server pauses accepting briefly after each.",
            value=total("accept_errors"),
        )
        return [stuck, timeouts, refused, open_connections, dropped, accept_errors]


_servers = PerRegistry(_Servers)


def _registered_collector(registry: CollectorRegistry) -> _ServerCollector:
    collector = _ServerCollector(_servers.get(registry))
    registry.register(collector)
    return collector


# Afresh if the registry's owner unregistered it (it shares the servers' set, so none is lost).
_collectors = PerRegistry(_registered_collector, members=lambda collector: [collector])


def track_server(registry: Collector, stats: ServerStats) -> None:
    """Export ``stats`` from ``registry`` (a ``CollectorRegistry``; other collectors, which
    cannot take a collector of their own, go without the server's self-metrics)."""
    if not isinstance(registry, CollectorRegistry):
        return
    _servers.get(registry).add(stats)
    try:
        _collectors.get(registry)
    except ValueError as error:  # the registry already has a metric of one of these names
        logger.warning("the server's self-metrics are not exported: %s", error)


def untrack_server(registry: Collector, stats: ServerStats) -> None:
    if isinstance(registry, CollectorRegistry):
        _servers.get(registry).discard(stats)
