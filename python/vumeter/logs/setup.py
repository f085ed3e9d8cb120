"""``configure_logging``: one call that sets up a worker's logs.

It installs, on the root logger (or the one given):

* a console handler writing JSON lines (``format="json"``) or readable text
  (``format="text"``) to ``stream`` (standard error by default);
* :class:`~vumeter.logs.metric.LogMetricsHandler`: ``vumeter_log_messages_total{level,logger}``
  on ``registry`` (skip with ``registry=None``);
* optionally a rotating JSON-lines file (:class:`FileOptions`), a
  :class:`~vumeter.logs.loki.LokiHandler` and an :class:`~vumeter.logs.otlp.OTLPLogHandler`.

Every handler it installs stamps each record with the correlation ids of the thread that
logged it (:class:`~vumeter.logs.formatters.CorrelationFilter`). Calling it again replaces
what the previous call installed (and closes it); handlers installed by anything else are left
alone. :meth:`LoggingSetup.close` removes and closes everything it installed, delivering what
the shipping handlers still hold.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TextIO

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter.logs.context import default_worker, set_default_worker
from vumeter.logs.formatters import CorrelationFilter, JsonFormatter, TextFormatter
from vumeter.logs.loki import LokiHandler, push_url
from vumeter.logs.metric import LogMetricsHandler
from vumeter.logs.rotation import SizeAndAgeRotatingFileHandler

__all__ = ["LOG_FORMATS", "FileOptions", "LoggingSetup", "configure_logging"]

LOG_FORMATS: Final = ("json", "text")
LogFormat = Literal["json", "text"]


@dataclass(frozen=True)
class FileOptions:
    """A local JSON-lines log file: rotated at ``max_bytes`` or after ``max_age`` seconds,
    ``backup_count`` rotated files kept, none older than ``retention`` seconds."""

    path: str | os.PathLike[str]
    max_bytes: int = 100 * 1024 * 1024
    max_age: float = 24 * 3600.0
    backup_count: int = 7
    retention: float | None = 7 * 24 * 3600.0


@dataclass
class LoggingSetup:
    """What :func:`configure_logging` installed, and on which logger."""

    logger: logging.Logger
    handlers: list[logging.Handler] = field(default_factory=list)
    previous_level: int = logging.NOTSET
    previous_worker: str | None = None
    closed: bool = False

    def handler(self, kind: type[logging.Handler]) -> logging.Handler | None:
        """The installed handler of type ``kind`` (for example ``LokiHandler``), if any."""
        return next((handler for handler in self.handlers if isinstance(handler, kind)), None)

    def close(self) -> None:
        """Remove the handlers, deliver what the shipping ones hold, close them all, and
        restore the logger's level and the default worker. Idempotent."""
        global _current
        with _lock:
            if self.closed:
                return
            self.closed = True
            if _current is self:
                _current = None
        for handler in self.handlers:
            self.logger.removeHandler(handler)
        for handler in self.handlers:
            try:
                handler.flush()
                handler.close()
            except Exception:  # one broken handler must not keep the others open
                logging.getLogger("vumeter.logs").exception("could not close %r", handler)
        self.logger.setLevel(self.previous_level)
        set_default_worker(self.previous_worker)


_current: LoggingSetup | None = None
_lock = threading.Lock()


def _level(level: int | str) -> int:
    if isinstance(level, bool) or not isinstance(level, int | str):
        raise TypeError(f"level must be a logging level name or number, got {level!r}")
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(
            f"unknown log level {level!r}; expected DEBUG, INFO, WARNING, ERROR or CRITICAL"
        )
    return number


def _formatter(log_format: str, static_fields: dict[str, str] | None = None) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(static_fields)
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")


def configure_logging(
    *,
    format: LogFormat = "json",
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
    service: str = "vumeter",
    worker: str | None = None,
    registry: CollectorRegistry | None = REGISTRY,
    max_loggers: int = 100,
    file: FileOptions | None = None,
    loki_url: str | None = None,
    otlp_endpoint: str | None = None,
    extra_handlers: Sequence[logging.Handler] = (),
    logger: logging.Logger | None = None,
) -> LoggingSetup:
    """Configure logging for this process; returns what was installed.

    ``format``: ``"json"`` (one object per line) or ``"text"`` for the console (files and
    shipped lines are always JSON). ``stream``: default ``sys.stderr``. ``service``: the
    ``service`` field of JSON lines, the ``service`` label in Loki and ``service.name`` in
    OTLP. ``worker``: the default
    ``worker`` id of records (see :func:`vumeter.logs.log_context`). ``registry``: where
    ``vumeter_log_messages_total`` and the shipping metrics go (``None``: no log metric).
    ``loki_url``: ship to Loki. ``otlp_endpoint``: ship as OTLP (``"env"`` takes the endpoint
    from ``OTEL_EXPORTER_OTLP_*``). ``extra_handlers`` are installed as given, with the
    correlation filter added. ``logger``: default the root logger.
    """
    global _current
    if format not in LOG_FORMATS:
        raise ValueError(f"format must be one of {', '.join(LOG_FORMATS)}, got {format!r}")
    resolved_level = _level(level)
    if not isinstance(service, str) or not service:
        raise ValueError(f"service must be a non-empty str, got {service!r}")
    target = logger if logger is not None else logging.getLogger()
    if loki_url is not None:
        push_url(loki_url)  # a bad URL fails here, before anything is replaced
    # The previous setup goes first: its handlers hold the metric names on the registry.
    with _lock:
        previous, _current = _current, None
    if previous is not None:
        previous.close()
    handlers: list[logging.Handler] = []
    try:
        console = logging.StreamHandler(stream if stream is not None else sys.stderr)
        # JSON lines name their service, so a log collector can tell workers apart.
        static_fields = {"service": service}
        console.setFormatter(_formatter(format, static_fields))
        handlers.append(console)
        if registry is not None:
            handlers.append(LogMetricsHandler(registry, max_loggers=max_loggers))
        if file is not None:
            file_handler = SizeAndAgeRotatingFileHandler(
                file.path,
                max_bytes=file.max_bytes,
                max_age=file.max_age,
                backup_count=file.backup_count,
                retention=file.retention,
            )
            file_handler.setFormatter(_formatter("json", static_fields))
            handlers.append(file_handler)
        if loki_url is not None:
            handlers.append(LokiHandler(loki_url, service=service, registry=registry))
        if otlp_endpoint is not None:
            from vumeter.logs.otlp import OTLPLogHandler  # noqa: PLC0415 - the tracing extra

            endpoint = None if otlp_endpoint == "env" else otlp_endpoint
            handlers.append(
                OTLPLogHandler(endpoint, service_name=service, worker_id=worker, registry=registry)
            )
        handlers.extend(extra_handlers)
    except BaseException:
        # Nothing half-configured: close what was already built (threads, files, metrics).
        for handler in handlers:
            handler.close()
        raise
    correlation = CorrelationFilter()
    for handler in handlers:
        handler.addFilter(correlation)
    setup = LoggingSetup(
        target, handlers, previous_level=target.level, previous_worker=default_worker()
    )
    set_default_worker(worker)
    target.setLevel(resolved_level)
    for handler in handlers:
        target.addHandler(handler)
    with _lock:
        _current = setup
    return setup
