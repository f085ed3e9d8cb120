"""The AudioProcessingMetrics catalog: names, labels, buckets, registration, promtool lint."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.gpu.fake_nvml import FakeGPU, FakeNVML
from tests.support.binaries import require_binary
from vumeter import CollectorRegistry, Gauge, generate_latest, generate_openmetrics
from vumeter.audio import AudioProcessingMetrics, MetricsCollector
from vumeter.gpu import GPUMonitor
from vumeter.push import MetricsPusher

EXPECTED = {
    # name: (type, label names)
    "audio_samples_processed": ("counter", {"dataset", "processor", "status"}),
    "audio_processing_errors": ("counter", {"dataset", "error_type", "severity"}),
    "audio_samples_excluded": ("counter", {"dataset", "reason"}),
    "audio_processing_duration_seconds": ("histogram", {"dataset", "operation"}),
    "audio_quality_score": ("histogram", {"dataset"}),
    "audio_snr_db": ("histogram", {"dataset"}),
    "audio_pesq_score": ("histogram", {"dataset"}),
    "audio_stoi_score": ("histogram", {"dataset"}),
    "audio_processing_queue_size": ("gauge", {"queue_name"}),
    "audio_processing_active_workers": ("gauge", {"worker_type"}),
    "gpu_memory_usage_bytes": ("gauge", {"gpu_id"}),
    "gpu_memory_total_bytes": ("gauge", {"gpu_id"}),
    "gpu_utilization_ratio": ("gauge", {"gpu_id"}),
    "gpu_temperature_celsius": ("gauge", {"gpu_id"}),
    "gpu_power_watts": ("gauge", {"gpu_id"}),
    "vumeter_gpu_monitor_up": ("gauge", set()),
    "vumeter_gpu_poll_failures": ("counter", set()),
    "vumeter_push_failures": ("counter", set()),
    "vumeter_last_push_success_timestamp_seconds": ("gauge", set()),
}
BUCKETS: dict[str, list[float]] = {
    "audio_processing_duration_seconds": [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60,
    ],
    "audio_quality_score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    "audio_snr_db": [-5, 0, 5, 10, 15, 20, 25, 30, 40],
    "audio_pesq_score": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5],
    "audio_stoi_score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
}  # fmt: skip


def populated_registry() -> CollectorRegistry:
    """A registry with every catalog metric holding at least one series."""
    registry = CollectorRegistry()
    collector = MetricsCollector(AudioProcessingMetrics(registry))
    with collector.track_operation("enhance", "librispeech"):
        pass
    with pytest.raises(MemoryError), collector.track_operation("enhance", "librispeech"):
        raise MemoryError
    collector.observe_durations("librispeech", "resample", np.array([0.002, 0.02]))
    collector.record_quality(
        "librispeech", [0.4, 0.8], snr_db=[5.0, 25.0], pesq=[2.1, 3.9], stoi=[0.7, 0.95]
    )
    collector.record_exclusion("librispeech", "low_snr", 3)
    collector.set_queue_size("input", 5)
    collector.set_active_workers("enhancer", 2)
    GPUMonitor(registry=registry, nvml=FakeNVML([FakeGPU(), FakeGPU()])).poll_once()
    MetricsPusher("http://127.0.0.1:9", registry=registry)  # registers the push metrics
    return registry


def test_exposition_has_every_name_with_type_help_and_labels() -> None:
    text = generate_latest(populated_registry()).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}

    for name, (kind, labels) in EXPECTED.items():
        assert name in families, f"{name} missing from the exposition"
        family = families[name]
        assert family.type == kind, name
        assert family.documentation, f"{name} has no HELP text"
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == labels, sample
    for name, bounds in BUCKETS.items():
        les = [
            float(sample.labels["le"])
            for sample in families[name].samples
            if sample.name == f"{name}_bucket" and sample.labels["dataset"] == "librispeech"
        ]
        # one label set per histogram here, except durations (enhance and resample)
        assert sorted(set(les)) == sorted([*(float(b) for b in bounds), float("inf")]), name


def test_promtool_check_metrics_accepts_the_exposition() -> None:
    promtool = require_binary("promtool")
    exposition = generate_latest(populated_registry())

    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60
    )

    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "", result.stdout.decode()


def test_custom_duration_buckets() -> None:
    registry = CollectorRegistry()
    metrics = AudioProcessingMetrics(registry, duration_buckets=[0.5, 1, 2.5])
    MetricsCollector(metrics).observe_durations("d", "op", [0.7, 3.0])

    les = {
        sample.labels["le"]: sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "audio_processing_duration_seconds_bucket"
    }
    assert {float(le): count for le, count in les.items()} == {
        0.5: 0,
        1.0: 1,
        2.5: 1,
        float("inf"): 2,
    }


@pytest.mark.parametrize(
    ("buckets", "error", "message"),
    [
        ([], ValueError, "at least one bucket"),
        ([1.0, 0.5], ValueError, "strictly increasing"),
        ([0.1, 0.1], ValueError, "strictly increasing"),
        ([0.0, 1.0], ValueError, r"> 0 seconds, got 0.0"),
        ([float("nan")], ValueError, "> 0 seconds"),
        ("0.1,0.5", TypeError, "sequence of numbers, got str"),
        ([0.1, "1"], TypeError, "must hold numbers, got '1'"),
        (0.5, TypeError, "sequence of numbers, got float"),
    ],
)
def test_bad_duration_buckets_register_nothing(
    buckets: object, error: type[Exception], message: str
) -> None:
    registry = CollectorRegistry()
    with pytest.raises(error, match=message):
        AudioProcessingMetrics(registry, duration_buckets=buckets)  # type: ignore[arg-type]
    assert list(registry.collect()) == []


def test_second_catalog_on_a_registry_is_a_clash_that_leaves_the_first_intact() -> None:
    registry = CollectorRegistry()
    first = AudioProcessingMetrics(registry)
    before = generate_latest(registry)

    with pytest.raises(ValueError, match="audio_samples_processed"):
        AudioProcessingMetrics(registry)

    assert generate_latest(registry) == before
    first.samples_processed.labels("d", "p", "success").inc()
    assert (
        registry.get_sample_value(
            "audio_samples_processed_total", {"dataset": "d", "processor": "p", "status": "success"}
        )
        == 1
    )


def test_a_clash_half_way_rolls_back_what_was_registered() -> None:
    registry = CollectorRegistry()
    Gauge("audio_processing_queue_size", "taken by the application", registry=registry)

    with pytest.raises(ValueError, match="audio_processing_queue_size"):
        AudioProcessingMetrics(registry)

    names = {family.name for family in registry.collect()}
    assert names == {"audio_processing_queue_size"}


def test_gpu_gauges_are_shared_with_a_monitor_on_the_same_registry() -> None:
    registry = CollectorRegistry()
    monitor = GPUMonitor(registry=registry, nvml=FakeNVML([FakeGPU(memory_used=5)]))
    metrics = AudioProcessingMetrics(registry)  # no clash with the monitor's gauges
    monitor.poll_once()

    assert metrics.gpu_memory_usage is monitor.metrics.memory_usage
    assert registry.get_sample_value("gpu_memory_usage_bytes", {"gpu_id": "0"}) == 5
    for gauge in (metrics.gpu_memory_total, metrics.gpu_utilization, metrics.gpu_temperature):
        assert gauge in monitor.metrics.per_gpu_gauges
    assert metrics.gpu_power is monitor.metrics.power


def test_registry_must_be_a_collector_registry() -> None:
    with pytest.raises(TypeError, match="registry must be a CollectorRegistry, got dict"):
        AudioProcessingMetrics({})  # type: ignore[arg-type]


def test_default_metrics_is_one_shared_catalog_on_the_global_registry() -> None:
    # In a fresh interpreter: the global REGISTRY of this test process stays untouched.
    script = (
        "from vumeter import REGISTRY\n"
        "from vumeter.audio import MetricsCollector, default_metrics\n"
        "assert default_metrics() is default_metrics()\n"
        "assert default_metrics().registry is REGISTRY\n"
        "assert MetricsCollector().metrics is MetricsCollector().metrics is default_metrics()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_openmetrics_exposition_carries_the_catalog() -> None:
    text = generate_openmetrics(populated_registry()).decode()

    assert text.endswith("# EOF\n")
    for name, (kind, _) in EXPECTED.items():
        assert f"# TYPE {name} {kind}\n" in text, name


def test_latency_and_quality_record_native_buckets_too(registry: CollectorRegistry) -> None:
    from tests.support.metrics_proto import by_name
    from vumeter import generate_protobuf

    metrics = AudioProcessingMetrics(registry)
    metrics.processing_duration.labels("libri", "enhance").observe(0.02)
    metrics.quality_score.labels("libri").observe(0.8)
    metrics.snr_db.labels("libri").observe(12.0)
    assert metrics.processing_duration._native_schema == 3
    assert metrics.quality_score._native_schema == 3
    assert metrics.snr_db._native_schema is None, "negative dB values: classic only"
    families = by_name(generate_protobuf(registry))
    duration = families["audio_processing_duration_seconds"].metric[0].histogram
    assert (duration.schema, len(duration.bucket), duration.sample_count) == (3, 15, 1)
    assert not families["audio_snr_db"].metric[0].histogram.positive_span
    classic_only = AudioProcessingMetrics(CollectorRegistry(), native_bucket_factor=None)
    assert classic_only.processing_duration._native_schema is None
