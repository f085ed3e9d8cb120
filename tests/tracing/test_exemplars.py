"""Automatic exemplars in the OpenMetrics exposition: observations inside a sampled span carry
its trace_id and span_id, with nothing attached otherwise."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import vumeter
from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.tracing import (
    TracingSetup,
    disable_exemplars,
    enable_exemplars,
    exemplar_labels,
    exemplars_enabled,
)

EXEMPLAR = re.compile(r'# \{span_id="([0-9a-f]{16})",trace_id="([0-9a-f]{32})"\}')


def exposition(registry: CollectorRegistry) -> str:
    return vumeter.generate_openmetrics(registry).decode()


def span_ids(span: object) -> tuple[str, str]:
    context = span.get_span_context()  # type: ignore[attr-defined]
    return f"{context.span_id:016x}", f"{context.trace_id:032x}"


def test_metrics_inside_a_span_name_it(tracing: TracingSetup, registry: CollectorRegistry) -> None:
    assert tracing.exemplars
    assert exemplars_enabled()
    assert tracing.provider is not None
    requests = vumeter.Counter("requests", "Requests.", registry=registry)
    latency = vumeter.Histogram("latency_seconds", "Latency.", registry=registry, buckets=[0.1, 1])
    requests.inc()
    latency.observe(0.05)
    assert EXEMPLAR.search(exposition(registry)) is None  # outside any span: nothing

    with tracing.provider.get_tracer("test").start_as_current_span("request") as span:
        requests.inc()
        latency.observe(0.5)
        latency.observe_many(np.array([5.0]))  # a batch has no single trace: no exemplar
    text = exposition(registry)
    expected = '# {{span_id="{}",trace_id="{}"}}'.format(*span_ids(span))
    assert f"requests_total 2.0 {expected} 1.0" in text
    assert f'latency_seconds_bucket{{le="1.0"}} 2.0 {expected} 0.5' in text
    assert 'latency_seconds_bucket{le="+Inf"} 3.0\n' in text


def test_track_operation_exemplars_name_the_operation_span(
    tracing: TracingSetup, collector: MetricsCollector, registry: CollectorRegistry, spans: object
) -> None:
    with (
        collector.track_sample("s-1", "libri"),
        collector.track_operation("enhance", "libri", sample_id="s-1"),
    ):
        pass
    (enhance,) = [s for s in spans.get_finished_spans() if s.name == "enhance"]  # type: ignore[attr-defined]
    text = exposition(registry)
    found = {match.groups() for match in EXEMPLAR.finditer(text)}
    assert found == {(f"{enhance.context.span_id:016x}", f"{enhance.context.trace_id:032x}")}
    processed = re.search(
        r'^audio_samples_processed_total\{.*status="success"\} 1.0 # .*$', text, re.M
    )
    assert processed is not None


def test_unsampled_spans_explicit_exemplars_and_disabling(
    tracing: TracingSetup, registry: CollectorRegistry
) -> None:
    counter = vumeter.Counter("jobs", "Jobs.", registry=registry)
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test")
    with unsampled.start_as_current_span("dropped"):
        counter.inc()
    assert EXEMPLAR.search(exposition(registry)) is None

    assert tracing.provider is not None
    with tracing.provider.get_tracer("test").start_as_current_span("kept"):
        counter.inc(exemplar={"request_id": "r-1"})  # explicit wins
    assert '# {request_id="r-1"} 1.0' in exposition(registry)

    disable_exemplars()
    assert not exemplars_enabled()
    with tracing.provider.get_tracer("test").start_as_current_span("off"):
        counter.inc(5)
    assert 'jobs_total 7.0 # {request_id="r-1"}' in exposition(registry)


def test_exemplar_labels_of_spans() -> None:
    trace_id, span_id = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
    sampled = NonRecordingSpan(SpanContext(trace_id, span_id, False, TraceFlags(0x01)))
    assert exemplar_labels(sampled) == {
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
    }
    unsampled = NonRecordingSpan(SpanContext(trace_id, span_id, False, TraceFlags(0x00)))
    assert exemplar_labels(unsampled) is None
    assert exemplar_labels(NonRecordingSpan(SpanContext(0, 0, False))) is None
    assert exemplar_labels("not a span") is None


def test_other_runtime_contexts_fall_back_without_exemplars(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class ThreadLocalRuntimeContext:  # what OTEL_PYTHON_CONTEXT could load instead
        pass

    monkeypatch.setattr(otel_context, "_RUNTIME_CONTEXT", ThreadLocalRuntimeContext())
    with caplog.at_level(logging.WARNING, logger="vumeter.tracing"):
        assert enable_exemplars() is False
    assert not exemplars_enabled()
    assert "ThreadLocalRuntimeContext" in caplog.text
    assert "explicit exemplar= still works" in caplog.text
