"""A small pipeline wired the way the demo is: a producer enqueues samples with their trace
context, worker threads continue it, logs are JSON lines. One trace per sample from enqueue to
result; every traced log line carries the ids; the exemplars' trace ids are in the logs."""

from __future__ import annotations

import io
import json
import logging
import queue
import re
import threading
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import vumeter
from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.logs import configure_logging, log_context
from vumeter.tracing import TracingSetup, extract_from_message, inject_into_message

SAMPLES = 8
FAILING = "libri-0003"


def test_one_trace_per_sample_with_correlated_logs_and_exemplars(
    tracing: TracingSetup,
    collector: MetricsCollector,
    registry: CollectorRegistry,
    spans: InMemorySpanExporter,
) -> None:
    assert tracing.provider is not None
    tracer = tracing.provider.get_tracer("pipeline")
    log = logging.getLogger("vumeter-tests.pipeline")
    log.propagate = False
    stream = io.StringIO()
    setup = configure_logging(
        level="DEBUG", stream=stream, registry=registry, logger=log, worker="host-1"
    )
    messages: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def produce() -> None:
        for index in range(SAMPLES):
            sample_id = f"libri-{index:04d}"
            with tracer.start_as_current_span("enqueue", attributes={"sample.id": sample_id}):
                messages.put(inject_into_message({"sample_id": sample_id, "dataset": "libri"}))
                log.info("enqueued %s", sample_id)
        for _ in range(2):
            messages.put(None)

    def work(name: str) -> None:
        with log_context(worker=name):
            while (message := messages.get(timeout=10)) is not None:
                sample_id = message["sample_id"]
                parent = extract_from_message(message)
                # The whole of a sample's handling, failure log included, is in its scope.
                with collector.track_sample(sample_id, "libri", parent=parent):
                    try:
                        with collector.track_operation("enhance", "libri", sample_id=sample_id):
                            log.debug("enhanced")
                        with collector.track_operation("measure", "libri", sample_id=sample_id):
                            if sample_id == FAILING:
                                raise ValueError("silent clip")
                        log.info("scored")
                    except ValueError:
                        log.exception("sample failed")

    threads = [threading.Thread(target=produce)]
    threads += [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        logged_errors = registry.get_sample_value(
            "vumeter_log_messages_total", {"level": "ERROR", "logger": log.name}
        )
    finally:
        setup.close()

    # One trace per sample: enqueue -> process_audio -> stages.
    finished = spans.get_finished_spans()
    traces: dict[int, set[str]] = {}
    for span in finished:
        traces.setdefault(span.context.trace_id, set()).add(span.name)
    assert len(traces) == SAMPLES
    assert all(
        names == {"enqueue", "process_audio", "enhance", "measure"} for names in traces.values()
    )
    sample_of_trace = {
        span.context.trace_id: str((span.attributes or {})["sample.id"])
        for span in finished
        if span.name == "process_audio"
    }

    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(records) == SAMPLES * 3  # enqueued, enhanced, scored or failed
    for record in records:
        assert {"trace_id", "span_id"} <= set(record), record
        trace_id = int(record["trace_id"], 16)
        if record["message"].startswith("enqueued"):
            assert record["worker"] == "host-1"
            continue
        assert record["sample_id"] == sample_of_trace[trace_id]
        assert record["dataset"] == "libri"
        assert record["worker"] in ("worker-0", "worker-1")
    (failure,) = [r for r in records if r["message"] == "sample failed"]
    assert failure["sample_id"] == FAILING
    assert failure["level"] == "ERROR"
    assert "ValueError: silent clip" in failure["exception"]

    # Exemplars point at traces whose log lines can be found.
    exposition = vumeter.generate_openmetrics(registry).decode()
    exemplar_traces = set(re.findall(r'trace_id="([0-9a-f]{32})"', exposition))
    assert exemplar_traces
    logged_traces = {record["trace_id"] for record in records}
    assert exemplar_traces <= logged_traces
    assert logged_errors == 1
