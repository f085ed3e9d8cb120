"""Differential tests: the same random operations applied to vumeter and to
prometheus_client must print the same exposition, sample for sample, in both formats.

Only wall-clock values differ legitimately (``_created`` timestamps and exemplar
timestamps); they are masked before comparing. ``observe_many`` adds a batch's values in
another order than a Python loop does, so bulk observations go to their own histogram
and use small dyadic values (multiples of 1/64): every partial sum is then exact and the
order cannot change ``_sum``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import prometheus_client
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics import exposition as pc_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

import vumeter
from tests.support.exposition import mask_clock

LABEL_VALUES = st.sampled_from(["", "a", "b", 'quo"te', "back\\slash", "new\nline", "ünï", "1.5"])
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
NON_NEGATIVE = st.floats(min_value=0, max_value=1e12, allow_nan=False)
OBSERVATION = st.floats(allow_nan=False) | st.sampled_from([0.0, 0.1, 0.5, 1.0, -0.0])
DYADIC = st.integers(min_value=-640, max_value=640).map(lambda i: i / 64)
EXEMPLAR = st.none() | st.fixed_dictionaries(
    {"trace_id": st.sampled_from(["abc", "0af7651916cd43dd"])}
)
BUCKET_SETS = [
    (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    prometheus_client.Histogram.DEFAULT_BUCKETS,
    (-5.0, 0.0, 5.0, 10.0),
    (1e-6, 1234567.0, 1e20),
]

OPERATIONS = st.one_of(
    st.tuples(
        st.just("counter_inc"), st.tuples(LABEL_VALUES, LABEL_VALUES), NON_NEGATIVE, EXEMPLAR
    ),
    st.tuples(st.just("plain_counter_inc"), NON_NEGATIVE),
    st.tuples(
        st.just("gauge_set"), LABEL_VALUES, FINITE | st.sampled_from([float("inf"), float("nan")])
    ),
    st.tuples(st.just("gauge_inc"), LABEL_VALUES, FINITE),
    st.tuples(st.just("observe"), st.tuples(LABEL_VALUES, LABEL_VALUES), OBSERVATION, EXEMPLAR),
    st.tuples(
        st.just("observe_many"),
        st.tuples(LABEL_VALUES, LABEL_VALUES),
        st.lists(DYADIC, max_size=40),
    ),
    st.tuples(st.just("plain_observe"), OBSERVATION),
    st.tuples(st.just("remove"), st.tuples(LABEL_VALUES, LABEL_VALUES)),
    st.tuples(st.just("clear")),
)


@dataclass
class Metrics:
    registry: CollectorRegistry
    counter: Any
    plain_counter: Any
    gauge: Any
    histogram: Any
    batch_histogram: Any
    plain_histogram: Any


def build(lib: Any, buckets: tuple[float, ...]) -> Metrics:
    registry = CollectorRegistry()
    return Metrics(
        registry,
        lib.Counter(
            "requests",
            'Help with \\ and\nnewline and "quotes"',
            ["zeta", "alpha"],
            registry=registry,
        ),
        lib.Counter("plain_events_total", "Plain", registry=registry, unit=""),
        lib.Gauge("depth", "Queue depth", ["queue"], registry=registry, unit="items"),
        lib.Histogram(
            "latency",
            "Latency",
            ["op", "method"],
            registry=registry,
            buckets=buckets,
            unit="seconds",
        ),
        lib.Histogram("batch", "Batches", ["op"], registry=registry, buckets=buckets),
        lib.Histogram("score", "Score", registry=registry, buckets=buckets),
    )


def apply(metrics: Metrics, operation: tuple[Any, ...], bulk: bool) -> None:
    kind = operation[0]
    if kind == "counter_inc":
        _, labels, amount, exemplar = operation
        metrics.counter.labels(*labels).inc(amount, exemplar=exemplar)
    elif kind == "plain_counter_inc":
        metrics.plain_counter.inc(operation[1])
    elif kind == "gauge_set":
        metrics.gauge.labels(operation[1]).set(operation[2])
    elif kind == "gauge_inc":
        metrics.gauge.labels(operation[1]).inc(operation[2])
    elif kind == "observe":
        _, labels, value, exemplar = operation
        metrics.histogram.labels(*labels).observe(value, exemplar=exemplar)
    elif kind == "observe_many":
        _, labels, values = operation
        child = metrics.batch_histogram.labels(labels[0])
        if bulk:
            child.observe_many(np.array(values, dtype=np.float64))
        else:
            for value in values:
                child.observe(value)
    elif kind == "plain_observe":
        metrics.plain_histogram.observe(operation[1])
    elif kind == "remove":
        metrics.counter.remove(*operation[1])
        metrics.histogram.remove(*operation[1])
    elif kind == "clear":
        metrics.gauge.clear()


def without_lone_counts(openmetrics: bytes) -> bytes:
    """prometheus_client's OpenMetrics with vumeter's one deliberate difference applied:
    a histogram without ``_sum`` (first bound negative) has no ``_count`` either, since
    OpenMetrics allows ``_count`` only together with ``_sum``."""
    lines = openmetrics.split(b"\n")
    histograms = {
        line.split()[2]
        for line in lines
        if line.startswith(b"# TYPE ") and line.endswith(b" histogram")
    }
    sample_names = {
        line.split(b" ")[0].split(b"{")[0] for line in lines if not line.startswith(b"#")
    }
    lone = {name + b"_count" for name in histograms if name + b"_sum" not in sample_names}
    return b"\n".join(line for line in lines if line.split(b" ")[0].split(b"{")[0] not in lone)


def parsed(parser: Any, text: bytes) -> list[str] | str:
    try:
        return [family.name for family in parser(text.decode())]
    except ValueError as error:
        return f"refused: {str(error).split(':')[0]}"


@settings(max_examples=100, deadline=None)
@given(operations=st.lists(OPERATIONS, max_size=30), buckets=st.sampled_from(BUCKET_SETS))
def test_same_operations_same_exposition(
    operations: list[tuple[Any, ...]], buckets: tuple[float, ...]
) -> None:
    ours = build(vumeter, buckets)
    theirs = build(prometheus_client, buckets)
    for operation in operations:
        apply(ours, operation, bulk=True)
        apply(theirs, operation, bulk=False)

    text_ours = vumeter.generate_latest(ours.registry)
    text_theirs = prometheus_client.generate_latest(theirs.registry)
    assert mask_clock(text_ours) == mask_clock(text_theirs)

    om_ours = vumeter.generate_openmetrics(ours.registry)
    om_theirs = without_lone_counts(pc_openmetrics.generate_latest(theirs.registry))
    assert mask_clock(om_ours) == mask_clock(om_theirs)

    # prometheus_client's own parsers read both the same way (its OpenMetrics parser
    # refuses some of its own output, e.g. a negative _sum; then it must refuse ours).
    assert parsed(parse_text, text_ours) == parsed(parse_text, text_theirs)
    assert parsed(parse_om, om_ours) == parsed(parse_om, om_theirs)

    # prometheus_client's collect() path over vumeter's metrics agrees too, in both
    # formats (its OpenMetrics encoder shows collect()'s exemplars).
    assert mask_clock(prometheus_client.generate_latest(ours.registry)) == mask_clock(text_ours)
    assert mask_clock(pc_openmetrics.generate_latest(ours.registry)) == mask_clock(
        pc_openmetrics.generate_latest(theirs.registry)
    )


@given(operations=st.lists(OPERATIONS, max_size=20))
@settings(max_examples=40, deadline=None)
def test_created_series_can_be_disabled(operations: list[tuple[Any, ...]]) -> None:
    ours = build(vumeter, BUCKET_SETS[0])
    theirs = build(prometheus_client, BUCKET_SETS[0])
    for operation in operations:
        apply(ours, operation, bulk=True)
        apply(theirs, operation, bulk=False)
    prometheus_client.disable_created_metrics()
    try:
        assert vumeter.generate_latest(ours.registry) == prometheus_client.generate_latest(
            theirs.registry
        )
        assert b"_created" not in vumeter.generate_openmetrics(ours.registry)
    finally:
        prometheus_client.enable_created_metrics()


@settings(max_examples=500, deadline=None)
@given(values=st.lists(st.floats(width=64) | st.floats(min_value=1e5, max_value=1e17), min_size=1))
def test_float_formatting_matches_prometheus_client(values: list[float]) -> None:
    """Every value prints as prometheus_client prints it (Python repr, Go exponents;
    shortest-digit ties round half to even)."""
    ours_registry, theirs_registry = CollectorRegistry(), CollectorRegistry()
    ours = vumeter.Gauge("value", "V", ["i"], registry=ours_registry)
    theirs = prometheus_client.Gauge("value", "V", ["i"], registry=theirs_registry)
    for i, value in enumerate(values):
        ours.labels(str(i)).set(value)
        theirs.labels(str(i)).set(value)
    assert vumeter.generate_latest(ours_registry) == prometheus_client.generate_latest(
        theirs_registry
    )
