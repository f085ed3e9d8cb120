"""``OTLPLogHandler``: exports log records as OTLP through the OpenTelemetry SDK, without
blocking the worker.

Each ``logging`` record is turned into an OpenTelemetry log record and emitted through an SDK
``LoggerProvider`` (which adds the resource, the instrumentation scope = the logger's name,
and the trace context: the record's ``trace_id``, ``span_id`` and trace flags). A processor
of our own then queues it in a :class:`~vumeter.logs.shipping.BackgroundShipper` instead of
the SDK's batch processor, for the same guarantees as the Loki handler: a bounded queue,
batches, retries with backoff, and drops counted in
``vumeter_log_records_dropped_total{handler="otlp"}``. Batches are sent by the SDK's
``OTLPLogExporter`` (protobuf over HTTP, ``/v1/logs``), which itself retries 429 and 5xx-ish
answers within its timeout.

Record fields become attributes with semantic-convention names where there is one:
``code.file.path``, ``code.function.name``, ``code.line.number``, ``thread.name``,
``exception.type``, ``exception.message``, ``exception.stacktrace``, and vumeter's own
``sample.id``, ``dataset.name``, ``vumeter.worker`` (the names its spans use). ``extra=``
fields are attributes too (values other than str, bool, int, float as ``str()``).
"""

from __future__ import annotations

import logging
import time
import traceback
import urllib.parse
from collections.abc import Mapping
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import (
    LoggerProvider,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
)
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AnyValue
from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter.logs.formatters import CorrelationFilter, record_correlation
from vumeter.logs.shipping import BackgroundShipper, RetryPolicy, ShipError, shipping_metrics
from vumeter.runtime.resource import build_resource

__all__ = ["OTLP_LOGS_PATH", "OTLPLogHandler", "severity_number"]

OTLP_LOGS_PATH: Final = "/v1/logs"
_CORRELATION_ATTRIBUTES: Final = {
    "sample_id": "sample.id",
    "dataset": "dataset.name",
    "worker": "vumeter.worker",
}
# LogRecord attributes that are written under semantic-convention names, or not at all.
_SKIPPED: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "vumeter_correlation",
}
_SEVERITY_BANDS: Final = (
    (10, SeverityNumber.TRACE),
    (20, SeverityNumber.DEBUG),
    (30, SeverityNumber.INFO),
    (40, SeverityNumber.WARN),
    (50, SeverityNumber.ERROR),
)


def severity_number(levelno: int) -> SeverityNumber:
    """OpenTelemetry's severity for a ``logging`` level: DEBUG (10) -> DEBUG, INFO -> INFO,
    WARNING -> WARN, ERROR -> ERROR, CRITICAL -> FATAL; levels in between take the band's
    finer steps (``DEBUG2``...), as the log data model maps them."""
    band_start = 0
    base = SeverityNumber.TRACE
    for upper, severity in _SEVERITY_BANDS:
        if levelno < upper:
            base = severity
            break
        band_start = upper
    else:
        base, band_start = SeverityNumber.FATAL, 50
    if base is SeverityNumber.TRACE:
        return SeverityNumber.TRACE
    return SeverityNumber(base.value + min(levelno - band_start, 3))


def _logs_endpoint(endpoint: str | None) -> str | None:
    """A bare collector URL gets the logs path; ``None`` leaves it to the environment."""
    if endpoint is None:
        return None
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"endpoint must be an http(s) URL such as http://collector:4318, got {endpoint!r}"
        )
    if parts.path in ("", "/"):
        parts = parts._replace(path=OTLP_LOGS_PATH)
    return urllib.parse.urlunsplit(parts)


class _QueueingProcessor(LogRecordProcessor):
    """Hands each emitted record to the shipper; runs in the logging thread, never blocks."""

    def __init__(self, shipper: BackgroundShipper[ReadableLogRecord]) -> None:
        self._shipper = shipper

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._shipper.offer(
            ReadableLogRecord(
                log_record=log_record.log_record,
                resource=log_record.resource or Resource.get_empty(),
                instrumentation_scope=log_record.instrumentation_scope,
                limits=log_record.limits,
            )
        )

    def shutdown(self) -> None:
        pass  # the handler closes the shipper

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._shipper.flush(timeout_millis / 1000)


