"""Fixtures for the demo tests: a private registry and collector per test, tracing whose
spans land in memory (never OpenTelemetry's global provider, which a process gets only once),
and demo subprocesses killed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.demo.demo_process import Demo
from vumeter.tracing import TracingSetup, setup_tracing


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(spans: InMemorySpanExporter) -> Iterator[TracingSetup]:
    setup = setup_tracing(
        "vumeter-demo-test",
        exporters="none",
        span_processors=[SimpleSpanProcessor(spans)],
        install_globally=False,
    )
    yield setup
    setup.shutdown()  # also turns collector spans and automatic exemplars off again


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.kill()
