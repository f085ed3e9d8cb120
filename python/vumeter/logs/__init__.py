"""Structured logs for vumeter workers: JSON lines with correlation ids, a log-based metric,
shipping to Loki and OTLP, and rotating files.

>>> from vumeter.logs import configure_logging
>>> logs = configure_logging(format="json", service="enhancer", loki_url="http://loki:3100")
>>> logging.getLogger("enhancer").info("model loaded")                 # doctest: +SKIP
{"timestamp": "...", "level": "INFO", "logger": "enhancer", "message": "model loaded", ...}

* :mod:`~vumeter.logs.context`: the correlation ids (``trace_id``, ``span_id``,
  ``sample_id``, ``dataset``, ``worker``) and :func:`log_context`;
* :mod:`~vumeter.logs.formatters`: :class:`JsonFormatter`, :class:`TextFormatter`;
* :mod:`~vumeter.logs.metric`: ``vumeter_log_messages_total{level,logger}``;
* :mod:`~vumeter.logs.loki`, :mod:`vumeter.logs.otlp` (needs the ``tracing`` extra; import
  it on its own): non-blocking shipping handlers;
* :mod:`~vumeter.logs.rotation`: files rotated by size and age, with retention.

Like every integration it builds on vumeter's metrics and runtime layers only (the log metric
and the shipping counters are vumeter counters); :mod:`vumeter.logs.otlp` also needs the
``tracing`` extra. See docs/logging.md.
"""

from vumeter.logs.context import (
    CORRELATION_FIELDS,
    current_correlation,
    log_context,
    set_default_worker,
)
from vumeter.logs.formatters import CorrelationFilter, JsonFormatter, TextFormatter
from vumeter.logs.loki import LokiHandler
from vumeter.logs.metric import LOG_MESSAGES_METRIC, LogMetricsHandler
from vumeter.logs.rotation import SizeAndAgeRotatingFileHandler
from vumeter.logs.setup import LOG_FORMATS, FileOptions, LoggingSetup, configure_logging
from vumeter.logs.shipping import RetryPolicy

__all__ = [
    "CORRELATION_FIELDS",
    "LOG_FORMATS",
    "LOG_MESSAGES_METRIC",
    "CorrelationFilter",
    "FileOptions",
    "JsonFormatter",
    "LogMetricsHandler",
    "LoggingSetup",
    "LokiHandler",
    "RetryPolicy",
    "SizeAndAgeRotatingFileHandler",
    "TextFormatter",
    "configure_logging",
    "current_correlation",
    "log_context",
    "set_default_worker",
]