class OTLPLogHandler(logging.Handler):
    """Export records to an OTLP/HTTP log endpoint (a collector, Loki 3's ``/otlp``...).

    ``endpoint``: a base URL (``http://collector:4318``) or the full logs URL; ``None`` uses
    ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default
    ``http://localhost:4318/v1/logs``). ``resource``: default
    ``vumeter.runtime.resource.build_resource(service_name, worker_id=worker_id)``, the
    resource traces use too. ``exporter`` replaces the OTLP exporter (any SDK
    ``LogRecordExporter``). Queueing, batching and retries: see
    :class:`~vumeter.logs.shipping.BackgroundShipper`.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        service_name: str | None = None,
        worker_id: str | None = None,
        resource: Resource | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        exporter: LogRecordExporter | None = None,
        registry: CollectorRegistry | None = REGISTRY,
        max_queue: int = 10_000,
        batch_size: int = 512,
        flush_interval: float = 1.0,
        retry: RetryPolicy | None = None,
        close_timeout: float = 5.0,
        level: int | str = logging.NOTSET,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        url = _logs_endpoint(endpoint)
        if resource is None:
            resource = build_resource(service_name, worker_id=worker_id)
        super().__init__(level)
        self._exporter = exporter or OTLPLogExporter(
            endpoint=url, headers=dict(headers) if headers else None, timeout=timeout
        )
        self._close_timeout = close_timeout
        self._closed = False
        self._stamp = CorrelationFilter()
        self._shipper: BackgroundShipper[ReadableLogRecord] = BackgroundShipper(
            "otlp",
            self._send,
            metrics=shipping_metrics(registry),
            max_queue=max_queue,
            batch_size=batch_size,
            flush_interval=flush_interval,
            retry=retry,
        ).start()
        self._provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        self._provider.add_log_record_processor(_QueueingProcessor(self._shipper))

    @property
    def shipper(self) -> BackgroundShipper[ReadableLogRecord]:
        return self._shipper

    @property
    def resource(self) -> Resource:
        resource: Resource = self._provider.resource
        return resource

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed or self._shipper.is_own_thread():
            return
        try:
            self._stamp.filter(record)
            logger = self._provider.get_logger(record.name)
            logger.emit(self._translate(record))
        except Exception:
            self.handleError(record)

    def _translate(self, record: logging.LogRecord) -> LogRecord:
        correlation = record_correlation(record)
        attributes: dict[str, AnyValue] = {
            "code.file.path": record.pathname,
            "code.function.name": record.funcName,
            "code.line.number": record.lineno,
        }
        if record.threadName:
            attributes["thread.name"] = record.threadName
        for field, attribute in _CORRELATION_ATTRIBUTES.items():
            known = correlation.get(field)
            if known is not None:
                attributes[attribute] = known
        if record.exc_info and record.exc_info[0] is not None:
            error_type, error, error_traceback = record.exc_info
            attributes["exception.type"] = error_type.__name__
            attributes["exception.message"] = str(error)
            attributes["exception.stacktrace"] = "".join(
                traceback.format_exception(error_type, error, error_traceback)
            )
        for name, value in record.__dict__.items():
            if name not in _SKIPPED and name not in correlation:
                attributes[name] = (
                    value if isinstance(value, str | bool | int | float) else str(value)
                )
        return LogRecord(
            timestamp=int(record.created * 1_000_000) * 1_000,
            observed_timestamp=time.time_ns(),
            context=_trace_context(correlation.get("trace_id"), correlation.get("span_id")),
            severity_text=record.levelname,
            severity_number=severity_number(record.levelno),
            body=record.getMessage(),
            attributes=attributes,
        )

    def _send(self, batch: list[ReadableLogRecord]) -> None:
        # Suppressed: an HTTP client instrumented by OpenTelemetry must not trace (or log
        # about) the export itself.
        token = otel_context.attach(
            otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
        )
        try:
            result = self._exporter.export(batch)
        finally:
            otel_context.detach(token)
        if result is not LogRecordExportResult.SUCCESS:
            raise ShipError("the OTLP log exporter reported a failed export", retryable=True)

    def flush(self, timeout: float | None = None) -> None:
        """Deliver what is queued (at most ``timeout`` seconds, default ``close_timeout``)."""
        self._shipper.flush(self._close_timeout if timeout is None else timeout)

    def close(self) -> None:
        """Deliver what is queued within ``close_timeout`` seconds, then stop. Idempotent."""
        if not self._closed:
            self._closed = True
            self._shipper.close(self._close_timeout)
            self._exporter.shutdown()  # type: ignore[no-untyped-call]
        super().close()


def _trace_context(trace_id: str | None, span_id: str | None) -> Context:
    """A context whose span has the record's ids: the record may be handled in another
    thread than the one that logged it, whose current span is not the record's."""
    if trace_id is None or span_id is None:
        # Not an empty Context: the SDK would take the emitting thread's current one instead.
        return trace.set_span_in_context(trace.INVALID_SPAN)
    current = trace.get_current_span().get_span_context()
    if f"{current.trace_id:032x}" == trace_id and f"{current.span_id:016x}" == span_id:
        flags = current.trace_flags
    else:
        flags = TraceFlags(TraceFlags.DEFAULT)
    span_context = SpanContext(int(trace_id, 16), int(span_id, 16), False, flags)
    return trace.set_span_in_context(NonRecordingSpan(span_context))
