"""Shared validators, and the span seam between the domain and the tracing integration."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from vumeter.runtime import (
    current_trace_ids,
    positive_int,
    seconds,
    set_span_source,
    span_source,
)


def test_seconds() -> None:
    assert seconds("timeout", 2) == 2.0
    assert seconds("grace_period", 0, allow_zero=True) == 0.0
    for value, error, message in [
        (0, ValueError, "timeout must be a finite number of seconds > 0, got 0"),
        (-1, ValueError, "timeout must be a finite number of seconds > 0"),
        (float("inf"), ValueError, "timeout must be a finite number of seconds"),
        (float("nan"), ValueError, "timeout must be a finite number of seconds"),
        ("5", TypeError, "timeout must be a number of seconds, got str"),
        (True, TypeError, "timeout must be a number of seconds, got bool"),
    ]:
        with pytest.raises(error, match=message):
            seconds("timeout", value)
    with pytest.raises(ValueError, match="grace_period must be a finite number of seconds >= 0"):
        seconds("grace_period", -0.5, allow_zero=True)


def test_positive_int() -> None:
    assert positive_int("max_queue", 3) == 3
    assert positive_int("batch_size", 3, maximum=3) == 3
    for value in (0, -1, 2.0, True, "1"):
        with pytest.raises(ValueError, match="max_queue must be an int >= 1"):
            positive_int("max_queue", value)
    with pytest.raises(ValueError, match=r"batch_size must be an int within 1\.\.3, got 4"):
        positive_int("batch_size", 4, maximum=3)


def test_span_source_seam() -> None:
    class Source:
        def operation(self, operation: str, dataset: str, sample_id: str | None, /) -> object:
            raise NotImplementedError

        def sample(self, sample_id: str, dataset: str, parent: object | None, /) -> object:
            raise NotImplementedError

    source = Source()
    assert span_source() is None
    assert set_span_source(source) is None  # type: ignore[arg-type]
    try:
        assert span_source() is source
    finally:
        assert set_span_source(None) is source
    assert span_source() is None


def test_current_trace_ids_name_sampled_spans_only() -> None:
    assert current_trace_ids() is None
    with TracerProvider().get_tracer("t").start_as_current_span("work") as span:
        context = span.get_span_context()
        assert current_trace_ids() == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    with TracerProvider(sampler=ALWAYS_OFF).get_tracer("t").start_as_current_span("dropped"):
        assert current_trace_ids() is None
