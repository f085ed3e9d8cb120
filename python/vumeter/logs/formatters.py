"""Formatters for the standard :mod:`logging` module: JSON lines for machines, text for humans.

Both write the correlation ids of :mod:`vumeter.logs.context`. Those ids belong to the thread
or task that *logged* the record, so they are captured when the record is handled
(:class:`CorrelationFilter`, which :func:`vumeter.logs.configure_logging` puts on every
handler it installs) and not when it is formatted, which for the shipping handlers happens
later in a background thread. A record that was never stamped (a handler set up by hand
without the filter) is formatted with the ids of the formatting thread, which is the same
thread for ordinary stream and file handlers.

Ids given explicitly with ``logger.info(..., extra={"sample_id": ...})`` win over the
context's.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any, Final

from vumeter.logs.context import CORRELATION_FIELDS, Correlation, current_correlation

__all__ = [
    "CORRELATION_ATTRIBUTE",
    "CorrelationFilter",
    "JsonFormatter",
    "TextFormatter",
    "record_correlation",
]

CORRELATION_ATTRIBUTE: Final = "vumeter_correlation"
"""The ``LogRecord`` attribute where :class:`CorrelationFilter` stores the ids."""

# Every attribute a plain LogRecord has (plus the ones logging adds while formatting);
# anything else on a record came from ``extra=`` and is written as a field of its own.
_STANDARD_ATTRIBUTES: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    CORRELATION_ATTRIBUTE,
}

# Fields the JSON formatter writes itself; an ``extra`` with one of these names is written
# as ``extra_<name>`` instead of silently replacing it.
_CORE_FIELDS: Final = frozenset(
    {"timestamp", "level", "logger", "message", "exception", "exception_type", "stack"}
)


class CorrelationFilter(logging.Filter):
    """Stamps the current correlation ids onto each record it sees; never rejects one.

    Put it on a handler (``handler.addFilter(CorrelationFilter())``): handler filters run in
    the thread that logs, before a queueing handler hands the record to another thread.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, CORRELATION_ATTRIBUTE):
            setattr(record, CORRELATION_ATTRIBUTE, current_correlation())
        return True


def record_correlation(record: logging.LogRecord) -> Correlation:
    """The correlation ids of ``record``: stamped ones (or the current ones), with any
    given through ``extra=`` taking precedence."""
    stamped: Correlation | None = getattr(record, CORRELATION_ATTRIBUTE, None)
    correlation = dict(stamped) if stamped is not None else current_correlation()
    for field in CORRELATION_FIELDS:
        explicit = record.__dict__.get(field)
        if explicit is not None:
            correlation[field] = str(explicit)
    return correlation


def _utc_timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _jsonable(value: object) -> object:
    """``json.dumps``' fallback for values it cannot encode: their ``str()``."""
    return str(value)


def _finite(value: Any) -> Any:
    """Replaces NaN and infinities (not JSON) by their names, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    Fields: ``timestamp`` (RFC 3339, UTC, microseconds), ``level`` (``INFO``...),
    ``logger``, ``message``, then whichever of ``trace_id``, ``span_id``, ``sample_id``,
    ``dataset``, ``worker`` are known, then ``exception`` (the formatted traceback) and
    ``exception_type`` when the record carries one, ``stack`` for ``stack_info=True``, and
    finally every ``extra=`` field (values JSON cannot encode are written as ``str()``).
    ``static_fields`` (for instance ``{"service": "enhancer"}``) are added to every line.
    """

    def __init__(self, static_fields: dict[str, str] | None = None) -> None:
        super().__init__()
        self._static = dict(static_fields or {})
        clash = _CORE_FIELDS.intersection(self._static).union(
            set(CORRELATION_FIELDS).intersection(self._static)
        )
        if clash:
            raise ValueError(f"static_fields must not replace the standard fields {sorted(clash)}")

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.to_dict(record), ensure_ascii=False, default=_jsonable)

    def to_dict(self, record: logging.LogRecord) -> dict[str, Any]:
        """The fields of ``record`` as :meth:`format` writes them."""
        fields: dict[str, Any] = {
            "timestamp": _utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields.update(self._static)
        fields.update(record_correlation(record))
        if record.exc_info and record.exc_info[0] is not None:
            fields["exception"] = self.formatException(record.exc_info)
            fields["exception_type"] = record.exc_info[0].__name__
        elif record.exc_text:
            fields["exception"] = record.exc_text
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        for name, value in record.__dict__.items():
            if name in _STANDARD_ATTRIBUTES or name in CORRELATION_FIELDS:
                continue
            fields[f"extra_{name}" if name in fields else name] = _finite(value)
        return fields


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> [trace_id=... sample_id=...]``, for humans.

    The bracket lists the correlation ids that are known and is left out when none is.
    Exceptions and stacks follow on the next lines, as with ``logging``'s own formatter.
    """

    def __init__(self, fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        correlation = record_correlation(record)
        if not correlation:
            return text
        ids = " ".join(
            f"{field}={correlation[field]}" for field in CORRELATION_FIELDS if field in correlation
        )
        return f"{text} [{ids}]"
