"""The native parser against prometheus_client's: same families, types, samples, values.

Expositions come from prometheus_client's and vumeter's own renderers (random metrics,
label values with escapes and any Unicode, special values) and from hand-written edge
cases in both formats; malformed lines are refused with their line number.
"""

from __future__ import annotations

import math
from typing import Any

import prometheus_client
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as reference_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as reference_text
from prometheus_client.samples import BucketSpan, NativeHistogram

import vumeter
from vumeter.top.parse import parse_exposition

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _value(value: float | None) -> object:
    if value is None:
        return None
    return "NaN" if math.isnan(value) else float(value)


def _histogram(fields: Any) -> NativeHistogram | None:
    """prometheus_client's form of a native histogram: None for a side without buckets."""
    if fields is None:
        return None
    count, total, schema, zero_threshold, zero_count, pos_spans, pos, neg_spans, neg = fields
    return NativeHistogram(
        count_value=count,
        sum_value=total,
        schema=schema,
        zero_threshold=zero_threshold,
        zero_count=zero_count,
        pos_spans=tuple(BucketSpan(o, n) for o, n in pos_spans) or None,
        neg_spans=tuple(BucketSpan(o, n) for o, n in neg_spans) or None,
        pos_deltas=tuple(pos) or None,
        neg_deltas=tuple(neg) or None,
    )


def _native(families: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            family.name,
            family.type,
            [
                (name, dict(labels), _value(value), _histogram(fields))
                for name, labels, value, fields in family.samples
            ],
        )
        for family in families
    ]


def _reference(text: str, openmetrics: bool) -> list[tuple[Any, ...]]:
    parse = reference_openmetrics if openmetrics else reference_text
    return [
        (
            metric.name,
            metric.type,
            [
                # prometheus_client gives an unlabelled native histogram labels=None.
                (s.name, dict(s.labels or {}), _value(s.value), s.native_histogram)
                for s in metric.samples
            ],
        )
        for metric in parse(text)
    ]


def assert_same(text: str, openmetrics: bool) -> None:
    ours = _native(parse_exposition(text, OPENMETRICS if openmetrics else TEXT))
    assert ours == _reference(text, openmetrics)


label_values = st.text(max_size=12)
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, 1e-300, 1e300, 123456789.0]),
)
positive = st.floats(min_value=0, max_value=1e12, allow_nan=False)


@st.composite
def registries(draw: st.DrawFn, library: Any) -> Any:
    registry = library.CollectorRegistry()
    for number in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["counter", "gauge", "histogram"]))
        labels = draw(st.sampled_from([(), ("a",), ("a", "b")]))
        help_text = draw(st.text(max_size=20))
        name = f"m{number}_{kind}"
        cls = {"counter": library.Counter, "gauge": library.Gauge, "histogram": library.Histogram}
        metric = cls[kind](name, help_text, labels, registry=registry)
        for _ in range(draw(st.integers(1 if not labels else 0, 3))):
            child = metric.labels(*(draw(label_values) for _ in labels)) if labels else metric
            if kind == "counter":
                child.inc(draw(positive))
            elif kind == "gauge":
                child.set(draw(st.one_of(numbers, st.just(math.inf), st.just(-math.inf))))
            else:
                child.observe(draw(positive))
    return registry


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(registries(prometheus_client))
def test_prometheus_client_text_expositions_parse_the_same(registry: Any) -> None:
    assert_same(prometheus_client.generate_latest(registry).decode(), openmetrics=False)


@SETTINGS
@given(registries(prometheus_client))
def test_prometheus_client_openmetrics_expositions_parse_the_same(registry: Any) -> None:
    assert_same(om_exposition.generate_latest(registry).decode(), openmetrics=True)


@SETTINGS
@given(registries(vumeter))
def test_vumeter_expositions_parse_the_same_in_both_formats(registry: Any) -> None:
    assert_same(vumeter.generate_latest(registry).decode(), openmetrics=False)
    assert_same(vumeter.generate_openmetrics(registry).decode(), openmetrics=True)


