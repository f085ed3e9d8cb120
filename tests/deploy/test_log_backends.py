"""The log and trace back-end configurations in deploy/ (Loki, Tempo, the OpenTelemetry
Collector, Grafana's data sources) agree with each other and with what vumeter writes.

The back ends are not started here (they are not installed with the test dependencies); what
can be checked without them is: retention is on, every pipeline names defined components,
every host and port exists on the other side, and the patterns that parse or link vumeter's
log lines match lines that vumeter's own formatter writes.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.sdk.trace import TracerProvider

from vumeter.logs import JsonFormatter, log_context

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LOKI = yaml.safe_load((DEPLOY / "loki" / "loki.yaml").read_text(encoding="utf-8"))
TEMPO = yaml.safe_load((DEPLOY / "tempo" / "tempo.yaml").read_text(encoding="utf-8"))
COLLECTOR = yaml.safe_load((DEPLOY / "otel-collector" / "config.yaml").read_text(encoding="utf-8"))
DATASOURCES_PATH = DEPLOY / "grafana" / "provisioning" / "datasources" / "loki-tempo.yaml"
DATASOURCES = {s["uid"]: s for s in yaml.safe_load(DATASOURCES_PATH.read_text())["datasources"]}


def hours(duration: str) -> float:
    match = re.fullmatch(r"(\d+)h", duration)
    assert match, f"expected a duration in hours such as 744h, got {duration!r}"
    return float(match.group(1))


def traced_json_line() -> tuple[str, str]:
    """A JSON line as vumeter writes it inside a span, and that span's trace id."""
    record = logging.LogRecord("vumeter.demo", logging.ERROR, __file__, 1, "failed", None, None)
    with (
        TracerProvider().get_tracer("t").start_as_current_span("process_audio") as span,
        log_context(sample_id="s-1", dataset="libri"),
    ):
        line = JsonFormatter({"service": "vumeter-demo"}).format(record)
    return line, f"{span.get_span_context().trace_id:032x}"


def test_loki_applies_retention_with_the_compactor() -> None:
    compactor = LOKI["compactor"]
    assert compactor["retention_enabled"] is True
    assert compactor["delete_request_store"] == "filesystem"
    limits = LOKI["limits_config"]
    assert 24 <= hours(limits["retention_period"]) <= 24 * 400
    for stream in limits["retention_stream"]:
        assert hours(stream["period"]) < hours(limits["retention_period"])
    # Retention needs a TSDB (or boltdb-shipper) index; structured metadata needs v13.
    (schema,) = LOKI["schema_config"]["configs"]
    assert (schema["store"], schema["schema"]) == ("tsdb", "v13")
    assert limits["allow_structured_metadata"] is True
    # LokiHandler's service label becomes service_name, the label Tempo's link queries.
    assert "service" in limits["discover_service_name"]


def test_tempo_receives_otlp_and_expires_blocks() -> None:
    assert 24 <= hours(TEMPO["compactor"]["compaction"]["block_retention"]) <= 24 * 90
    protocols = TEMPO["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")


def _components(section: str) -> set[str]:
    return set(COLLECTOR.get(section) or {})


def test_collector_pipelines_use_defined_components_and_reach_the_back_ends() -> None:
    service = COLLECTOR["service"]
    assert set(service["extensions"]) <= _components("extensions")
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            missing = set(pipeline[kind]) - _components(kind)
            assert not missing, f"pipeline {name} uses undefined {kind} {missing}"
    assert service["pipelines"]["logs"]["exporters"] == ["otlphttp/loki"]
    assert service["pipelines"]["traces"]["exporters"] == ["otlp/tempo"]
    assert "filelog/containers" in service["pipelines"]["logs"]["receivers"]

    exporters = COLLECTOR["exporters"]
    loki_port = LOKI["server"]["http_listen_port"]
    assert exporters["otlphttp/loki"]["endpoint"] == f"http://loki:{loki_port}/otlp"
    tempo_grpc = TEMPO["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert exporters["otlp/tempo"]["endpoint"] == "tempo:" + tempo_grpc.rsplit(":", 1)[1]
    filelog = COLLECTOR["receivers"]["filelog/containers"]
    assert filelog["storage"] in _components("extensions")
    assert filelog["include"] == ["/var/lib/docker/containers/*/*-json.log"]


def _operator(operator_type: str) -> dict[str, Any]:
    operators = COLLECTOR["receivers"]["filelog/containers"]["operators"]
    return next(op for op in operators if op["type"] == operator_type)


def test_collector_parses_the_json_lines_vumeter_writes() -> None:
    line, trace_id = traced_json_line()
    parser = _operator("json_parser")
    # The operator's condition, an expr-lang `matches` with a Go (RE2) pattern; this one is
    # also valid Python regex syntax.
    pattern = re.fullmatch(r'body matches "(.*)"', parser["if"])
    assert pattern is not None
    regex = pattern.group(1).replace("\\\\", "\\")
    assert re.search(regex, line)
    assert not re.search(regex, "2026-01-01 12:00:00 INFO plain text line")

    fields = json.loads(line)
    assert parser["timestamp"]["parse_from"] == "attributes.timestamp"
    # Go layout 2006-01-02T15:04:05.999999Z07:00: six fraction digits, then Z.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fields["timestamp"])
    assert parser["severity"]["parse_from"] == "attributes.level"
    trace = _operator("trace_parser")
    assert trace["trace_id"]["parse_from"] == "attributes.trace_id"
    assert trace["span_id"]["parse_from"] == "attributes.span_id"
    assert fields["trace_id"] == trace_id
    assert _operator("move")["from"] == "attributes.service"
    assert fields["service"] == "vumeter-demo"


def test_grafana_links_log_lines_to_traces_and_back() -> None:
    line, trace_id = traced_json_line()
    loki, tempo = DATASOURCES["loki"], DATASOURCES["tempo"]
    (in_line, in_metadata) = loki["jsonData"]["derivedFields"]
    match = re.search(in_line["matcherRegex"], line)
    assert match is not None
    assert match.group(1) == trace_id
    assert in_metadata["matcherType"] == "label"
    assert in_metadata["matcherRegex"] == "trace_id"  # LokiHandler's structured metadata key
    for field in (in_line, in_metadata):
        assert field["datasourceUid"] == tempo["uid"]
    to_logs = tempo["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == loki["uid"]
    assert 'trace_id="$${__trace.traceId}"' in to_logs["query"]
    assert loki["url"] == f"http://loki:{LOKI['server']['http_listen_port']}"
    assert tempo["url"] == f"http://tempo:{TEMPO['server']['http_listen_port']}"


def test_grafana_variables_are_escaped_from_environment_expansion() -> None:
    # Grafana expands $NAME and ${NAME} in provisioning files; its own ${__...} variables
    # must be written $${__...} to survive.
    text = DATASOURCES_PATH.read_text(encoding="utf-8")
    assert re.findall(r"(?<!\$)\$\{", text) == []
    assert "$${__value.raw}" in text
