"""Native histograms from the Python API: client_golang's settings, buckets checked against
numpy's logarithms, labels, exemplars, ``time()``, and what the text formats show."""

from __future__ import annotations

import math
import time

import numpy as np
import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import vumeter
from vumeter import Histogram


def numpy_buckets(values: np.ndarray, schema: int) -> dict[int, int]:
    """Bucket index -> count for positive values: ``ceil(log2(v) * 2**schema)``."""
    indices = np.ceil(np.log2(values) * 2.0**schema).astype(np.int64)
    found, counts = np.unique(indices, return_counts=True)
    return {int(i): int(n) for i, n in zip(found, counts, strict=True)}


@pytest.mark.parametrize(
    ("factor", "schema"),
    [
        (65536, -4),
        (256, -3),
        (16, -2),
        (4, -1),
        (2, 0),
        (1.5, 1),
        (1.2, 2),
        (1.1, 3),
        (1.05, 4),
        (1.03, 5),
        (1.02, 6),
        (1.01, 7),
        (1.005, 8),
        (1.000001, 8),
    ],
)
def test_the_factor_picks_client_golangs_schema(
    registry: CollectorRegistry, factor: float, schema: int
) -> None:
    h = Histogram("h", "H", registry=registry, native_histogram_bucket_factor=factor)
    assert h._native_schema == schema


def test_buckets_match_numpy_logarithms(registry: CollectorRegistry) -> None:
    rng = np.random.default_rng(7)
    values = rng.lognormal(mean=-3.0, sigma=2.0, size=20_000)
    h = Histogram(
        "lat_seconds",
        "Latency",
        registry=registry,
        native_histogram_bucket_factor=1.1,
        native_histogram_max_buckets=0,
    )
    h.observe_many(values[:10_000])
    for v in values[10_000:10_100]:
        h.observe(float(v))
    h.observe_many(list(values[10_100:]))
    native = h._native_buckets()
    assert native is not None
    schema, threshold, zero, positive, negative = native
    assert (schema, threshold, zero, negative) == (3, 2.0**-128, 0, [])
    assert dict(positive) == numpy_buckets(values, 3)
    assert registry.get_sample_value("lat_seconds_count") == 20_000
    assert registry.get_sample_value("lat_seconds_sum") == pytest.approx(values.sum())


def test_zero_bucket_negative_values_and_threshold(registry: CollectorRegistry) -> None:
    h = Histogram(
        "snr",
        "S",
        registry=registry,
        native_histogram_bucket_factor=2,
        native_histogram_zero_threshold=0.01,
    )
    h.observe_many(np.array([0.0, 0.005, -0.01, 0.02, -3.0, -3.0, 5.0]))
    native = h._native_buckets()
    assert native is not None
    schema, threshold, zero, positive, negative = native
    assert (schema, threshold, zero) == (0, 0.01, 3)
    assert positive == [(-5, 1), (3, 1)]  # 0.02 in (2^-6, 2^-5], 5 in (4, 8]
    assert negative == [(2, 2)]  # |-3| in (2, 4]


def test_the_bucket_limit_lowers_the_resolution(registry: CollectorRegistry) -> None:
    h = Histogram(
        "wide",
        "W",
        registry=registry,
        native_histogram_bucket_factor=1.01,
        native_histogram_max_buckets=20,
    )
    values = np.geomspace(1e-4, 1e4, 5_000)
    h.observe_many(values)
    native = h._native_buckets()
    assert native is not None
    schema, _, _, positive, _ = native
    assert schema < 7
    assert len(positive) <= 20
    assert dict(positive) == numpy_buckets(values, schema)


def test_a_reset_after_the_minimum_duration_starts_over(registry: CollectorRegistry) -> None:
    h = Histogram(
        "resets",
        "R",
        registry=registry,
        native_histogram_bucket_factor=1.1,
        native_histogram_max_buckets=3,
        native_histogram_min_reset_duration=1e-6,
    )
    time.sleep(0.001)
    for v in (1.0, 10.0, 100.0, 1000.0):
        h.observe(v)
    native = h._native_buckets()
    assert native is not None
    assert native[3] == [(math.ceil(math.log2(1000.0) * 8), 1)]
    assert registry.get_sample_value("resets_count") == 1
    assert registry.get_sample_value("resets_sum") == 1000.0


