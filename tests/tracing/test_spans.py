"""Spans of MetricsCollector.track_sample and track_operation, read from the SDK's in-memory
exporter: names, attributes, nesting, errors, and what happens without tracing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.logs import current_correlation
from vumeter.tracing import TracingSetup, enable_operation_spans, inject, record_span
from vumeter.tracing import spans as spans_module

pytestmark = pytest.mark.usefixtures("tracing")


def by_name(spans: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    finished = spans.get_finished_spans()
    named = {span.name: span for span in finished}
    assert len(named) == len(finished), f"span names repeat: {[s.name for s in finished]}"
    return named


def processed(registry: CollectorRegistry, status: str, op: str) -> float | None:
    return registry.get_sample_value(
        "audio_samples_processed_total",
        {"dataset": "libri", "processor": op, "status": status},
    )


def test_sample_span_with_a_stage_span_per_operation(
    collector: MetricsCollector, spans: InMemorySpanExporter, registry: CollectorRegistry
) -> None:
    with collector.track_sample("s-1", "libri"):
        with collector.track_operation("enhance", "libri", sample_id="s-1"):
            pass
        with collector.track_operation("score", "libri", sample_id="s-1"):
            pass

    named = by_name(spans)
    assert set(named) == {"process_audio", "enhance", "score"}
    sample = named["process_audio"]
    assert dict(sample.attributes or {}) == {"sample.id": "s-1", "dataset.name": "libri"}
    assert sample.kind is SpanKind.INTERNAL
    assert sample.parent is None
    for stage in ("enhance", "score"):
        span = named[stage]
        assert dict(span.attributes or {}) == {
            "processing.stage": stage,
            "dataset.name": "libri",
            "sample.id": "s-1",
        }
        assert span.parent is not None
        assert span.parent.span_id == sample.context.span_id
        assert span.context.trace_id == sample.context.trace_id
        assert span.status.status_code is StatusCode.UNSET
    # The service resource travels with every span.
    resource = dict(sample.resource.attributes)
    assert resource["service.name"] == "vumeter-test"
    assert resource["service.instance.id"] == "test-worker"
    assert "service.version" in resource
    # Tracing does not change the metrics.
    assert processed(registry, "success", "enhance") == 1


def test_failure_marks_both_spans_and_records_the_exception(
    collector: MetricsCollector, spans: InMemorySpanExporter, registry: CollectorRegistry
) -> None:
    with (
        pytest.raises(ValueError, match="clipped"),
        collector.track_sample("s-2", "libri"),
        collector.track_operation("enhance", "libri", sample_id="s-2"),
    ):
        raise ValueError("clipped input")

    named = by_name(spans)
    for name in ("enhance", "process_audio"):
        span = named[name]
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "ValueError: clipped input"
        (event,) = span.events
        assert event.name == "exception"
        attributes = dict(event.attributes or {})
        assert attributes["exception.type"] == "ValueError"
        assert attributes["exception.message"] == "clipped input"
        assert "Traceback" in str(attributes["exception.stacktrace"])
    assert processed(registry, "error", "enhance") == 1


def test_interruption_is_not_an_error(
    collector: MetricsCollector, spans: InMemorySpanExporter
) -> None:
    with pytest.raises(KeyboardInterrupt), collector.track_operation("enhance", "libri"):
        raise KeyboardInterrupt

    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
    assert dict(span.attributes or {})["processing.interrupted"] == "KeyboardInterrupt"


async def test_async_scopes_decorators_and_cancellation(
    collector: MetricsCollector, spans: InMemorySpanExporter
) -> None:
    @collector.track_operation("denoise", "libri")
    async def denoise() -> str:
        await asyncio.sleep(0)
        return "clean"

    async with collector.track_sample("s-3", "libri"):
        assert await denoise() == "clean"
        async with collector.track_operation("measure", "libri", sample_id="s-3"):
            await asyncio.sleep(0)

    async def cancelled() -> None:
        async with collector.track_operation("stalled", "libri"):
            await asyncio.sleep(10)

    task = asyncio.ensure_future(cancelled())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    named = by_name(spans)
    sample = named["process_audio"]
    for stage in ("denoise", "measure"):
        assert named[stage].parent is not None
        assert named[stage].parent.span_id == sample.context.span_id  # type: ignore[union-attr]
    stalled = named["stalled"]
    assert stalled.status.status_code is StatusCode.UNSET
    assert dict(stalled.attributes or {})["processing.interrupted"] == "CancelledError"
    # Every scope restored the context it found.
    assert not trace.get_current_span().get_span_context().is_valid


def test_sample_continues_a_trace_from_headers(
    collector: MetricsCollector, spans: InMemorySpanExporter, tracing: TracingSetup
) -> None:
    assert tracing.provider is not None
    tracer = tracing.provider.get_tracer("producer")
    with tracer.start_as_current_span("enqueue") as producer:
        headers = dict(inject())
    assert headers["traceparent"].startswith("00-")

    with collector.track_sample("s-4", "libri", parent=headers):
        pass

    sample = by_name(spans)["process_audio"]
    assert sample.kind is SpanKind.CONSUMER
    assert sample.context.trace_id == producer.get_span_context().trace_id
    assert sample.parent is not None
    assert sample.parent.span_id == producer.get_span_context().span_id


def test_sample_scope_sets_log_correlation(collector: MetricsCollector) -> None:
    assert "sample_id" not in current_correlation()
    with collector.track_sample("s-5", "libri"):
        correlation = current_correlation()
        assert correlation["sample_id"] == "s-5"
        assert correlation["dataset"] == "libri"
        span = trace.get_current_span().get_span_context()
        assert correlation["trace_id"] == f"{span.trace_id:032x}"
        assert correlation["span_id"] == f"{span.span_id:016x}"
    after = current_correlation()
    assert "sample_id" not in after
    assert "trace_id" not in after


@pytest.mark.parametrize(
    ("sample_id", "parent", "error", "message"),
    [
        ("", None, ValueError, "sample_id must be a non-empty str"),
        (7, None, TypeError, "sample_id must be a non-empty str"),
        ("s-6", "00-abc", TypeError, "parent must be an OpenTelemetry Context or a mapping"),
    ],
)
def test_track_sample_rejects_bad_arguments(
    collector: MetricsCollector,
    spans: InMemorySpanExporter,
    sample_id: Any,
    parent: Any,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        collector.track_sample(sample_id, "libri", parent=parent)
    assert spans.get_finished_spans() == ()


def test_a_scope_cannot_be_entered_twice(collector: MetricsCollector) -> None:
    scope = collector.track_sample("s-7", "libri")
    with scope, pytest.raises(RuntimeError, match="already running"), scope:
        pass


def test_after_shutdown_no_spans_are_made(
    collector: MetricsCollector, spans: InMemorySpanExporter, tracing: TracingSetup
) -> None:
    tracing.shutdown()
    with collector.track_sample("s-8", "libri"), collector.track_operation("enhance", "libri"):
        pass
    assert spans.get_finished_spans() == ()


class _BrokenTracer(trace.NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        raise RuntimeError("exporter exploded")


class _BrokenProvider(trace.NoOpTracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _BrokenTracer()


def test_a_broken_tracer_never_breaks_the_work(
    collector: MetricsCollector,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spans_module, "_reported", False)
    enable_operation_spans(_BrokenProvider())
    with caplog.at_level(logging.ERROR, logger="vumeter.tracing"):
        for _ in range(3):
            with (
                collector.track_sample("s-9", "libri"),
                collector.track_operation("enhance", "libri"),
            ):
                pass

    assert processed(registry, "success", "enhance") == 3
    assert current_correlation().get("sample_id") is None
    # Reported once, with the cause; not once per sample.
    (report,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "tracing continues without it" in report.getMessage()
    assert report.exc_info is not None
    assert "exporter exploded" in str(report.exc_info[1])


def test_record_span_puts_a_batch_verdict_into_each_sample_trace(
    collector: MetricsCollector, spans: InMemorySpanExporter
) -> None:
    carriers = []
    for sample_id in ("s-10", "s-11"):
        with collector.track_sample(sample_id, "libri"):
            carriers.append(dict(inject()))
    for carrier, score in zip(carriers, (0.8, 0.3), strict=True):
        record_span("sample_result", carrier, {"quality.score": score})
    record_span("sample_result", {"traceparent": "garbage"})  # a new trace, no error

    samples = [s for s in spans.get_finished_spans() if s.name == "process_audio"]
    results = [s for s in spans.get_finished_spans() if s.name == "sample_result"]
    for sample, result, score in zip(samples, results, (0.8, 0.3), strict=False):
        assert result.context.trace_id == sample.context.trace_id
        assert result.parent is not None
        assert result.parent.span_id == sample.context.span_id
        assert dict(result.attributes or {}) == {"quality.score": score}
    assert len(results) == 3
    assert results[2].parent is None
