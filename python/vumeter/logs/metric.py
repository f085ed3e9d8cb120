"""The log-based metric: ``vumeter_log_messages_total{level,logger}``.

A :class:`LogMetricsHandler` on the root logger counts every record that reaches it, by level
name (``INFO``, ``ERROR``...) and logger name. The ``VumeterErrorLogBurst`` alert
(alerts/vumeter-alerts.rules.yml) fires on the rate of ``ERROR`` and ``CRITICAL`` records.

Logger names are not a closed set (libraries create loggers per module, some per object), so
the handler keeps at most ``max_loggers`` distinct names; records of any further logger are
counted under ``logger="other"``. The counter's own ``max_label_sets`` is a backstop for
custom level names.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Final

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter.counter import Counter
from vumeter.runtime import positive_int

__all__ = ["LOG_MESSAGES_METRIC", "OTHER_LOGGER", "LogMetricsHandler"]

LOG_MESSAGES_METRIC: Final = "vumeter_log_messages_total"
OTHER_LOGGER: Final = "other"
# The five standard levels plus a few custom ones per logger is plenty.
_LEVELS_PER_LOGGER: Final = 8


class LogMetricsHandler(logging.Handler):
    """Counts records in ``vumeter_log_messages_total`` on ``registry``.

    One handler per registry: the counter is registered when the handler is created and
    unregistered by :meth:`close`. Counting never raises into the logging call.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = REGISTRY,
        *,
        max_loggers: int = 100,
        level: int | str = logging.NOTSET,
    ) -> None:
        positive_int("max_loggers", max_loggers)
        super().__init__(level)
        self._registry = registry
        self._max_loggers = max_loggers
        self.counter = Counter(
            LOG_MESSAGES_METRIC,
            "Log records written, by level and logger (loggers beyond the handler's limit "
            f'count as logger="{OTHER_LOGGER}").',
            ("level", "logger"),
            registry=registry,
            max_label_sets=(max_loggers + 1) * _LEVELS_PER_LOGGER,
        )
        # (level name, logger name) -> the child's inc; read without the lock (a dict
        # lookup is atomic), filled under it.
        self._increments: dict[tuple[str, str], Callable[[], object]] = {}
        self._loggers: set[str] = set()
        self._lock_children = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.levelname, record.name)
        increment = self._increments.get(key)
        if increment is None:
            try:
                increment = self._child(*key)
            except Exception:
                self.handleError(record)
                return
        increment()

    def _child(self, level: str, logger: str) -> Callable[[], object]:
        with self._lock_children:
            if logger not in self._loggers:
                if len(self._loggers) >= self._max_loggers:
                    logger_label = OTHER_LOGGER
                else:
                    self._loggers.add(logger)
                    logger_label = logger
            else:
                logger_label = logger
            increment: Callable[[], object] = self.counter.labels(level, logger_label).inc
            self._increments[(level, logger)] = increment
            return increment

    def close(self) -> None:
        """Unregister the counter from its registry (once), so it is no longer exported."""
        registry, self._registry = self._registry, None
        if registry is not None:
            with contextlib.suppress(KeyError):  # unregistered by its owner already
                registry.unregister(self.counter)
        super().close()
