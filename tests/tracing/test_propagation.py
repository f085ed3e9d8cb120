"""W3C trace context across queue messages, threads and a process boundary."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from vumeter.audio import MetricsCollector
from vumeter.logs import current_correlation, log_context
from vumeter.tracing import (
    MESSAGE_CONTEXT_KEY,
    TracingSetup,
    attached,
    bind_context,
    extract,
    extract_from_message,
    inject,
    inject_into_message,
)


def tracer(tracing: TracingSetup) -> trace.Tracer:
    assert tracing.provider is not None
    return tracing.provider.get_tracer("test")


def ids(span: trace.Span) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_message_round_trip_through_json(tracing: TracingSetup) -> None:
    with tracer(tracing).start_as_current_span("enqueue") as producer:
        message = inject_into_message({"sample_id": "s-1", "dataset": "libri"})
    wire = json.loads(json.dumps(message))  # what a real queue would do to it
    trace_id, span_id = ids(producer)
    version, sent_trace_id, sent_span_id, flags = wire[MESSAGE_CONTEXT_KEY]["traceparent"].split(
        "-"
    )
    assert (version, sent_trace_id, sent_span_id) == ("00", trace_id, span_id)
    assert int(flags, 16) & 0x01  # sampled (0x02, W3C level 2's "random", may be set too)

    continued = trace.get_current_span(extract_from_message(wire)).get_span_context()
    assert continued.is_remote
    assert (f"{continued.trace_id:032x}", f"{continued.span_id:016x}") == (trace_id, span_id)


@pytest.mark.parametrize(
    "carrier",
    [
        None,
        {},
        {"traceparent": "garbage"},
        {"traceparent": "00-" + "0" * 32 + "-" + "1" * 16 + "-01"},  # all-zero trace id
        {"traceparent": 17},
        "00-abc",
    ],
    ids=["none", "empty", "garbage", "zero-trace", "not-a-string", "not-a-mapping"],
)
def test_bad_carriers_start_a_new_trace(carrier: Any) -> None:
    context = extract(carrier)
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_messages_outside_spans_and_bad_arguments() -> None:
    assert inject_into_message({})[MESSAGE_CONTEXT_KEY] == {}
    assert not trace.get_current_span(extract_from_message({})).get_span_context().is_valid
    with pytest.raises(TypeError, match="message must be a mutable mapping"):
        inject_into_message(("not", "a", "dict"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="message must be a mapping"):
        extract_from_message(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="carrier must be a mutable mapping"):
        inject(frozenset())  # type: ignore[arg-type]
    with (
        pytest.raises(TypeError, match="context must be an OpenTelemetry Context"),
        attached({"traceparent": "x"}),  # type: ignore[arg-type]
    ):
        pass


def test_bind_context_carries_span_and_log_ids_into_threads(tracing: TracingSetup) -> None:
    seen: queue.Queue[dict[str, str]] = queue.Queue()

    def work() -> None:
        seen.put(dict(current_correlation()))

    with (
        tracer(tracing).start_as_current_span("batch") as span,
        log_context(sample_id="s-2", dataset="libri", worker="w-1"),
    ):
        bound = bind_context(work)
        threads = [threading.Thread(target=bound) for _ in range(3)]
    unbound = threading.Thread(target=work)
    for thread in (*threads, unbound):
        thread.start()
        thread.join(5)

    trace_id, span_id = ids(span)
    results = [seen.get_nowait() for _ in range(4)]
    expected = {
        "trace_id": trace_id,
        "span_id": span_id,
        "sample_id": "s-2",
        "dataset": "libri",
        "worker": "w-1",
    }
    assert results[:3] == [expected] * 3
    assert results[3] == {}  # a thread started without it knows nothing


def test_queue_hand_off_between_threads_is_one_trace(
    tracing: TracingSetup, collector: MetricsCollector, spans: InMemorySpanExporter
) -> None:
    messages: queue.Queue[dict[str, Any]] = queue.Queue()

    def consume() -> None:
        message = messages.get(timeout=5)
        parent = extract_from_message(message)
        with (
            collector.track_sample(message["sample_id"], message["dataset"], parent=parent),
            collector.track_operation("enhance", message["dataset"]),
        ):
            pass

    consumer = threading.Thread(target=consume)
    consumer.start()
    with tracer(tracing).start_as_current_span("enqueue") as producer:
        messages.put(inject_into_message({"sample_id": "s-3", "dataset": "libri"}))
    consumer.join(5)

    finished = {span.name: span for span in spans.get_finished_spans()}
    trace_id = producer.get_span_context().trace_id
    assert {span.context.trace_id for span in finished.values()} == {trace_id}
    assert finished["process_audio"].parent.span_id == producer.get_span_context().span_id  # type: ignore[union-attr]
    assert finished["enhance"].parent.span_id == finished["process_audio"].context.span_id  # type: ignore[union-attr]


# The child process: continues the trace from the carrier it reads on stdin, in a sample
# span of its own, logging a JSON line inside; prints its span as JSON on the last line.
_CHILD = """
import json, logging, sys
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector
from vumeter.logs import configure_logging
from vumeter.tracing import setup_tracing

exporter = InMemorySpanExporter()
tracing = setup_tracing("child", exporters="none", span_processors=[SimpleSpanProcessor(exporter)])
logs = configure_logging(format="json", stream=sys.stdout, registry=None, worker="child-1")
collector = MetricsCollector(AudioProcessingMetrics(CollectorRegistry()))
carrier = json.load(sys.stdin)
with collector.track_sample("s-4", "libri", parent=carrier):
    logging.getLogger("child").info("processing in the child")
logs.close()
(span,) = exporter.get_finished_spans()
print(json.dumps({
    "trace_id": f"{span.context.trace_id:032x}",
    "parent_span_id": f"{span.parent.span_id:016x}",
    "span_id": f"{span.context.span_id:016x}",
}))
"""


def test_trace_continues_in_another_process(tracing: TracingSetup) -> None:
    with tracer(tracing).start_as_current_span("dispatch") as span:
        carrier = dict(inject())
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(carrier),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    log_line, span_line = completed.stdout.strip().splitlines()
    child_span = json.loads(span_line)
    trace_id, span_id = ids(span)
    assert child_span["trace_id"] == trace_id
    assert child_span["parent_span_id"] == span_id
    record = json.loads(log_line)
    assert record["message"] == "processing in the child"
    assert record["trace_id"] == trace_id
    assert record["span_id"] == child_span["span_id"]
    assert record["sample_id"] == "s-4"
    assert record["worker"] == "child-1"
