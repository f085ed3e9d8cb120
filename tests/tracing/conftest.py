"""Fixtures for the tracing tests: an SDK tracer provider whose spans land in memory, and a
collector on a private registry. Global switches (collector spans, exemplars) are reset
after every test, whatever it did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from vumeter.tracing import TracingSetup, disable_exemplars, disable_operation_spans, setup_tracing


@pytest.fixture(autouse=True)
def _reset_tracing_switches() -> Iterator[None]:
    yield
    disable_operation_spans()
    disable_exemplars()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(spans: InMemorySpanExporter) -> Iterator[TracingSetup]:
    setup = setup_tracing(
        "vumeter-test",
        worker_id="test-worker",
        exporters="none",
        span_processors=[SimpleSpanProcessor(spans)],
        install_globally=False,
    )
    yield setup
    setup.shutdown()
