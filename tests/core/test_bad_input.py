"""Bad input gets a clear error and changes nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, validation

import vumeter
from vumeter import CardinalityLimitExceeded, Counter, Gauge, Histogram

NAMES = ["", "1abc", "has-dash", "spaced name", "ünïcode", "a.b", "utf8.cc", "a:b", "ok_name"]
LABEL_NAMES = ["1x", "a-b", "k.é", "__reserved", "", "fine"]


@pytest.fixture(params=[False, True], ids=["utf8", "legacy"])
def legacy_validation(request: pytest.FixtureRequest) -> Iterator[bool]:
    """prometheus_client's name validation scheme, switched for the test."""
    if request.param:
        validation.enable_legacy_validation()
    try:
        yield request.param
    finally:
        validation.disable_legacy_validation()


def _accepted(make: Callable[[], object]) -> bool:
    try:
        make()
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_metric_names_accepted_as_prometheus_client_accepts_them(
    legacy_validation: bool, name: str
) -> None:
    theirs = _accepted(lambda: prometheus_client.Counter(name, "doc", registry=None))
    assert _accepted(lambda: Counter(name, "doc", registry=None)) == theirs
    assert theirs == (name != "" and (not legacy_validation or name in ("a:b", "ok_name")))


@pytest.mark.parametrize("label", LABEL_NAMES)
def test_label_names_accepted_as_prometheus_client_accepts_them(
    legacy_validation: bool, label: str
) -> None:
    theirs = _accepted(lambda: prometheus_client.Gauge("g", "doc", [label], registry=None))
    assert _accepted(lambda: Gauge("g", "doc", [label], registry=None)) == theirs


def test_an_unencodable_name_is_refused() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        Counter("lone\ud800surrogate", "doc", registry=None)
    with pytest.raises(ValueError, match="UTF-8"):
        Counter("c", "doc", ["lone\ud800"], registry=None)


@pytest.mark.parametrize(
    ("labelnames", "message"),
    [
        (["__reserved"], "Reserved label metric name"),
        (["a", "a"], "Duplicate label names"),
    ],
)
def test_invalid_label_names(
    registry: CollectorRegistry, labelnames: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Gauge("g", "doc", labelnames, registry=registry)


def test_labelnames_given_as_a_string_is_refused(registry: CollectorRegistry) -> None:
    with pytest.raises(TypeError, match="did you mean"):
        Counter("c", "doc", "dataset", registry=registry)


def test_le_is_reserved_for_histograms(registry: CollectorRegistry) -> None:
    with pytest.raises(ValueError, match="Reserved label metric name: le"):
        Histogram("h", "doc", ["le"], registry=registry)
    Counter("c", "doc", ["le"], registry=registry)  # fine outside histograms


@pytest.mark.parametrize(
    ("buckets", "message"),
    [
        ([2, 1], "not in sorted order"),
        ([], "at least two"),
        ([float("nan")], "NaN"),
        (["x"], "numbers"),
    ],
)
def test_invalid_buckets(registry: CollectorRegistry, buckets: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Histogram("h", "doc", buckets=buckets, registry=registry)  # type: ignore[arg-type]


def test_failed_construction_registers_nothing(registry: CollectorRegistry) -> None:
    with pytest.raises(ValueError, match="sorted"):
        Histogram("h", "doc", buckets=[3, 2], registry=registry)
    Histogram("h", "doc", registry=registry)  # the name is still free


def test_counter_refuses_negative_and_nan(registry: CollectorRegistry) -> None:
    c = Counter("c", "doc", registry=registry)
    c.inc(2)
    with pytest.raises(ValueError, match="non-negative"):
        c.inc(-1)
    with pytest.raises(ValueError, match="non-negative"):
        c.inc(math.nan)
    with pytest.raises(TypeError):
        c.inc("1")  # type: ignore[arg-type]
    assert registry.get_sample_value("c_total") == 2.0


def test_histogram_refuses_nan(registry: CollectorRegistry) -> None:
    h = Histogram("h", "doc", ["k"], registry=registry)
    child = h.labels("a")
    child.observe(1)
    with pytest.raises(ValueError, match="NaN"):
        child.observe(math.nan)
    assert registry.get_sample_value("h_count", {"k": "a"}) == 1.0
    assert registry.get_sample_value("h_sum", {"k": "a"}) == 1.0


def test_observe_many_nan_records_nothing_and_names_index(registry: CollectorRegistry) -> None:
    h = Histogram("h", "doc", buckets=[0.5], registry=registry)
    values = np.linspace(0, 1, 2000)
    values[1234] = np.nan
    values[1500] = np.nan
    with pytest.raises(ValueError, match=r"values\[1234\] is NaN"):
        h.observe_many(values)
    assert registry.get_sample_value("h_count") == 0.0
    assert registry.get_sample_value("h_sum") == 0.0


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        (np.zeros((2, 3)), ValueError, r"1-D array, got shape \(2, 3\)"),
        (np.zeros(3, dtype=np.int64), TypeError, "float64 or float32 array, got dtype int64"),
        (np.zeros(3, dtype=np.complex128), TypeError, "complex128"),
        (np.array(["a", "b"]), TypeError, "float64 or float32"),
        (["0.5", "nope"], TypeError, "converting list failed"),
        (object(), TypeError, "observe_many expected"),
        (3.0, ValueError, "1-D array, got shape"),
    ],
)
def test_observe_many_wrong_input(
    registry: CollectorRegistry, values: object, error: type[Exception], message: str
) -> None:
    h = Histogram("h", "doc", registry=registry)
    with pytest.raises(error, match=message):
        h.observe_many(values)
    assert registry.get_sample_value("h_count") == 0.0


