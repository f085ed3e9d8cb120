"""OTLPLogHandler against a loopback receiver that decodes OTLP protobuf
(ExportLogsServiceRequest), and against receivers that are down or fail."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as ProtoLogRecord

from tests.logs.conftest import span_ids
from tests.logs.receivers import HttpReceiver, decode_otlp_logs
from tests.support.binaries import free_port
from vumeter import CollectorRegistry
from vumeter.logs import RetryPolicy, log_context
from vumeter.logs.otlp import OTLPLogHandler, severity_number

FAST_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.02, max_backoff=0.05)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver("/v1/logs", decode_otlp_logs) as receiver:
        yield receiver


def counter(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, {"handler": "otlp", **labels}) or 0.0


def records(receiver: HttpReceiver) -> list[tuple[dict[str, str], str, ProtoLogRecord]]:
    """(resource attributes, scope name, record) of everything received."""
    found = []
    for request in receiver.received:
        for resource_logs in request.body.resource_logs:
            resource = {a.key: a.value.string_value for a in resource_logs.resource.attributes}
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    found.append((resource, scope_logs.scope.name, record))
    return found


def attributes(record: ProtoLogRecord) -> dict[str, object]:
    values: dict[str, object] = {}
    for attribute in record.attributes:
        kind = attribute.value.WhichOneof("value")
        values[attribute.key] = getattr(attribute.value, kind) if kind else None
    return values


def test_records_arrive_as_otlp_with_trace_context(
    receiver: HttpReceiver,
    registry: CollectorRegistry,
    logger: logging.Logger,
    tracer: trace.Tracer,
) -> None:
    handler = OTLPLogHandler(
        receiver.url, service_name="enhancer", worker_id="gpu-1", registry=registry
    )
    logger.addHandler(handler)
    with (
        tracer.start_as_current_span("process_audio") as span,
        log_context(sample_id="s-1", dataset="libri"),
    ):
        try:
            raise RuntimeError("CUDA error")
        except RuntimeError:
            logger.exception("enhancement failed", extra={"attempt": 2})
    logger.info("idle")
    handler.flush(5)

    assert counter(registry, "vumeter_log_records_shipped_total") == 2
    by_body = {
        record.body.string_value: (resource, scope, record)
        for resource, scope, record in records(receiver)
    }
    resource, scope, failed = by_body["enhancement failed"]
    assert resource["service.name"] == "enhancer"
    assert resource["service.instance.id"] == "gpu-1"
    assert scope == logger.name
    assert failed.severity_text == "ERROR"
    assert failed.severity_number == 17  # SEVERITY_NUMBER_ERROR
    trace_id, span_id = span_ids(span)
    assert failed.trace_id.hex() == trace_id
    assert failed.span_id.hex() == span_id
    values = attributes(failed)
    assert values["sample.id"] == "s-1"
    assert values["dataset.name"] == "libri"
    assert values["exception.type"] == "RuntimeError"
    assert values["exception.message"] == "CUDA error"
    assert "Traceback" in str(values["exception.stacktrace"])
    assert values["attempt"] == 2
    assert values["code.function.name"] == "test_records_arrive_as_otlp_with_trace_context"
    assert abs(failed.time_unix_nano / 1e9 - time.time()) < 60

    _, _, idle = by_body["idle"]
    assert idle.trace_id == b""
    assert "sample.id" not in attributes(idle)


def test_collector_down_never_blocks_and_counts_drops(
    registry: CollectorRegistry, logger: logging.Logger
) -> None:
    handler = OTLPLogHandler(
        f"http://127.0.0.1:{free_port()}",
        registry=registry,
        retry=FAST_RETRY,
        timeout=0.5,
        flush_interval=0.02,
    )
    logger.addHandler(handler)
    slowest = 0.0
    for index in range(30):
        started = time.perf_counter()
        logger.warning("record %d", index)
        slowest = max(slowest, time.perf_counter() - started)
    # A blocked call would wait for the 0.5 s timeout; 0.15 s leaves room for GIL switches.
    assert slowest < 0.15
    handler.flush(15)
    assert counter(registry, "vumeter_log_records_dropped_total", reason="retries_exhausted") == 30
    assert counter(registry, "vumeter_log_records_shipped_total") == 0


def test_server_errors_are_retried(
    receiver: HttpReceiver, registry: CollectorRegistry, logger: logging.Logger
) -> None:
    receiver.status = 500  # the exporter gives up on a 500 at once; the shipper retries
    handler = OTLPLogHandler(
        receiver.url,
        registry=registry,
        retry=RetryPolicy(max_attempts=50, initial_backoff=0.02, max_backoff=0.05),
        flush_interval=0.01,
    )
    logger.addHandler(handler)
    logger.error("delivered in the end")
    deadline = time.monotonic() + 5
    while receiver.attempts < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    receiver.status = 200
    handler.flush(5)

    assert counter(registry, "vumeter_log_records_shipped_total") == 1
    assert counter(registry, "vumeter_log_ship_failures_total") >= 2
    ((_, _, record),) = records(receiver)
    assert record.body.string_value == "delivered in the end"


def test_full_queue_drops_are_counted(registry: CollectorRegistry, logger: logging.Logger) -> None:
    handler = OTLPLogHandler(
        f"http://127.0.0.1:{free_port()}",
        registry=registry,
        retry=RetryPolicy(max_attempts=1),
        max_queue=5,
        batch_size=5,
        flush_interval=5.0,  # the shipper holds back: the queue fills
        timeout=0.3,
        close_timeout=1.0,
    )
    logger.addHandler(handler)
    for index in range(20):
        logger.info("record %d", index)
    assert counter(registry, "vumeter_log_records_dropped_total", reason="queue_full") == 15
    logger.removeHandler(handler)
    handler.close()
    handler.close()
    # Every record is accounted for (the batch in flight at close() once its request ends).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        total = sum(
            counter(registry, "vumeter_log_records_dropped_total", reason=reason)
            for reason in ("queue_full", "retries_exhausted", "shutdown")
        )
        if total == 20:
            break
        time.sleep(0.05)
    assert total == 20


@pytest.mark.parametrize(
    ("levelno", "expected"),
    [(5, 1), (10, 5), (15, 8), (20, 9), (30, 13), (40, 17), (42, 19), (50, 21), (60, 24)],
)
def test_severity_mapping(levelno: int, expected: int) -> None:
    assert severity_number(levelno).value == expected


def test_bad_endpoint() -> None:
    with pytest.raises(ValueError, match="endpoint must be an http"):
        OTLPLogHandler("collector:4318", registry=None)
