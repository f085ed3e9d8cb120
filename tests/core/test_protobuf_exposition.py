"""The protobuf exposition, decoded by the Python ``protobuf`` package with client_model's
``metrics.proto`` compiled in the test: every vumeter type, native buckets as spans and
deltas, other collectors from their prometheus_client samples, and ``Accept``
negotiation."""

from __future__ import annotations

from typing import Any

import numpy as np
import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

import vumeter
from tests.support.metrics_proto import METRIC_TYPES, absolute_buckets, by_name, decode_delimited
from vumeter import Counter, Gauge, Histogram

PROMETHEUS_ACCEPT = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def seconds(timestamp: Any) -> float:
    return float(timestamp.seconds + timestamp.nanos / 1e9)


def labels_of(message: Any) -> dict[str, str]:
    return {pair.name: pair.value for pair in message.label}


def test_counters_gauges_and_classic_histograms(registry: CollectorRegistry) -> None:
    c = Counter("jobs", "Jobs done", ["zone", "app"], registry=registry)
    c.labels("eu", "x").inc(2, exemplar={"trace_id": "ab"})
    g = Gauge("temp_celsius", "T", registry=registry, unit="celsius")
    g.set(-3.5)
    h = Histogram("lat_seconds", "L", ["op"], registry=registry, buckets=(0.5, 1.0))
    h.labels("read").observe(0.25)
    h.labels("read").observe(2.0, exemplar={"trace_id": "cd"})
    families = by_name(vumeter.generate_protobuf(registry))
    assert list(families) == ["jobs_total", "temp_celsius", "lat_seconds"]

    jobs = families["jobs_total"]
    assert (METRIC_TYPES[jobs.type], jobs.help) == ("COUNTER", "Jobs done")
    (metric,) = jobs.metric
    assert [p.name for p in metric.label] == ["app", "zone"], "sorted by name"
    assert metric.counter.value == 2.0
    assert labels_of(metric.counter.exemplar) == {"trace_id": "ab"}
    created = registry.get_sample_value("jobs_created", {"zone": "eu", "app": "x"})
    assert seconds(metric.counter.created_timestamp) == pytest.approx(created, abs=1e-6)

    temp = families["temp_celsius"]
    assert (METRIC_TYPES[temp.type], temp.unit, temp.metric[0].gauge.value) == (
        "GAUGE",
        "celsius",
        -3.5,
    )

    (read,) = families["lat_seconds"].metric
    hist = read.histogram
    assert (hist.sample_count, hist.sample_sum) == (2, 2.25)
    assert [(b.upper_bound, b.cumulative_count) for b in hist.bucket[:2]] == [(0.5, 1), (1.0, 1)]
    # The +Inf bucket is there only to carry its exemplar.
    assert hist.bucket[2].upper_bound == float("inf")
    assert labels_of(hist.bucket[2].exemplar) == {"trace_id": "cd"}
    assert not hist.HasField("schema"), "classic only"
    assert not hist.positive_span


def test_native_buckets_decode_to_what_was_observed(registry: CollectorRegistry) -> None:
    h = Histogram(
        "dur_seconds",
        "D",
        registry=registry,
        native_histogram_bucket_factor=1.1,
        native_histogram_max_buckets=0,
    )
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.lognormal(-2, 1.5, 5_000), -rng.lognormal(0, 1, 100), [0.0]])
    h.observe_many(values)
    (metric,) = by_name(vumeter.generate_protobuf(registry))["dur_seconds"].metric
    hist = metric.histogram
    native = h._native_buckets()
    assert native is not None
    schema, threshold, zero, positive, negative = native
    assert (hist.schema, hist.zero_threshold, hist.zero_count) == (schema, threshold, zero)
    assert absolute_buckets(hist.positive_span, hist.positive_delta) == dict(positive)
    assert absolute_buckets(hist.negative_span, hist.negative_delta) == dict(negative)
    # Independently of vumeter's own reading: numpy's logarithms at schema 3.
    positives = values[values > 0]
    indices, counts = np.unique(np.ceil(np.log2(positives) * 8).astype(int), return_counts=True)
    assert dict(positive) == dict(zip(indices.tolist(), counts.tolist(), strict=True))
    assert hist.sample_count == len(values) == zero + sum(dict(positive).values()) + 100
    assert hist.sample_sum == pytest.approx(values.sum())
    assert not hist.bucket, "no classic buckets"


def test_an_empty_native_histogram_is_marked_native(registry: CollectorRegistry) -> None:
    Histogram(
        "idle",
        "I",
        registry=registry,
        native_histogram_bucket_factor=2,
        native_histogram_zero_threshold=0.0,
    )
    hist = by_name(vumeter.generate_protobuf(registry))["idle"].metric[0].histogram
    assert (hist.sample_count, len(hist.positive_span)) == (0, 1)
    assert (hist.positive_span[0].offset, hist.positive_span[0].length) == (0, 0)


