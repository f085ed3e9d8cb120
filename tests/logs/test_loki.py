"""LokiHandler against a loopback receiver that decodes Loki's push JSON, including receivers
that are down, slow or answer errors: logging never blocks and every drop is counted."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from tests.logs.conftest import span_ids
from tests.logs.receivers import HttpReceiver, Received, decode_loki
from tests.support.binaries import free_port
from vumeter import CollectorRegistry
from vumeter.logs import LokiHandler, RetryPolicy, log_context

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.02, max_backoff=0.1)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver("/loki/api/v1/push", decode_loki) as receiver:
        yield receiver


def dropped(registry: CollectorRegistry, reason: str) -> float:
    value = registry.get_sample_value(
        "vumeter_log_records_dropped_total", {"handler": "loki", "reason": reason}
    )
    return value or 0.0


def shipped(registry: CollectorRegistry) -> float:
    return (
        registry.get_sample_value("vumeter_log_records_shipped_total", {"handler": "loki"}) or 0.0
    )


def entries(received: list[Received]) -> list[tuple[dict[str, str], list[object]]]:
    return [
        (stream["stream"], value)
        for request in received
        for stream in request.body["streams"]
        for value in stream["values"]
    ]


def timed_logging(logger: logging.Logger, count: int) -> float:
    """The slowest of ``count`` logging calls, in seconds."""
    slowest = 0.0
    for index in range(count):
        started = time.perf_counter()
        logger.error("record %d", index)
        slowest = max(slowest, time.perf_counter() - started)
    return slowest


def test_push_format_labels_lines_and_metadata(
    receiver: HttpReceiver,
    registry: CollectorRegistry,
    logger: logging.Logger,
    tracer: trace.Tracer,
) -> None:
    handler = LokiHandler(
        receiver.url, service="enhancer", tenant_id="team-audio", registry=registry
    )
    logger.addHandler(handler)
    with (
        tracer.start_as_current_span("process_audio") as span,
        log_context(sample_id="s-1", dataset="libri", worker="w-1"),
    ):
        logger.error("clipped input")
    logger.info("idle")
    handler.flush(5)

    assert shipped(registry) == 2
    (request,) = receiver.received
    assert request.headers["X-Scope-OrgID"] == "team-audio"
    pushed = {
        json.loads(str(value[1]))["message"]: (labels, value)
        for labels, value in entries([request])
    }
    labels, value = pushed["clipped input"]
    assert labels == {"service": "enhancer", "level": "error", "dataset": "libri"}
    timestamp, line, metadata = value
    assert isinstance(timestamp, str)
    assert abs(int(timestamp) / 1e9 - time.time()) < 60
    trace_id, span_id = span_ids(span)
    assert metadata == {
        "trace_id": trace_id,
        "span_id": span_id,
        "sample_id": "s-1",
        "worker": "w-1",
    }
    record = json.loads(str(line))
    assert (record["trace_id"], record["span_id"], record["sample_id"]) == (
        trace_id,
        span_id,
        "s-1",
    )
    # Outside the sample: no dataset label, no ids anywhere.
    idle_labels, idle_value = pushed["idle"]
    assert idle_labels == {"service": "enhancer", "level": "info"}
    assert len(idle_value) == 2


def test_gzip_and_labels_without_dataset(
    receiver: HttpReceiver, registry: CollectorRegistry, logger: logging.Logger
) -> None:
    handler = LokiHandler(
        receiver.url + "/loki/api/v1/push",
        service="scorer",
        dataset_label=False,
        structured_metadata=False,
        compress=True,
        registry=registry,
    )
    logger.addHandler(handler)
    with log_context(dataset="libri"):
        logger.warning("compressed")
    handler.flush(5)

    (request,) = receiver.received
    assert request.headers["Content-Encoding"] == "gzip"
    ((labels, value),) = entries([request])
    assert labels == {"service": "scorer", "level": "warning"}
    assert len(value) == 2  # no structured metadata
    assert json.loads(str(value[1]))["dataset"] == "libri"  # still in the line


def test_receiver_down_never_blocks_and_counts_drops(
    registry: CollectorRegistry, logger: logging.Logger
) -> None:
    handler = LokiHandler(
        f"http://127.0.0.1:{free_port()}",
        service="enhancer",
        registry=registry,
        retry=FAST_RETRY,
        timeout=2.0,
        flush_interval=0.05,
    )
    logger.addHandler(handler)
    # A blocked call would wait for the 2 s timeout; 0.5 s leaves room for a loaded
    # machine's scheduling and GIL switches.
    assert timed_logging(logger, 50) < 0.5
    handler.flush(10)

    assert dropped(registry, "retries_exhausted") == 50
    failures = registry.get_sample_value("vumeter_log_ship_failures_total", {"handler": "loki"})
    assert failures is not None
    assert failures >= FAST_RETRY.max_attempts
    assert shipped(registry) == 0


def test_slow_receiver_fills_the_queue_and_drops_the_rest(
    receiver: HttpReceiver, registry: CollectorRegistry, logger: logging.Logger
) -> None:
    receiver.delay = 3.0
    handler = LokiHandler(
        receiver.url,
        service="enhancer",
        registry=registry,
        retry=FAST_RETRY,
        timeout=1.0,
        max_queue=20,
        batch_size=10,
        flush_interval=0.01,
        close_timeout=1.0,
    )
    logger.addHandler(handler)
    # While the shipper waits on the receiver (3 s delay, 1 s timeout), no call blocks: a
    # blocked call would take the 1 s timeout, 0.5 s leaves room for a loaded machine.
    assert timed_logging(logger, 200) < 0.5
    assert dropped(registry, "queue_full") >= 150
    started = time.monotonic()
    logger.removeHandler(handler)
    handler.close()
    assert time.monotonic() - started < 3
    # The request in flight times out after close() returned; its batch is counted then.
    reasons = ("queue_full", "retries_exhausted", "shutdown", "rejected")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        accounted = sum(dropped(registry, reason) for reason in reasons) + shipped(registry)
        if accounted == 200:
            break
        time.sleep(0.05)
    assert accounted == 200  # every record delivered or counted as dropped, none lost


def test_server_errors_are_retried_until_they_stop(
    receiver: HttpReceiver, registry: CollectorRegistry, logger: logging.Logger
) -> None:
    receiver.status = 503
    receiver.retry_after = "0"
    handler = LokiHandler(
        receiver.url,
        service="enhancer",
        registry=registry,
        retry=RetryPolicy(max_attempts=50, initial_backoff=0.02, max_backoff=0.05),
        flush_interval=0.01,
    )
    logger.addHandler(handler)
    logger.error("eventually delivered")
    deadline = time.monotonic() + 5
    while receiver.attempts < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    receiver.status = 200
    handler.flush(5)

    assert shipped(registry) == 1
    assert receiver.attempts >= 4
    assert dropped(registry, "retries_exhausted") == 0
    ((_, value),) = entries(receiver.received)
    assert json.loads(str(value[1]))["message"] == "eventually delivered"


def test_rejected_batches_are_not_retried(
    receiver: HttpReceiver, registry: CollectorRegistry, logger: logging.Logger
) -> None:
    receiver.status = 400
    handler = LokiHandler(receiver.url, service="enhancer", registry=registry, retry=FAST_RETRY)
    logger.addHandler(handler)
    logger.error("entry too old")
    handler.flush(5)

    assert receiver.attempts == 1
    assert dropped(registry, "rejected") == 1


def test_shipper_trouble_is_logged_but_not_shipped_back(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    # The handler sits on the root logger, where the shipper's own warnings also arrive;
    # they must not be queued for Loki (a dead Loki would feed on them for ever).
    handler = LokiHandler(
        f"http://127.0.0.1:{free_port()}",
        service="enhancer",
        registry=registry,
        retry=RetryPolicy(max_attempts=1),
        flush_interval=0.01,
    )
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="vumeter.logs.shipping"):
            logging.getLogger("vumeter-tests.app").error("one record")
            handler.flush(5)
    finally:
        root.removeHandler(handler)
        handler.close()
    assert "loki log shipping failed" in caplog.text
    assert dropped(registry, "retries_exhausted") == 1  # the app's record, nothing else


def test_closed_handler_counts_late_records(
    receiver: HttpReceiver, registry: CollectorRegistry
) -> None:
    handler = LokiHandler(receiver.url, service="enhancer", registry=registry)
    handler.close()
    handler.close()  # idempotent
    handler.shipper.offer(object())  # type: ignore[arg-type]
    assert dropped(registry, "closed") == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "loki:3100", "service": "x"}, "url must be an http"),
        ({"url": "http://loki:3100", "service": ""}, "service must be a non-empty str"),
        ({"url": "http://loki:3100", "service": "x", "batch_size": 0}, "batch_size must be"),
        ({"url": "http://loki:3100", "service": "x", "timeout": 0}, "timeout must be > 0"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LokiHandler(registry=None, **kwargs)  # type: ignore[arg-type]


def test_retry_policy_validation_and_delays() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=4.0, jitter=0.0)
    assert [policy.delay(attempt) for attempt in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(1, retry_after=100.0) == 4.0
    with pytest.raises(ValueError, match="max_attempts must be an int >= 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter must be within"):
        RetryPolicy(jitter=1.5)


def test_a_forked_child_ships_its_own_records(
    receiver: HttpReceiver, registry: CollectorRegistry, logger: logging.Logger
) -> None:
    handler = LokiHandler(receiver.url, service="enhancer", registry=registry, flush_interval=0.05)
    logger.addHandler(handler)
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: log, deliver, report through the exit status only
        try:
            logger.error("from the child")
            handler.flush(5)
            os._exit(0 if handler.shipper.queued == 0 else 3)
        finally:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    logger.error("from the parent")
    handler.flush(5)

    messages = sorted(
        json.loads(str(value[1]))["message"] for _, value in entries(receiver.received)
    )
    assert messages == ["from the child", "from the parent"]
