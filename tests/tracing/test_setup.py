"""setup_tracing: the resource, exporters chosen by OTEL_* variables (a real OTLP/HTTP export
to a loopback receiver), OTEL_SDK_DISABLED, and clear errors for bad settings."""

from __future__ import annotations

import os

import pytest
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from tests.logs.receivers import HttpReceiver, decode_otlp_traces
from vumeter.audio import MetricsCollector
from vumeter.runtime import span_source
from vumeter.tracing import build_resource, setup_tracing, span_exporter


def test_resource_defaults_environment_and_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import vumeter

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    defaults = dict(build_resource().attributes)
    assert defaults["service.name"] == "vumeter"
    assert defaults["service.version"] == vumeter.__version__
    assert str(defaults["service.instance.id"]).endswith(f"-{os.getpid()}")
    assert defaults["telemetry.sdk.name"] == "opentelemetry"

    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging")
    from_env = dict(build_resource().attributes)
    assert from_env["service.name"] == "from-env"
    assert from_env["deployment.environment"] == "staging"

    explicit = dict(build_resource("enhancer", worker_id="gpu-3").attributes)
    assert explicit["service.name"] == "enhancer"
    assert explicit["service.instance.id"] == "gpu-3"
    assert explicit["deployment.environment"] == "staging"

    with pytest.raises(ValueError, match="worker_id must be a non-empty str"):
        build_resource(worker_id="")


def test_otlp_exporter_from_environment_sends_protobuf(
    monkeypatch: pytest.MonkeyPatch, collector: MetricsCollector
) -> None:
    with HttpReceiver("/v1/traces", decode_otlp_traces) as receiver:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        tracing = setup_tracing("enhancer", install_globally=False)
        try:
            assert tracing.exporters == ("otlp",)
            with (
                collector.track_sample("s-1", "libri"),
                collector.track_operation("enhance", "libri", sample_id="s-1"),
            ):
                pass
            assert tracing.force_flush(5)
        finally:
            tracing.shutdown()
        receiver.wait_for(lambda received: len(received) >= 1)

    spans = []
    service_names = set()
    for request in receiver.received:
        for resource_spans in request.body.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    service_names.add(attribute.value.string_value)
            for scope_spans in resource_spans.scope_spans:
                assert scope_spans.scope.name == "vumeter.audio"
                spans.extend(scope_spans.spans)
    assert service_names == {"enhancer"}
    named = {span.name: span for span in spans}
    assert set(named) == {"process_audio", "enhance"}
    assert named["enhance"].parent_span_id == named["process_audio"].span_id
    attributes = {a.key: a.value.string_value for a in named["enhance"].attributes}
    assert attributes == {
        "processing.stage": "enhance",
        "dataset.name": "libri",
        "sample.id": "s-1",
    }


def test_exporter_names_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, none")
    tracing = setup_tracing(install_globally=False, exemplars=False)
    try:
        assert tracing.exporters == ("console",)
    finally:
        tracing.shutdown()
    assert isinstance(span_exporter("console"), ConsoleSpanExporter)

    monkeypatch.delenv("OTEL_TRACES_EXPORTER")
    tracing = setup_tracing(default_exporters="none", install_globally=False, exemplars=False)
    try:
        assert tracing.exporters == ()
        assert span_source() is not None
    finally:
        tracing.shutdown()
    assert span_source() is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "OTEL_TRACES_EXPORTER",
            "zipkin",
            "unknown trace exporter 'zipkin' in OTEL_TRACES_EXPORTER",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "unsupported OTLP protocol 'http/json'"),
    ],
)
def test_bad_settings_fail_clearly_and_change_nothing(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        setup_tracing(install_globally=False)
    assert span_source() is None


def test_grpc_needs_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="needs opentelemetry-exporter-otlp-proto-grpc"):
            span_exporter("otlp")
    else:  # installed after all: then it must be used
        assert type(span_exporter("otlp")).__module__.startswith(
            "opentelemetry.exporter.otlp.proto.grpc"
        )


def test_sdk_disabled_leaves_tracing_off(
    monkeypatch: pytest.MonkeyPatch, collector: MetricsCollector
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracing = setup_tracing(exporters="console")
    assert tracing.provider is None
    assert span_source() is None
    with collector.track_operation("enhance", "libri"):
        pass
    tracing.shutdown()  # harmless