def test_classic_and_native_together_with_exemplars(registry: CollectorRegistry) -> None:
    h = Histogram(
        "both",
        "B",
        registry=registry,
        buckets=(1.0, 10.0),
        native_histogram_bucket_factor=2,
    )
    h.observe(0.5)
    h.observe(3.0, exemplar={"trace_id": "t1"})
    hist = by_name(vumeter.generate_protobuf(registry))["both"].metric[0].histogram
    assert [(b.upper_bound, b.cumulative_count) for b in hist.bucket] == [(1.0, 1), (10.0, 2)]
    assert absolute_buckets(hist.positive_span, hist.positive_delta) == {-1: 1, 2: 1}
    (exemplar,) = hist.exemplars
    assert (labels_of(exemplar), exemplar.value) == ({"trace_id": "t1"}, 3.0)
    assert exemplar.HasField("timestamp"), "native exemplars must carry a timestamp"


def test_created_timestamps_follow_prometheus_clients_switch(registry: CollectorRegistry) -> None:
    Counter("c", "C", registry=registry).inc()
    Histogram("h", "H", registry=registry, native_histogram_bucket_factor=1.1).observe(1)
    prometheus_client.disable_created_metrics()
    try:
        families = by_name(vumeter.generate_protobuf(registry))
    finally:
        prometheus_client.enable_created_metrics()
    assert not families["c_total"].metric[0].counter.HasField("created_timestamp")
    assert not families["h"].metric[0].histogram.HasField("created_timestamp")


def test_other_collectors_are_encoded_from_their_samples(registry: CollectorRegistry) -> None:
    Counter("ours", "O", registry=registry).inc(5)
    summary = prometheus_client.Summary("sm_seconds", "S", ["k"], registry=registry)
    summary.labels("a").observe(3.0)
    theirs = prometheus_client.Histogram("ph", "P", registry=registry, buckets=(1.0,))
    theirs.observe(0.5)
    prometheus_client.Counter("pc", "P", registry=registry).inc(2)
    prometheus_client.Gauge("pg", "P", registry=registry).set(7)
    prometheus_client.Info("build", "B", registry=registry).info({"version": "1.2"})
    prometheus_client.Enum("state", "S", states=["up", "down"], registry=registry)
    families = by_name(vumeter.generate_protobuf(registry))
    assert list(families) == [
        "ours_total",
        "sm_seconds",
        "ph",
        "pc_total",
        "pg",
        "build_info",
        "state",
    ], "registration order"
    sm = families["sm_seconds"].metric[0]
    assert (labels_of(sm), sm.summary.sample_count, sm.summary.sample_sum) == ({"k": "a"}, 1, 3.0)
    created = registry.get_sample_value("sm_seconds_created", {"k": "a"})
    assert seconds(sm.summary.created_timestamp) == pytest.approx(created, abs=1e-6)
    ph = families["ph"].metric[0].histogram
    assert (ph.sample_count, [b.cumulative_count for b in ph.bucket]) == (1, [1])
    assert families["pc_total"].metric[0].counter.value == 2
    assert families["pg"].metric[0].gauge.value == 7
    info = families["build_info"].metric[0]
    assert (labels_of(info), info.gauge.value) == ({"version": "1.2"}, 1.0)
    states = {labels_of(m)["state"]: m.gauge.value for m in families["state"].metric}
    assert states == {"up": 1.0, "down": 0.0}


def test_the_bytes_are_whole_delimited_messages(registry: CollectorRegistry) -> None:
    for i in range(50):
        Histogram(f"h{i}", "H", ["k"], registry=registry, native_histogram_bucket_factor=1.1)
    data = vumeter.generate_protobuf(registry)
    assert len(decode_delimited(data)) == 50


@pytest.mark.parametrize(
    ("accept", "protobuf"),
    [
        (PROMETHEUS_ACCEPT, True),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited",
            True,
        ),
        # Not the delimited MetricFamily stream: not offered.
        ("application/vnd.google.protobuf;proto=other", False),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited;q=0.1,application/openmetrics-text;q=0.9",
            False,
        ),
        ("application/openmetrics-text;version=1.0.0", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_negotiation(accept: str | None, protobuf: bool) -> None:
    """Protobuf when the client prefers it; otherwise prometheus_client's answer."""
    from prometheus_client.exposition import choose_encoder as theirs

    expected = vumeter.CONTENT_TYPE_PROTOBUF if protobuf else theirs(accept)[1]  # type: ignore[arg-type]
    assert vumeter.choose_encoder(accept)[1] == expected