def test_the_bucket_limit_widens_the_zero_bucket_up_to_its_maximum(
    registry: CollectorRegistry,
) -> None:
    h = Histogram(
        "widens",
        "W",
        registry=registry,
        native_histogram_bucket_factor=2.0,
        native_histogram_max_buckets=2,
        native_histogram_max_zero_threshold=1.0,
    )
    for v in (0.3, 0.7, 3.0):  # schema 0: buckets -1, 0, 2
        h.observe(v)
    native = h._native_buckets()
    assert native is not None
    assert native[1:4] == (0.5, 1, [(0, 1), (2, 1)]), "0.3's bucket went into the zero bucket"
    h.observe(9.0)  # bucket 4: the zero bucket widens to 1, taking in 0.7
    h.observe(40.0)  # bucket 6: past the maximum, so the resolution halves
    native = h._native_buckets()
    assert native is not None
    schema, threshold, zero, _, _ = native
    assert (threshold, zero) == (1.0, 2)
    assert schema < 0
    assert registry.get_sample_value("widens_count") == 5


def test_invalid_settings_raise(registry: CollectorRegistry) -> None:
    for bad in (
        {"native_histogram_bucket_factor": 1.0},
        {"native_histogram_bucket_factor": 1.1, "native_histogram_zero_threshold": -1.0},
        {"native_histogram_bucket_factor": 1.1, "native_histogram_max_buckets": -1},
        {"native_histogram_bucket_factor": 1.1, "native_histogram_min_reset_duration": -1.0},
        {"native_histogram_bucket_factor": 1.1, "native_histogram_max_zero_threshold": -1.0},
    ):
        with pytest.raises(ValueError, match="native_histogram"):
            Histogram("bad", "B", registry=None, **bad)  # type: ignore[arg-type]


def test_labels_exemplars_and_time(registry: CollectorRegistry) -> None:
    h = Histogram("op_seconds", "Op", ["op"], registry=registry, native_histogram_bucket_factor=1.1)
    child = h.labels("read")
    child.observe(0.25, exemplar={"trace_id": "abc"})
    with h.labels(op="write").time():
        pass
    read = child._native_buckets()
    assert read is not None
    assert read[3] == [(-16, 1)]
    write = h.labels("write")._native_buckets()
    assert write is not None
    assert sum(n for _, n in write[3]) + write[2] == 1
    om = vumeter.generate_openmetrics(registry).decode()
    assert 'op_seconds_bucket{le="+Inf",op="read"} 1.0 # {trace_id="abc"} 0.25' in om


def test_native_only_text_is_client_golangs(registry: CollectorRegistry) -> None:
    """client_golang writes a histogram without classic buckets in text as its +Inf
    bucket, _sum and _count; vumeter adds _created where prometheus_client would."""
    h = Histogram("dur_seconds", "D", registry=registry, native_histogram_bucket_factor=1.1)
    h.observe_many(np.array([0.125, 0.25, 0.5]))
    prometheus_client.disable_created_metrics()
    try:
        text = vumeter.generate_latest(registry).decode()
        om = vumeter.generate_openmetrics(registry).decode()
    finally:
        prometheus_client.enable_created_metrics()
    body = 'dur_seconds_bucket{le="+Inf"} 3.0\ndur_seconds_count 3.0\ndur_seconds_sum 0.875'
    assert text == f"# HELP dur_seconds D\n# TYPE dur_seconds histogram\n{body}\n"
    assert om == f"# HELP dur_seconds D\n# TYPE dur_seconds histogram\n{body}\n# EOF\n"
    # Both parse with prometheus_client's parsers.
    families = list(text_string_to_metric_families(text))
    assert [s.value for s in families[0].samples] == [3.0, 3.0, 0.875]


def test_classic_buckets_beside_native_render_as_prometheus_client(
    registry: CollectorRegistry,
) -> None:
    bounds = (0.1, 0.5, 1.0, 5.0)
    theirs = CollectorRegistry()
    ours = Histogram(
        "both_seconds",
        "Both",
        ["op"],
        registry=registry,
        buckets=bounds,
        native_histogram_bucket_factor=1.1,
    )
    reference = prometheus_client.Histogram(
        "both_seconds", "Both", ["op"], registry=theirs, buckets=bounds
    )
    values = np.random.default_rng(3).exponential(0.7, size=500)
    for v in values:
        # One at a time in both, so that the sums are added in the same order.
        ours.labels("x").observe(float(v))
        reference.labels("x").observe(float(v))
    prometheus_client.disable_created_metrics()
    try:
        assert vumeter.generate_latest(registry) == prometheus_client.generate_latest(theirs)
    finally:
        prometheus_client.enable_created_metrics()
    native = ours.labels("x")._native_buckets()
    assert native is not None
    assert sum(n for _, n in native[3]) + native[2] == 500


def test_default_histograms_have_no_native_buckets(registry: CollectorRegistry) -> None:
    h = Histogram("plain", "P", registry=registry)
    assert h._native_schema is None
    assert h._native_buckets() is None
    assert h._upper_bounds == [*Histogram.DEFAULT_BUCKETS]
