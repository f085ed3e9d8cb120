"""The demo's traces and logs, in-process with spans in memory: one trace per sample from the
producer's enqueue through the worker's stages to the batch scorer's verdict; failed samples
marked; log lines carrying the ids; exemplars naming the samples' traces."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import vumeter
from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.demo.config import DemoConfig
from vumeter.demo.pipeline import AudioPipeline, JobFactory, SampleResult
from vumeter.demo.scoring import BatchScorer
from vumeter.demo.workers import DemoStats, WorkerPool, demo_tracer
from vumeter.logs import configure_logging
from vumeter.tracing import TracingSetup, inject

STAGES = ("generate", "mix", "enhance", "measure")
EXEMPLAR_TRACE = re.compile(r'# \{span_id="[0-9a-f]{16}",trace_id="([0-9a-f]{32})"\}')


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _run_pool(
    collector: MetricsCollector,
    tracing: TracingSetup,
    *,
    error_rate: float,
    until: Callable[[DemoStats], bool],
) -> DemoStats:
    config = DemoConfig(seed=11, error_rate=error_rate, clip_seconds=1.0, batch_size=2)
    stats = DemoStats()
    scorer = BatchScorer(
        collector,
        batch_size=config.batch_size,
        max_wait=30.0,
        with_pesq=False,
        exclusion_threshold=0.3,
        on_scored=stats.count_batch,
    )
    pool = WorkerPool(
        collector,
        AudioPipeline(collector, clip_seconds=config.clip_seconds, use_pesq=False),
        scorer,
        JobFactory(config),
        stats,
        workers=2,
        rate=25.0,
        queue_capacity=4,
        tracer=demo_tracer(tracing.provider),
    )
    pool.start()
    try:
        _wait_until(lambda: until(stats))
    finally:
        assert pool.stop(timeout=20.0)
    return stats


def _by_trace(spans: InMemorySpanExporter) -> dict[int, list[ReadableSpan]]:
    traces: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans.get_finished_spans():
        assert span.context is not None
        traces[span.context.trace_id].append(span)
    return traces


def _one(trace: list[ReadableSpan], name: str) -> ReadableSpan:
    (span,) = [span for span in trace if span.name == name]
    return span


def _span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def _trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


def _parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The demo logger's records as JSON lines in memory (they still reach the root logger)."""
    stream = io.StringIO()
    setup = configure_logging(
        level="DEBUG", stream=stream, registry=None, logger=logging.getLogger("vumeter.demo")
    )
    yield stream
    setup.close()


def test_a_sample_is_one_trace_from_enqueue_to_result(
    tracing: TracingSetup,
    spans: InMemorySpanExporter,
    collector: MetricsCollector,
    registry: CollectorRegistry,
) -> None:
    stats = _run_pool(
        collector, tracing, error_rate=0.3, until=lambda s: s.processed >= 4 and s.failed >= 2
    )
    processed, failed, _, _ = stats.snapshot()
    sample_traces: dict[str, list[ReadableSpan]] = {}
    score_traces = []
    for trace in _by_trace(spans).values():
        names = {span.name for span in trace}
        if names == {"score"}:
            score_traces.append(trace)
        elif "process_audio" in names:
            sample_id = str((_one(trace, "process_audio").attributes or {})["sample.id"])
            assert sample_id not in sample_traces, "a sample has one trace"
            sample_traces[sample_id] = trace
        else:  # the job the producer was making when it was stopped, never enqueued
            assert names == {"enqueue"}, names
    assert len(sample_traces) == processed + failed

    succeeded = 0
    for sample_id, trace in sample_traces.items():
        enqueue = _one(trace, "enqueue")
        sample = _one(trace, "process_audio")
        # The producer's span, continued in a worker thread by the consumer's.
        assert enqueue.kind is SpanKind.PRODUCER
        assert enqueue.parent is None
        assert dict(enqueue.attributes or {}) == {
            "sample.id": sample_id,
            "dataset.name": sample_id.rsplit("-", 1)[0],
        }
        assert sample.kind is SpanKind.CONSUMER
        assert _parent_id(sample) == _span_id(enqueue)
        stages = [span for span in trace if span.name in STAGES]
        assert stages
        assert all(_parent_id(stage) == _span_id(sample) for stage in stages)
        assert all((stage.attributes or {})["sample.id"] == sample_id for stage in stages)
        if sample.status.status_code is StatusCode.ERROR:
            # A failed sample: its failed stage says why, and it never reaches scoring.
            failed_stage = stages[-1]
            assert failed_stage.status.status_code is StatusCode.ERROR
            assert [event.name for event in failed_stage.events] == ["exception"]
            assert sample.status.description == failed_stage.status.description
            assert not any(span.name == "sample_result" for span in trace)
            continue
        succeeded += 1
        assert [stage.name for stage in stages] == list(STAGES)
        result = _one(trace, "sample_result")
        assert _parent_id(result) == _span_id(sample)
        attributes = dict(result.attributes or {})
        assert attributes["sample.id"] == sample_id
        score = attributes["quality.score"]
        assert isinstance(score, float)
        assert 0.0 <= score <= 1.0
        assert attributes["sample.excluded"] is (score < 0.3)
    assert succeeded == processed
    assert failed >= 2

    # Batches are scored in traces of their own, never under one of their samples'.
    assert score_traces
    assert all(_one(trace, "score").parent is None for trace in score_traces)

    # The metrics' exemplars name the samples' (and batches') traces.
    exposition = vumeter.generate_openmetrics(registry).decode()
    exemplar_traces = {int(trace_id, 16) for trace_id in EXEMPLAR_TRACE.findall(exposition)}
    sample_trace_ids = {_trace_id(trace[0]) for trace in sample_traces.values()}
    assert exemplar_traces & sample_trace_ids
    assert exemplar_traces <= sample_trace_ids | {_trace_id(trace[0]) for trace in score_traces}


