"""``vumeter demo`` as a user runs it: a subprocess that serves metrics that pass
``promtool check metrics``, stops cleanly at the end of its duration, on SIGTERM or Ctrl-C,
pushes to a real Pushgateway, and writes JSON log lines whose trace ids its exemplars name."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest

from tests.demo.demo_process import LIGHT_LOAD, Demo
from tests.support.binaries import require_binary
from tests.support.gateways import running_pushgateway


def test_demo_serves_lint_free_metrics_and_exits_0_when_the_duration_ends(
    demos: list[Demo],
) -> None:
    demo = Demo("--duration", "8", "--error-rate", "0.2", "--grace-period", "1", *LIGHT_LOAD)
    demos.append(demo)
    demo.wait_ready()
    demo.wait_for("audio_samples_processed_total", 3, status="success", processor="measure")
    demo.wait_for("audio_quality_score_count", 3)
    demo.wait_for("audio_processing_errors_total", 1)
    assert demo.total("audio_processing_active_workers", worker_type="pipeline") == 2.0
    assert demo.total("audio_processing_duration_seconds_count", operation="enhance") >= 3
    assert demo.total("audio_stoi_score_count") >= 3
    assert demo.total("audio_pesq_score_count") >= 3
    text = demo.scrape()
    assert "process_cpu_seconds_total" in text  # the default registry's process collector
    checked = subprocess.run(
        [require_binary("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    code, out, err = demo.finish()
    assert code == 0, err
    assert f"metrics:    {demo.url}/metrics" in out
    assert "stopped after" in out
    assert "(the duration ended)" in out
    assert "Traceback" not in err
    # The default log format is text for people (--log-format json is tested below).
    assert " INFO vumeter.server: serving metrics and health on " in err
    assert not err.startswith("{")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_demo_drains_and_exits_0_on_a_signal(demos: list[Demo], signum: signal.Signals) -> None:
    grace = 3.0  # long enough that a loaded machine still polls readiness inside it
    demo = Demo("--duration", "0", "--grace-period", str(grace), *LIGHT_LOAD)
    demos.append(demo)
    demo.wait_ready()
    demo.wait_for("audio_samples_processed_total", 1, status="success", processor="measure")
    demo.process.send_signal(signum)
    # Readiness fails at once while /metrics still answers during the grace period.
    deadline = time.monotonic() + grace
    while (status := demo.status("/readyz")) == 200:
        assert time.monotonic() < deadline, "readiness did not fail after the signal"
        time.sleep(0.05)
    assert status == 503
    processed = demo.total("audio_samples_processed_total", processor="measure")
    assert processed >= 1

    code, out, err = demo.finish()
    assert code == 0, err
    assert f"({signum.name} was received)" in out
    assert "Traceback" not in err


def test_demo_pushes_to_a_pushgateway(demos: list[Demo]) -> None:
    with running_pushgateway() as gateway:
        demo = Demo(
            "--duration", "4", "--grace-period", "0", "--push-gateway", gateway.url,
            "--push-interval", "1", *LIGHT_LOAD,
        )  # fmt: skip
        demos.append(demo)
        code, out, err = demo.finish()
        assert code == 0, err
        assert f"pushing to: {gateway.url} every 1 s (job=vumeter-demo)" in out
        pushed = gateway.sample(
            "audio_samples_processed_total",
            job="vumeter-demo",
            processor="measure",
            status="success",
        )
        assert pushed is not None
        assert pushed >= 1
        assert gateway.sample("push_time_seconds", job="vumeter-demo") is not None


def test_demo_logs_json_lines_whose_trace_ids_the_exemplars_name(demos: list[Demo]) -> None:
    demo = Demo(
        "--duration", "0", "--grace-period", "0", "--log-format", "json", "--log-level", "debug",
        "--error-rate", "0.2", *LIGHT_LOAD,
    )  # fmt: skip
    demos.append(demo)
    demo.wait_ready()
    demo.wait_for("audio_samples_processed_total", 5, status="success", processor="measure")
    demo.wait_for("audio_processing_errors_total", 1)
    exposition = demo.scrape(accept="application/openmetrics-text; version=1.0.0")
    assert exposition.endswith("# EOF\n")
    exemplar_traces = set(
        re.findall(r'# \{span_id="[0-9a-f]{16}",trace_id="([0-9a-f]{32})"\}', exposition)
    )
    assert exemplar_traces
    assert re.search(
        r'^vumeter_log_messages_total\{level="DEBUG",logger="vumeter.demo"\} ', exposition, re.M
    )
    demo.process.send_signal(signal.SIGTERM)
    code, out, err = demo.finish()
    assert code == 0, err
    assert "traces:     kept in-process; OTEL_TRACES_EXPORTER=console or otlp" in out

    # Standard error is JSON lines only: no progress bar, no plain-text line.
    lines = err.splitlines()
    assert lines
    assert all(line.startswith("{") for line in lines), err
    records = [json.loads(line) for line in lines]
    assert all(record["service"] == "vumeter-demo" for record in records)
    traced = [record for record in records if "trace_id" in record]
    processed = [
        r for r in traced if r["message"].startswith("sample ") and "processed" in r["message"]
    ]
    failed = [r for r in traced if r["message"].startswith("sample ") and "failed" in r["message"]]
    assert len(processed) >= 5
    assert failed
    for record in traced:
        assert re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
        assert re.fullmatch(r"[0-9a-f]{16}", record["span_id"])
        assert record["sample_id"] in record["message"]
        assert record["dataset"] == record["sample_id"].rsplit("-", 1)[0]
        assert record["worker"] in ("demo-worker-0", "demo-worker-1")
    # One trace per sample, so a sample's lines share one trace id.
    samples_of_trace: dict[str, set[str]] = {}
    for record in traced:
        samples_of_trace.setdefault(record["trace_id"], set()).add(record["sample_id"])
    assert all(len(samples) == 1 for samples in samples_of_trace.values())
    # From a latency bucket or error count on /metrics to the log lines of that sample.
    assert exemplar_traces & set(samples_of_trace)