TEXT_CASES = [
    "",
    "# just a comment\n\nplain 1\n",
    'x{a="1"} 1\nx{a="2"} 2\n',  # untyped, one family per sample as prometheus_client
    "# TYPE c counter\nc 3\n",  # a counter without _total: samples get the suffix
    '# HELP c_total Jobs \\\\ done\\n.\n# TYPE c_total counter\nc_total{x="\\"q\\""} 1\n',
    'g{a="b",} 1\n',  # trailing comma
    'g { a = "b" , c="d" } 1 1700000000000\n',  # blanks inside the label set, a timestamp
    "g\t2.5\t123\n",  # tabs
    "g NaN\ng +Inf\ng -Inf\ng 1e-3\ng -0\n",
    '{"utf8.name", "la.bel"="v"} 1\n',
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    'back{a="x\\\\y\\z"} 1\n',  # an unknown escape is kept as it is
]
OPENMETRICS_CASES = [
    "# EOF\n",
    "# TYPE c_seconds counter\n# UNIT c_seconds seconds\n# HELP c_seconds Help.\n"
    "c_seconds_total 1\nc_seconds_created 12.5\n# EOF\n",
    '# TYPE c counter\nc_total{a="b"} 1 # {trace_id="abc"} 0.5 1.5\n# EOF\n',
    '# TYPE i info\ni_info{v="1"} 1\n# TYPE st stateset\nst{st="a"} 1\n# EOF\n',
    '# TYPE gh gaugehistogram\ngh_bucket{le="+Inf"} 2\ngh_gcount 2\ngh_gsum 1\n# EOF\n',
    'loose{a="1"} 1\nloose{a="2"} 2\n# EOF\n',  # samples without # TYPE: one family
    "# TYPE nh histogram\nnh {count:24,sum:100,schema:0,zero_threshold:0.001,zero_count:4,"
    "positive_spans:[0:2,1:2],negative_spans:[0:2,1:2],positive_deltas:[2,1,-2,3],"
    "negative_deltas:[2,1,-2,3]}\n# EOF\n",
    '# TYPE nh histogram\nnh{a="b"} {count:1,sum:1,schema:3,zero_threshold:0,zero_count:0,'
    "positive_spans:[5:1],positive_deltas:[1]}\n# EOF\n",
]


@pytest.mark.parametrize("text", TEXT_CASES)
def test_text_edge_cases_parse_as_prometheus_client_does(text: str) -> None:
    assert_same(text, openmetrics=False)


@pytest.mark.parametrize("text", OPENMETRICS_CASES)
def test_openmetrics_edge_cases_parse_as_prometheus_client_does(text: str) -> None:
    assert_same(text, openmetrics=True)


@pytest.mark.parametrize(
    ("text", "content_type", "message"),
    [
        ("ok 1\nbroken{a=1} 2\n", TEXT, "line 2: expected a double-quoted string"),
        ("ok 1\n9bad 2\n", TEXT, "line 2: invalid metric name"),
        ('x{a="b"} one\n', TEXT, "line 1: invalid number"),
        ("x 1\n", OPENMETRICS, "line 1: missing # EOF"),
        ("x 1\n\n# EOF\n", OPENMETRICS, "line 2: blank line"),
        ("# EOF\nx 1\n", OPENMETRICS, "line 2: text after # EOF"),
        ("# TYPE x\nx 1\n", TEXT, "line 1: # TYPE needs a type"),
    ],
)
def test_malformed_expositions_name_the_line(text: str, content_type: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("#", "\\#")):
        parse_exposition(text, content_type)


def test_a_histogram_with_negative_bounds_parses_although_openmetrics_rules_are_bent() -> None:
    # prometheus_client leaves _sum out when the first bound is negative (it would not be
    # a counter) but keeps _count, which its own OpenMetrics parser then refuses. The
    # view must still show such a worker. (vumeter drops the pair in OpenMetrics.)
    registry = prometheus_client.CollectorRegistry()
    histogram = prometheus_client.Histogram(
        "snr", "SNR.", registry=registry, buckets=(-5.0, 0.0, 5.0)
    )
    histogram.observe(3.0)
    text = om_exposition.generate_latest(registry).decode()
    with pytest.raises(ValueError, match="_sum"):
        list(reference_openmetrics(text))
    (family,) = parse_exposition(text, OPENMETRICS)
    assert family.type == "histogram"
    assert {sample[0] for sample in family.samples} == {"snr_bucket", "snr_count", "snr_created"}


def test_vumeters_negative_bound_histograms_parse_in_both_parsers() -> None:
    registry = vumeter.CollectorRegistry()
    histogram = vumeter.Histogram("snr", "SNR.", registry=registry, buckets=(-5.0, 0.0, 5.0))
    histogram.observe(3.0)
    text = vumeter.generate_openmetrics(registry).decode()
    (reference,) = reference_openmetrics(text)
    (family,) = parse_exposition(text, OPENMETRICS)
    assert {s.name for s in reference.samples} == {sample[0] for sample in family.samples}
    assert {sample[0] for sample in family.samples} == {"snr_bucket", "snr_created"}


def test_only_builds_the_families_named_but_checks_every_line() -> None:
    text = "# TYPE a counter\na_total 1\n# TYPE b gauge\nb 2\n"
    assert [f.name for f in parse_exposition(text, TEXT, only={"b"})] == ["b"]
    with pytest.raises(ValueError, match="line 5"):
        parse_exposition(text + "b{x=1} 3\n", TEXT, only={"a"})
