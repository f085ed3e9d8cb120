"""UTF-8 metric and label names, rendered under each escaping scheme (``allow-utf-8``,
``underscores``, ``dots``, ``values``) in both formats, byte for byte as prometheus_client
renders them: the same random names and operations on both libraries, in one registry
each with a prometheus_client metric among vumeter's. The clock is patched for both, so
``_created`` lines compare too."""

from __future__ import annotations

from typing import Any
from unittest import mock

import prometheus_client
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics import exposition as pc_openmetrics

import vumeter
from tests.support.native import natively_rendered

SCHEMES = ["allow-utf-8", "underscores", "dots", "values"]
NAME = st.text(alphabet='ab_:.é1-"\\ \n', min_size=1, max_size=8)
LABEL = st.text(alphabet="ab_.é1- :", min_size=1, max_size=6)


def child(metric: Any, value: str) -> Any:
    return metric.labels(*[value] * len(metric._labelnames)) if metric._labelnames else metric


def build(
    lib: Any, names: list[str], labels: list[str], buckets: tuple[float, ...]
) -> CollectorRegistry:
    registry = CollectorRegistry()
    with mock.patch("time.time", return_value=1700000000.5):
        counter = lib.Counter(names[0], "C \\ doc\n", labels, registry=registry)
        gauge = lib.Gauge(names[1], 'G "doc"', registry=registry)
        summary = prometheus_client.Summary(names[2], "S", labels, registry=registry)
        histogram = lib.Histogram(names[3], "H", labels, registry=registry, buckets=buckets)
        child(summary, "x").observe(2)
        child(counter, "v").inc(3, exemplar={"trace_id": "t"})
        child(histogram, "é\n").observe(0.5, {"trace_id": "u"})
    gauge.set(1.5)
    return registry


def outputs(registry: CollectorRegistry, renderers: Any) -> list[bytes]:
    text, openmetrics = renderers
    return [text(registry, scheme) for scheme in SCHEMES] + [
        openmetrics(registry, scheme, version)
        for scheme in SCHEMES
        for version in ("1.0.0", "2.0.0")
    ]


THEIRS = (prometheus_client.generate_latest, pc_openmetrics.generate_latest)
OURS = (vumeter.generate_latest, vumeter.generate_openmetrics)


def accepted(names: list[str], labels: list[str]) -> bool:
    try:
        build(prometheus_client, names, labels, (1.0,))
    except ValueError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(
    st.lists(NAME, min_size=4, max_size=4, unique=True),
    st.lists(LABEL, max_size=2, unique=True),
)
def test_utf8_names_render_as_with_prometheus_client(names: list[str], labels: list[str]) -> None:
    # Distinct after prometheus_client's naming (counters lose a trailing _total).
    assume(len({n.removesuffix("_total") for n in names}) == 4)
    if not accepted(names, labels):
        with pytest.raises(ValueError, match=r"(?i)name"):
            build(vumeter, names, labels, (1.0,))
        return
    ours = build(vumeter, names, labels, (1.0,))
    theirs = build(prometheus_client, names, labels, (1.0,))
    assert outputs(ours, OURS) == outputs(theirs, THEIRS)


CASES = {
    "legacy": ["requests", "depth", "legacy_seconds", "latency_seconds"],
    "colons": ["app:requests", "app:depth", "app:legacy", "app:latency"],
    "utf8": ["utf8.cc", "tiefe é", "legacy-s", '"quoted"'],
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("labels", [[], ["method"], ["k.é", "status_code"]])
def test_chosen_names_render_as_with_prometheus_client(case: str, labels: list[str]) -> None:
    ours = build(vumeter, CASES[case], labels, (-1.0, 0.25, 1.0))
    theirs = build(prometheus_client, CASES[case], labels, (-1.0, 0.25, 1.0))
    # The OpenMetrics of a histogram with a negative bound differs on purpose (no _count).
    assert outputs(ours, OURS)[:4] == outputs(theirs, THEIRS)[:4]
    ours = build(vumeter, CASES[case], labels, (0.25, 1.0))
    theirs = build(prometheus_client, CASES[case], labels, (0.25, 1.0))
    assert outputs(ours, OURS) == outputs(theirs, THEIRS)


@pytest.mark.parametrize(
    ("escaping", "openmetrics"),
    [
        ("allow-utf-8", False),
        ("underscores", False),
        ("values", False),
        ("allow-utf-8", True),
        ("underscores", True),
    ],
)
def test_legacy_names_stay_native_under_schemes_that_keep_them(
    escaping: str, openmetrics: bool
) -> None:
    registry = build(vumeter, CASES["legacy"], ["method"], (0.25, 1.0))
    theirs = build(prometheus_client, CASES["legacy"], ["method"], (0.25, 1.0))
    render = vumeter.generate_openmetrics if openmetrics else vumeter.generate_latest
    expected = (
        pc_openmetrics.generate_latest if openmetrics else prometheus_client.generate_latest
    )(theirs, escaping)
    with natively_rendered():
        assert render(registry, escaping) == expected


def test_one_utf8_family_leaves_the_others_native(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = build(
        vumeter, ["requests", "utf8.depth", "legacy_seconds", "latency_seconds"], ["k"], (1.0,)
    )
    theirs = build(
        prometheus_client,
        ["requests", "utf8.depth", "legacy_seconds", "latency_seconds"],
        ["k"],
        (1.0,),
    )
    collect = vumeter.Gauge.collect

    def only_the_utf8_one(self: Any) -> Any:
        assert self._name == "utf8.depth", f"{self._name} rendered through collect()"
        return collect(self)

    for cls in (vumeter.Counter, vumeter.Gauge, vumeter.Histogram):
        monkeypatch.setattr(cls, "collect", only_the_utf8_one)
    for scheme in ("allow-utf-8", "underscores"):
        assert vumeter.generate_latest(registry, scheme) == prometheus_client.generate_latest(
            theirs, scheme
        )
        assert vumeter.generate_openmetrics(registry, scheme) == pc_openmetrics.generate_latest(
            theirs, scheme
        )
