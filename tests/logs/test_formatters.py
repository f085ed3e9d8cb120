"""JSON lines and text records with correlation ids, inside and outside spans."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import threading
from datetime import datetime
from typing import Any

import pytest
from opentelemetry import trace

from tests.logs.conftest import span_ids
from vumeter.logs import (
    CorrelationFilter,
    JsonFormatter,
    TextFormatter,
    current_correlation,
    log_context,
    set_default_worker,
)


def capture(logger: logging.Logger, formatter: logging.Formatter) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(CorrelationFilter())
    logger.addHandler(handler)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_record_outside_any_context(logger: logging.Logger) -> None:
    stream = capture(logger, JsonFormatter())
    logger.info("loaded %d models", 3)

    (record,) = lines(stream)
    assert list(record) == ["timestamp", "level", "logger", "message"]
    assert record["level"] == "INFO"
    assert record["logger"] == logger.name
    assert record["message"] == "loaded 3 models"
    parsed = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    assert record["timestamp"].endswith("Z")


def test_json_record_inside_span_and_sample(logger: logging.Logger, tracer: trace.Tracer) -> None:
    stream = capture(logger, JsonFormatter({"service": "enhancer"}))
    with (
        tracer.start_as_current_span("process_audio") as span,
        log_context(sample_id="s-1", dataset="libri", worker="gpu-0"),
    ):
        logger.warning("slow sample")
    logger.warning("after")

    inside, after = lines(stream)
    trace_id, span_id = span_ids(span)
    assert inside == {
        "timestamp": inside["timestamp"],
        "level": "WARNING",
        "logger": logger.name,
        "message": "slow sample",
        "service": "enhancer",
        "trace_id": trace_id,
        "span_id": span_id,
        "sample_id": "s-1",
        "dataset": "libri",
        "worker": "gpu-0",
    }
    assert len(trace_id) == 32
    assert len(span_id) == 16
    assert set(after) == {"timestamp", "level", "logger", "message", "service"}


def test_exceptions_stacks_and_extra_fields(logger: logging.Logger) -> None:
    stream = capture(logger, JsonFormatter())
    try:
        raise ValueError("bad clip")
    except ValueError:
        logger.exception(
            "failed",
            extra={
                "duration_s": 0.25,
                "shape": (2, 3),
                "snr": math.nan,
                "path": object(),
                "level": "clash",
                "sample_id": "explicit-1",
            },
        )
    logger.info("here", stack_info=True)

    failed, stacked = lines(stream)
    assert failed["message"] == "failed"
    assert failed["exception_type"] == "ValueError"
    assert failed["exception"].startswith("Traceback (most recent call last)")
    assert "ValueError: bad clip" in failed["exception"]
    assert failed["duration_s"] == 0.25
    assert failed["shape"] == [2, 3]
    assert failed["snr"] == "nan"  # NaN is not JSON; the line stays parseable
    assert failed["path"].startswith("<object object")
    assert failed["extra_level"] == "clash"
    assert failed["level"] == "ERROR"
    assert failed["sample_id"] == "explicit-1"  # an explicit id wins over the context
    assert "test_exceptions_stacks_and_extra_fields" in stacked["stack"]


def test_text_format_shows_known_ids(logger: logging.Logger, tracer: trace.Tracer) -> None:
    stream = capture(logger, TextFormatter())
    logger.info("plain")
    with tracer.start_as_current_span("x") as span, log_context(sample_id="s-2"):
        logger.error("traced")

    plain, traced = stream.getvalue().splitlines()
    assert plain.endswith(f"INFO {logger.name}: plain")
    trace_id, span_id = span_ids(span)
    assert traced.endswith(
        f"ERROR {logger.name}: traced [trace_id={trace_id} span_id={span_id} sample_id=s-2]"
    )


def test_records_are_stamped_in_the_logging_thread(
    logger: logging.Logger, tracer: trace.Tracer
) -> None:
    # A record formatted in another thread (as the shipping handlers do) keeps the ids of
    # the thread that logged it.
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    keep.addFilter(CorrelationFilter())
    logger.addHandler(keep)
    with tracer.start_as_current_span("x") as span, log_context(dataset="libri"):
        logger.info("stamped")
    formatted: list[str] = []
    thread = threading.Thread(target=lambda: formatted.append(JsonFormatter().format(records[0])))
    thread.start()
    thread.join(5)

    record = json.loads(formatted[0])
    assert (record["trace_id"], record["span_id"]) == span_ids(span)
    assert record["dataset"] == "libri"


def test_default_worker_and_nesting() -> None:
    set_default_worker("host-1")
    try:
        assert current_correlation() == {"worker": "host-1"}
        with log_context(worker="w-2", dataset="libri"):
            with log_context(sample_id="s-3"):
                assert current_correlation() == {
                    "worker": "w-2",
                    "dataset": "libri",
                    "sample_id": "s-3",
                }
            assert "sample_id" not in current_correlation()
        assert current_correlation() == {"worker": "host-1"}
    finally:
        set_default_worker(None)
    assert current_correlation() == {}
    with (
        pytest.raises(TypeError, match="sample_id must be a str or None"),
        log_context(sample_id=5),  # type: ignore[arg-type]
    ):
        pass
    with pytest.raises(ValueError, match="worker must be a non-empty str"):
        set_default_worker("")


async def test_concurrent_tasks_do_not_share_ids() -> None:
    async def sample(sample_id: str) -> str | None:
        with log_context(sample_id=sample_id):
            await asyncio.sleep(0.01)
            return current_correlation().get("sample_id")

    results = await asyncio.gather(*(sample(f"s-{index}") for index in range(5)))
    assert results == [f"s-{index}" for index in range(5)]


def test_static_fields_cannot_replace_standard_ones() -> None:
    with pytest.raises(ValueError, match=r"static_fields must not replace .*'trace_id'"):
        JsonFormatter({"trace_id": "x"})
