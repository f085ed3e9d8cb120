"""Automatic exemplars: with an exemplar source set, increments and observations made
while a "span" is current in a ContextVar carry its labels; none otherwise."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

import vumeter
from vumeter import _native

CURRENT: contextvars.ContextVar[dict[str, object]] = contextvars.ContextVar("current")
SPAN_KEY = "span"


class FakeSpan:
    def __init__(self, trace_id: str, sampled: bool = True) -> None:
        self.trace_id = trace_id
        self.sampled = sampled


def extract(span: FakeSpan) -> dict[str, str] | None:
    return {"trace_id": span.trace_id} if span.sampled else None


@pytest.fixture
def source() -> Iterator[None]:
    _native.set_exemplar_source(CURRENT, SPAN_KEY, extract)
    yield
    _native.set_exemplar_source(None, None, None)


def test_exemplars_follow_the_current_span(registry: CollectorRegistry, source: None) -> None:
    counter = vumeter.Counter("jobs", "J", registry=registry)
    hist = vumeter.Histogram("lat", "L", ["op"], registry=registry, buckets=[1])
    counter.inc()  # no span yet
    assert b"# {" not in vumeter.generate_openmetrics(registry)
    token = CURRENT.set({SPAN_KEY: FakeSpan("4bf92f3577b34da6a3ce929d0e0e4736")})
    try:
        counter.inc(2)
        hist.labels("decode").observe(0.5)
        hist.labels("decode").observe(5, exemplar={"trace_id": "explicit"})
    finally:
        CURRENT.reset(token)
    text = vumeter.generate_openmetrics(registry).decode()
    assert 'jobs_total 3.0 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 2.0' in text
    assert (
        'lat_bucket{le="1.0",op="decode"} 1.0 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.5'
        in text
    )
    assert 'lat_bucket{le="+Inf",op="decode"} 2.0 # {trace_id="explicit"} 5.0' in text


def test_unsampled_span_and_disabled_source_add_nothing(registry: CollectorRegistry) -> None:
    counter = vumeter.Counter("jobs", "J", registry=registry)
    _native.set_exemplar_source(CURRENT, SPAN_KEY, extract)
    token = CURRENT.set({SPAN_KEY: FakeSpan("abc", sampled=False)})
    try:
        counter.inc()
        _native.set_exemplar_source(None, None, None)
        CURRENT.set({SPAN_KEY: FakeSpan("abc")})
        counter.inc()
    finally:
        CURRENT.reset(token)
        _native.set_exemplar_source(None, None, None)
    assert b"# {" not in vumeter.generate_openmetrics(registry)


def test_set_exemplar_source_validates() -> None:
    with pytest.raises(TypeError, match="ContextVar"):
        _native.set_exemplar_source({}, SPAN_KEY, extract)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        _native.set_exemplar_source(CURRENT, SPAN_KEY, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="together"):
        _native.set_exemplar_source(CURRENT, None, None)