def test_log_lines_of_a_sample_carry_its_trace_and_worker(
    tracing: TracingSetup,
    spans: InMemorySpanExporter,
    collector: MetricsCollector,
    json_logs: io.StringIO,
) -> None:
    _run_pool(
        collector, tracing, error_rate=0.3, until=lambda s: s.processed >= 3 and s.failed >= 2
    )
    sample_spans = {
        _span_id(span): span for span in spans.get_finished_spans() if span.name == "process_audio"
    }
    records: list[dict[str, Any]] = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    per_sample = [r for r in records if r["message"].startswith("sample ")]
    assert {"processed", "failed"} <= {r["message"].split()[2].rstrip(":") for r in per_sample}
    for record in per_sample:
        # Logged inside the sample's process_audio span, by a worker thread.
        span = sample_spans[int(record["span_id"], 16)]
        assert record["trace_id"] == f"{_trace_id(span):032x}"
        assert record["sample_id"] == (span.attributes or {})["sample.id"]
        assert record["sample_id"] in record["message"]
        assert record["dataset"] == (span.attributes or {})["dataset.name"]
        assert record["worker"] in ("demo-worker-0", "demo-worker-1")
    # The first failure of a kind is a warning; the sample's span is marked failed.
    warning = next(r for r in per_sample if r["level"] == "WARNING")
    failed_span = sample_spans[int(warning["span_id"], 16)]
    assert failed_span.status.status_code is StatusCode.ERROR


def _result(sample_id: str, trace_context: dict[str, str]) -> SampleResult:
    return SampleResult(
        sample_id=sample_id,
        dataset="vctk",
        input_snr_db=10.0,
        snr_db=15.0,
        stoi=0.9,
        pesq=None,
        trace_context=trace_context,
    )


def test_a_batch_is_scored_outside_the_trace_of_the_sample_that_filled_it(
    tracing: TracingSetup, spans: InMemorySpanExporter, collector: MetricsCollector
) -> None:
    assert tracing.provider is not None
    tracer = tracing.provider.get_tracer("test")
    scorer = BatchScorer(
        collector, batch_size=3, max_wait=30.0, with_pesq=False, exclusion_threshold=0.3
    )
    with tracer.start_as_current_span("first sample") as first:
        scorer.add(_result("vctk-1", dict(inject())))
    scorer.add(_result("vctk-2", {}))  # made outside any trace
    with tracer.start_as_current_span("third sample") as third:
        scorer.add(_result("vctk-3", dict(inject())))  # fills the batch: scored here

    finished = spans.get_finished_spans()
    (score,) = [span for span in finished if span.name == "score"]
    assert score.parent is None
    assert score.context is not None
    assert score.context.trace_id not in (
        first.get_span_context().trace_id,
        third.get_span_context().trace_id,
    )
    results = {
        str((span.attributes or {})["sample.id"]): span
        for span in finished
        if span.name == "sample_result"
    }
    assert set(results) == {"vctk-1", "vctk-3"}  # no trace to add vctk-2's verdict to
    for sample_id, sample_span in (("vctk-1", first), ("vctk-3", third)):
        assert results[sample_id].parent is not None
        assert results[sample_id].parent.span_id == sample_span.get_span_context().span_id
