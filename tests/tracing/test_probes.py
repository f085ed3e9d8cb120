"""The probe sampler: scrapes and probes are dropped unless the caller sent a trace context;
every other decision is the wrapped sampler's."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Decision, ParentBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from vumeter.tracing import PROBE_PATHS, UntracedProbes, setup_tracing

REMOTE_PARENT = trace.set_span_in_context(
    NonRecordingSpan(SpanContext(0x4BF9, 0x00F0, is_remote=True, trace_flags=TraceFlags(1)))
)


def decide(
    sampler: UntracedProbes,
    attributes: dict[str, str],
    *,
    kind: SpanKind = SpanKind.SERVER,
    parent: Context | None = None,
) -> Decision:
    return sampler.should_sample(
        Context() if parent is None else parent, 0x1234, "GET", kind, attributes
    ).decision


@pytest.mark.parametrize(
    "attributes",
    [
        {"http.route": "/metrics"},
        {"url.path": "/livez"},  # no route (the stable conventions' path)
        {"http.target": "/readyz?verbose=1"},  # the older conventions: path and query
    ],
)
def test_probe_without_trace_context_is_dropped(attributes: dict[str, str]) -> None:
    sampler = UntracedProbes(ALWAYS_ON)
    assert decide(sampler, attributes) is Decision.DROP
    # With a remote parent the inner sampler decides: here, record.
    assert decide(sampler, attributes, parent=REMOTE_PARENT) is Decision.RECORD_AND_SAMPLE


def test_everything_else_is_the_inner_samplers_decision() -> None:
    sampler = UntracedProbes(ALWAYS_ON)
    assert decide(sampler, {"http.route": "/samples/{id}"}) is Decision.RECORD_AND_SAMPLE
    assert decide(sampler, {"http.route": "/metrics"}, kind=SpanKind.CLIENT) is (
        Decision.RECORD_AND_SAMPLE
    )
    assert decide(sampler, {}) is Decision.RECORD_AND_SAMPLE
    assert decide(UntracedProbes(ALWAYS_OFF), {"http.route": "/samples/{id}"}) is Decision.DROP
    # A custom list replaces the default one; an empty one traces every probe.
    assert decide(UntracedProbes(ALWAYS_ON, {"/ping"}), {"http.route": "/ping"}) is Decision.DROP
    assert decide(UntracedProbes(ALWAYS_ON, ()), {"http.route": "/metrics"}) is (
        Decision.RECORD_AND_SAMPLE
    )


def test_setup_tracing_puts_the_probe_sampler_in_front_of_the_configured_one() -> None:
    setup = setup_tracing(
        exporters="none", install_globally=False, instrument_http=False, trace_collectors=False
    )
    try:
        assert setup.provider is not None
        sampler = setup.provider.sampler
        assert isinstance(sampler, UntracedProbes)
        assert isinstance(sampler.inner, ParentBased)  # the SDK's default
        assert sampler.get_description().startswith("UntracedProbes{ParentBased")
        assert "/metrics" in PROBE_PATHS
        assert not setup.http_instrumented
    finally:
        setup.shutdown()
