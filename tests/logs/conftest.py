"""Fixtures for the logging tests: a private registry, a tracer whose spans are real SDK spans,
and a logger of the test's own that propagates nowhere (the root logger stays untouched)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider


@pytest.fixture
def tracer() -> trace.Tracer:
    return TracerProvider().get_tracer("vumeter-tests")


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger(f"vumeter-tests.{uuid.uuid4().hex[:8]}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def span_ids(span: trace.Span) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