def test_observe_many_accepts_float32_strided_and_sequences(registry: CollectorRegistry) -> None:
    h = Histogram("h", "doc", buckets=[0.5, 1.0], registry=registry)
    h.observe_many(np.array([0.25, 0.75], dtype=np.float32))
    strided = (np.arange(10, dtype=np.float64) / 10)[::3]  # 0.0, 0.3, 0.6, 0.9
    assert not strided.flags.c_contiguous
    h.observe_many(strided)
    h.observe_many([2.0, 0.5])
    h.observe_many(np.array([], dtype=np.float64))
    assert registry.get_sample_value("h_bucket", {"le": "0.5"}) == 4.0
    assert registry.get_sample_value("h_bucket", {"le": "1.0"}) == 7.0
    assert registry.get_sample_value("h_count") == 8.0
    assert registry.get_sample_value("h_sum") == pytest.approx(5.3)


def test_observe_many_on_labelled_parent_needs_labels(registry: CollectorRegistry) -> None:
    h = Histogram("h", "doc", ["k"], registry=registry)
    with pytest.raises(ValueError, match="missing label values"):
        h.observe_many(np.ones(3))


@pytest.mark.parametrize(
    ("exemplar", "error", "message"),
    [
        ({"bad-name": "x"}, ValueError, "Invalid label metric name"),
        ({"t": "x" * 200}, ValueError, "exceeding the limit of 128"),
        ({"t": 5}, TypeError, "str to str"),
    ],
)
def test_invalid_exemplars_record_nothing(
    registry: CollectorRegistry, exemplar: dict[str, object], error: type[Exception], message: str
) -> None:
    c = Counter("c", "doc", registry=registry)
    h = Histogram("h", "doc", registry=registry)
    with pytest.raises(error, match=message):
        c.inc(1, exemplar=exemplar)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        h.observe(1, exemplar=exemplar)  # type: ignore[arg-type]
    assert registry.get_sample_value("c_total") == 0.0
    assert registry.get_sample_value("h_count") == 0.0


def test_cardinality_limit_refuses_and_counts(registry: CollectorRegistry) -> None:
    c = Counter("per_sample", "doc", ["sample_id"], registry=registry, max_label_sets=2)
    c.labels("a").inc()
    c.labels("b").inc()
    c.labels("a").inc()  # existing label sets keep working
    for _ in range(3):
        with pytest.raises(CardinalityLimitExceeded, match="cardinality limit"):
            c.labels("c")
    assert isinstance(CardinalityLimitExceeded("x"), ValueError)
    assert (
        registry.get_sample_value("vumeter_label_sets_rejected_total", {"metric": "per_sample"})
        == 3.0
    )
    assert registry.get_sample_value("per_sample_total", {"sample_id": "c"}) is None
    c.remove("a")
    c.labels("c").inc()  # room again after remove()
    assert b"vumeter_label_sets_rejected_total" in vumeter.generate_latest(registry)


def test_invalid_multiprocess_mode(registry: CollectorRegistry) -> None:
    with pytest.raises(ValueError, match="Invalid multiprocess mode"):
        Gauge("g", "doc", registry=registry, multiprocess_mode="bogus")
