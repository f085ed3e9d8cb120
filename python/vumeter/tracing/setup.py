"""``setup_tracing``: one call that makes a worker's traces go somewhere.

It builds an OpenTelemetry SDK ``TracerProvider`` with this process's resource
(:mod:`vumeter.runtime.resource`), adds one batching span processor per exporter, installs the
provider globally, turns on the spans of ``MetricsCollector.track_sample`` and
``track_operation`` (:mod:`vumeter.tracing.spans`), automatic exemplars
(:mod:`vumeter.tracing.exemplars`) and, when aiohttp is installed, OpenTelemetry's aiohttp
server and client instrumentations (:mod:`vumeter.tracing.aiohttp`). Its sampler leaves
untraced the scrapes and probes whose caller sent no trace context
(:mod:`vumeter.tracing.probes`).

Exporters are chosen the standard OpenTelemetry way, so deployments configure them without
code changes:

* ``OTEL_TRACES_EXPORTER``: a comma-separated list of ``otlp``, ``console``, ``none``
  (default ``otlp``, or ``default_exporters``);
* ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``: ``http/protobuf``
  (default; installed with the ``tracing`` extra) or ``grpc`` (needs
  ``opentelemetry-exporter-otlp-proto-grpc``);
* ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``..._HEADERS``,
  ``..._TIMEOUT``: read by the exporter itself;
* ``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``: read by the SDK (default: parent-based,
  always on); ``OTEL_BSP_*``: the batch processor's queue and delays;
* ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``: the resource;
* ``OTEL_SDK_DISABLED=true``: no SDK at all; tracing stays off.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from vumeter.runtime.resource import build_resource
from vumeter.tracing.exemplars import disable_exemplars, enable_exemplars
from vumeter.tracing.probes import PROBE_PATHS, UntracedProbes
from vumeter.tracing.spans import disable_operation_spans, enable_operation_spans

try:
    from vumeter.tracing import aiohttp as aiohttp_tracing
except ImportError:  # aiohttp comes with the server extra, which tracing does not need
    aiohttp_tracing = None  # type: ignore[assignment]

__all__ = ["EXPORTER_NAMES", "TracingSetup", "setup_tracing", "span_exporter"]

_log: Final = logging.getLogger("vumeter.tracing")

EXPORTER_NAMES: Final = ("otlp", "console", "none")
_PROTOCOLS: Final = ("http/protobuf", "grpc")


@dataclass(frozen=True)
class TracingSetup:
    """What :func:`setup_tracing` set up. ``provider`` is ``None`` when
    ``OTEL_SDK_DISABLED`` turned tracing off."""

    provider: TracerProvider | None
    resource: Resource | None
    exporters: tuple[str, ...]
    exemplars: bool
    installed_globally: bool
    #: Whether aiohttp's server and client instrumentations were turned on for this provider.
    http_instrumented: bool = False

    def force_flush(self, timeout: float = 10.0) -> bool:
        """Export the spans that are waiting in the batch processors now."""
        if self.provider is None:
            return True
        return self.provider.force_flush(int(timeout * 1000))

    def shutdown(self) -> None:
        """Stop tracing collectors and exemplars, export what is pending, shut the provider
        down. (A provider installed globally stays installed: OpenTelemetry does not allow
        replacing it, but it no longer records.)"""
        disable_operation_spans()
        if self.exemplars:
            disable_exemplars()
        if self.http_instrumented and aiohttp_tracing is not None:
            aiohttp_tracing.uninstrument_aiohttp()
        if self.provider is not None:
            self.provider.shutdown()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _exporter_names(exporters: str | Sequence[str] | None, default: str) -> tuple[str, ...]:
    source = "exporters"
    if exporters is None:
        source = "OTEL_TRACES_EXPORTER"
        exporters = os.environ.get("OTEL_TRACES_EXPORTER", "").strip() or default
    names = exporters.split(",") if isinstance(exporters, str) else list(exporters)
    cleaned = tuple(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    for name in cleaned:
        if name not in EXPORTER_NAMES:
            raise ValueError(
                f"unknown trace exporter {name!r} in {source}; expected a comma-separated "
                f"list of {', '.join(EXPORTER_NAMES)}"
            )
    return tuple(name for name in cleaned if name != "none")


def span_exporter(name: str) -> SpanExporter:
    """The span exporter called ``name`` (``otlp`` or ``console``), configured from the
    environment."""
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(f"no span exporter called {name!r}; expected otlp or console")
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,  # loaded only when an OTLP exporter is configured
        )

        return OTLPSpanExporter()
    if protocol == "grpc":
        try:
            grpc = importlib.import_module("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
        except ImportError:
            raise ValueError(
                "OTLP over gRPC needs opentelemetry-exporter-otlp-proto-grpc "
                "(pip install opentelemetry-exporter-otlp-proto-grpc), or set "
                "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
            ) from None
        exporter: SpanExporter = grpc.OTLPSpanExporter()
        return exporter
    raise ValueError(f"unsupported OTLP protocol {protocol!r}; expected one of {_PROTOCOLS}")


def setup_tracing(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    worker_id: str | None = None,
    exporters: str | Sequence[str] | None = None,
    default_exporters: str = "otlp",
    span_processors: Sequence[SpanProcessor] = (),
    sampler: Sampler | None = None,
    install_globally: bool = True,
    exemplars: bool = True,
    trace_collectors: bool = True,
    instrument_http: bool = True,
    probe_paths: Iterable[str] = PROBE_PATHS,
) -> TracingSetup:
    """Set up tracing for this process; see the module docstring for the environment.

    ``exporters`` overrides ``OTEL_TRACES_EXPORTER``; ``default_exporters`` applies when
    neither is set (``"none"`` keeps spans in-process: log correlation and exemplars work,
    nothing is sent). ``span_processors`` are added as given (an in-memory exporter in
    tests, a custom exporter). ``install_globally=False`` leaves OpenTelemetry's global
    provider alone (vumeter's own spans still use this provider). ``exemplars`` and
    ``trace_collectors`` switch automatic exemplars and collector spans; ``instrument_http``
    the aiohttp instrumentations. ``probe_paths``: requests to these paths are traced only
    when the caller sends a trace context (empty: always traced).
    """
    if _env_flag("OTEL_SDK_DISABLED"):
        _log.info("OTEL_SDK_DISABLED is true: tracing stays off")
        return TracingSetup(None, None, (), exemplars=False, installed_globally=False)
    names = _exporter_names(exporters, default_exporters)
    resource = build_resource(service_name, service_version=service_version, worker_id=worker_id)
    # Build every exporter before touching global state: a bad setting leaves nothing behind.
    span_exporters = [span_exporter(name) for name in names]
    if sampler is None:  # the SDK's choice, from OTEL_TRACES_SAMPLER
        sampler = TracerProvider(shutdown_on_exit=False).sampler
    provider = TracerProvider(resource=resource, sampler=UntracedProbes(sampler, probe_paths))
    for exporter in span_exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in span_processors:
        provider.add_span_processor(processor)
    installed = False
    if install_globally:
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
            installed = True
        else:
            _log.warning(
                "a global tracer provider is already installed; vumeter's spans use the new "
                "one, other instrumentation keeps the existing one"
            )
    if trace_collectors:
        enable_operation_spans(provider)
    exemplars_on = enable_exemplars() if exemplars else False
    http_on = False
    if instrument_http and aiohttp_tracing is not None:
        http_on = aiohttp_tracing.instrument_aiohttp(provider, probe_paths=probe_paths)
    _log.info(
        "tracing set up: service %s, exporters %s",
        resource.attributes.get("service.name"),
        ", ".join(names) or "none",
    )
    return TracingSetup(provider, resource, names, exemplars_on, installed, http_on)
