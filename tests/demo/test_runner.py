"""``run_demo`` in-process: start-up, the banner, the summary, a port that is taken, and the
logs and traces it sets up for the run (and takes down after it)."""

from __future__ import annotations

import io
import json
import logging
import socket

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from vumeter import CollectorRegistry
from vumeter.demo import DemoConfig, run_demo
from vumeter.runtime import span_source
from vumeter.tracing import exemplars_enabled

QUICK = {"port": 0, "rate": 8.0, "batch_size": 2, "gpu_poll_interval": 0.0, "grace_period": 0.0}
# OpenTelemetry allows one global tracer provider per process: leave it to the CLI.
IN_PROCESS = {"install_tracing_globally": False}


def test_run_demo_records_into_the_given_registry_and_returns_0() -> None:
    registry = CollectorRegistry()
    out = io.StringIO()
    config = DemoConfig(duration=1.5, seed=4, datasets=("vctk", "custom-set"), **QUICK)
    assert run_demo(config, registry=registry, out=out, **IN_PROCESS) == 0

    text = out.getvalue()
    assert "vumeter demo: 2 datasets (vctk, custom-set), 2 workers, 8 samples/s, for 1.5 s" in text
    assert "/metrics" in text
    assert "traces:     kept in-process; OTEL_TRACES_EXPORTER=console or otlp" in text
    assert "stopped after" in text
    assert "(the duration ended)" in text
    for dataset in ("vctk", "custom-set"):
        scored = registry.get_sample_value("audio_quality_score_count", {"dataset": dataset})
        assert scored is not None
        assert scored >= 1, dataset
    # After shutdown the workers are gone and nothing is left waiting.
    assert (
        registry.get_sample_value("audio_processing_active_workers", {"worker_type": "pipeline"})
        == 0.0
    )


def test_run_demo_says_what_is_wrong_when_the_port_is_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = DemoConfig(duration=1.0, **{**QUICK, "port": port})
        with caplog.at_level(logging.ERROR, logger="vumeter.demo"):
            assert (
                run_demo(config, registry=CollectorRegistry(), out=io.StringIO(), **IN_PROCESS) == 1
            )
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text


def test_a_bad_tracing_setting_stops_the_demo_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    config = DemoConfig(duration=1.0, **QUICK)
    with caplog.at_level(logging.ERROR, logger="vumeter.demo"):
        assert run_demo(config, registry=CollectorRegistry(), out=io.StringIO(), **IN_PROCESS) == 1
    assert "vumeter demo cannot set up tracing: unknown trace exporter 'zipkin'" in caplog.text


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_run_demo_logs_in_the_chosen_format_and_restores_logging_and_tracing(
    capsys: pytest.CaptureFixture[str], log_format: str
) -> None:
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    registry = CollectorRegistry()
    spans = InMemorySpanExporter()
    config = DemoConfig(
        duration=1.5, seed=4, error_rate=0.3, log_level="debug", log_format=log_format, **QUICK
    )
    code = run_demo(
        config,
        registry=registry,
        out=io.StringIO(),
        span_processors=[SimpleSpanProcessor(spans)],
        **IN_PROCESS,
    )
    assert code == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines
    if log_format == "json":
        # Standard error carries JSON lines and nothing else (no progress bar).
        records = [json.loads(line) for line in lines]
        assert all(record["service"] == "vumeter-demo" for record in records)
        per_sample = [r for r in records if r["message"].startswith("sample ")]
        assert per_sample
        for record in per_sample:
            assert {"trace_id", "span_id", "sample_id", "dataset", "worker"} <= set(record)
        assert {r["trace_id"] for r in per_sample} <= {
            f"{span.context.trace_id:032x}" for span in spans.get_finished_spans() if span.context
        }
    else:
        assert not any(line.startswith("{") for line in lines)
        assert any(" INFO vumeter.server: serving metrics and health on " in line for line in lines)
        samples = [line for line in lines if " vumeter.demo: sample " in line]
        assert samples
        # Readable lines, with the ids in a bracket at the end.
        assert all("[trace_id=" in line and "sample_id=" in line for line in samples)
    names = {span.name for span in spans.get_finished_spans()}
    assert {"enqueue", "process_audio", "measure", "sample_result", "score"} <= names
    # The log metric (served during the run, see the end-to-end test) left with its handler.
    debug = registry.get_sample_value(
        "vumeter_log_messages_total", {"level": "DEBUG", "logger": "vumeter.demo"}
    )
    assert debug is None
    # Everything the run set up is taken down again.
    assert root.handlers == handlers_before
    assert root.level == level_before
    assert span_source() is None
    assert not exemplars_enabled()
