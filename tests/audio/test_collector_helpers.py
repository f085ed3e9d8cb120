"""MetricsCollector's gauges, exclusions and batch helpers (numpy arrays via observe_many)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.samples import exists, value
from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector


def test_queue_sizes_and_active_workers(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    collector.set_queue_size("input", 12)
    collector.set_queue_size("output", np.int64(3))
    collector.set_active_workers("enhancer", 4)
    collector.set_queue_size("input", 7)

    assert value(registry, "audio_processing_queue_size", queue_name="input") == 7
    assert value(registry, "audio_processing_queue_size", queue_name="output") == 3
    assert value(registry, "audio_processing_active_workers", worker_type="enhancer") == 4


@pytest.mark.parametrize(
    ("name", "size", "error", "message"),
    [
        ("input", -1, ValueError, "size must be a finite number >= 0, got -1"),
        ("input", math.nan, ValueError, "size must be a finite number >= 0"),
        ("input", math.inf, ValueError, "size must be a finite number >= 0"),
        ("input", "12", TypeError, "size must be a number, got str"),
        ("input", True, TypeError, "size must be a number, got bool"),
        ("", 1, ValueError, "queue_name must be a non-empty str"),
        (None, 1, TypeError, "queue_name must be a non-empty str, got NoneType"),
    ],
)
def test_bad_queue_size_is_rejected(
    collector: MetricsCollector,
    registry: CollectorRegistry,
    name: object,
    size: object,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        collector.set_queue_size(name, size)  # type: ignore[arg-type]
    with pytest.raises(error):
        collector.set_active_workers(name, size)  # type: ignore[arg-type]
    assert not exists(registry, "audio_processing_queue_size", queue_name="input")
    assert not exists(registry, "audio_processing_active_workers", worker_type="input")


def test_exclusions(collector: MetricsCollector, registry: CollectorRegistry) -> None:
    collector.record_exclusion("librispeech", "low_snr")
    collector.record_exclusion("librispeech", "low_snr", count=4)
    collector.record_exclusion("librispeech", "clipping", count=np.int32(2))
    collector.record_exclusion("librispeech", "silence", count=0)

    total = "audio_samples_excluded_total"
    assert value(registry, total, dataset="librispeech", reason="low_snr") == 5
    assert value(registry, total, dataset="librispeech", reason="clipping") == 2
    assert not exists(registry, total, dataset="librispeech", reason="silence")

    with pytest.raises(ValueError, match="count must be >= 0, got -2"):
        collector.record_exclusion("librispeech", "low_snr", count=-2)
    with pytest.raises(TypeError, match="count must be an int, got float"):
        collector.record_exclusion("librispeech", "low_snr", count=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="count must be an int, got bool"):
        collector.record_exclusion("librispeech", "low_snr", count=True)
    with pytest.raises(ValueError, match="reason must be a non-empty str"):
        collector.record_exclusion("librispeech", "")
    assert value(registry, total, dataset="librispeech", reason="low_snr") == 5


def test_observe_durations_records_a_whole_batch(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    batch = np.array([0.0005, 0.003, 0.003, 0.2, 45.0])
    collector.observe_durations("librispeech", "enhance", batch)
    collector.observe_durations("librispeech", "enhance", [0.5])
    collector.observe_durations("librispeech", "enhance", np.array([], dtype=np.float32))

    labels = {"dataset": "librispeech", "operation": "enhance"}
    assert value(registry, "audio_processing_duration_seconds_count", **labels) == 6
    assert value(registry, "audio_processing_duration_seconds_sum", **labels) == pytest.approx(
        batch.sum() + 0.5
    )
    bucket = "audio_processing_duration_seconds_bucket"
    assert value(registry, bucket, le="0.001", **labels) == 1
    assert value(registry, bucket, le="0.005", **labels) == 3
    assert value(registry, bucket, le="30.0", **labels) == 5
    assert value(registry, bucket, le="+Inf", **labels) == 6
    # Batches are per-sample timings, not outcomes: the counters are untouched.
    assert not exists(
        registry,
        "audio_samples_processed_total",
        dataset="librispeech",
        processor="enhance",
        status="success",
    )


@pytest.mark.parametrize(
    ("batch", "error", "message"),
    [
        (np.array([0.1, np.nan, 0.2]), ValueError, r"durations must be finite, got nan at index 1"),
        (np.array([0.1, np.inf]), ValueError, "durations must be finite"),
        (np.array([0.1, -0.2]), ValueError, r"durations must be >= 0.0, got -0.2"),
        (np.ones((2, 2)), ValueError, r"durations must be 1-D, got an array of shape \(2, 2\)"),
        (np.float64(0.3), TypeError, "durations must be a 1-D numpy array of floats"),
        ("0.1", TypeError, "durations must be a 1-D numpy array of floats, got str"),
        (np.array(["a", "b"]), TypeError, "durations must hold floats, got dtype <U1"),
        (np.array([True, False]), TypeError, "durations must hold floats, got dtype bool"),
        ([[0.1], [0.2, 0.3]], ValueError, "durations must be a 1-D array of floats"),
    ],
)
def test_bad_duration_batches_record_nothing(
    collector: MetricsCollector,
    registry: CollectorRegistry,
    batch: object,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        collector.observe_durations("librispeech", "enhance", batch)  # type: ignore[arg-type]
    assert not exists(
        registry,
        "audio_processing_duration_seconds_count",
        dataset="librispeech",
        operation="enhance",
    )


def test_record_quality_records_scores_and_breakdown(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    scores = np.array([0.05, 0.55, 0.95, 1.0])
    snr = np.array([-7.0, 3.0, 12.0, 35.0])
    pesq = np.array([1.2, 2.4, 3.6, 4.4])
    stoi = np.array([0.42, 0.71, 0.88, 0.97])
    collector.record_quality("librispeech", scores, snr_db=snr, pesq=pesq, stoi=stoi)
    collector.record_quality("vctk", [0.3, 0.4])

    ds = {"dataset": "librispeech"}
    assert value(registry, "audio_quality_score_count", **ds) == 4
    assert value(registry, "audio_quality_score_sum", **ds) == pytest.approx(scores.sum())
    assert value(registry, "audio_quality_score_bucket", le="0.1", **ds) == 1
    assert value(registry, "audio_quality_score_bucket", le="0.6", **ds) == 2
    assert value(registry, "audio_snr_db_bucket", le="-5.0", **ds) == 1
    assert value(registry, "audio_snr_db_bucket", le="30.0", **ds) == 3
    assert value(registry, "audio_snr_db_count", **ds) == 4
    assert value(registry, "audio_pesq_score_bucket", le="2.5", **ds) == 2
    assert value(registry, "audio_pesq_score_count", **ds) == 4
    assert value(registry, "audio_stoi_score_bucket", le="0.9", **ds) == 3
    assert value(registry, "audio_quality_score_count", dataset="vctk") == 2
    assert not exists(registry, "audio_pesq_score_count", dataset="vctk")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"scores": [0.5, 1.2]}, ValueError, r"scores must be <= 1.0, got 1.2"),
        ({"scores": [-0.1, 0.5]}, ValueError, r"scores must be >= 0.0, got -0.1"),
        (
            {"scores": [0.5, 0.6], "snr_db": [10.0]},
            ValueError,
            r"snr_db must have one value per score \(2\), got 1",
        ),
        (
            {"scores": [0.5, 0.6], "stoi": [0.9, np.nan]},
            ValueError,
            "stoi must be finite, got nan at index 1",
        ),
        (
            {"scores": [0.5, 0.6], "pesq": "high"},
            TypeError,
            "pesq must be a 1-D numpy array of floats, got str",
        ),
        ({"scores": None}, TypeError, "scores must be a 1-D numpy array of floats, got NoneType"),
    ],
)
def test_bad_quality_batches_record_nothing(
    collector: MetricsCollector,
    registry: CollectorRegistry,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    snr_ok = {"snr_db": [10.0, 20.0]} if "snr_db" not in kwargs else {}
    with pytest.raises(error, match=message):
        collector.record_quality("librispeech", **snr_ok, **kwargs)  # type: ignore[arg-type]
    for name in ("audio_quality_score_count", "audio_snr_db_count", "audio_stoi_score_count"):
        assert not exists(registry, name, dataset="librispeech")


def test_collector_rejects_bad_configuration(metrics: AudioProcessingMetrics) -> None:
    with pytest.raises(
        TypeError, match="metrics must be an AudioProcessingMetrics, got CollectorRegistry"
    ):
        MetricsCollector(CollectorRegistry())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="severity_classifier must be callable"):
        MetricsCollector(metrics, severity_classifier="critical")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_interval must be a finite number of seconds > 0"):
        MetricsCollector(metrics, push_gateway_url="http://127.0.0.1:9091", batch_interval=0)
    with pytest.raises(
        ValueError, match="gpu_poll_interval must be a finite number of seconds > 0"
    ):
        MetricsCollector(metrics, gpu_poll_interval=-1.0)
    with pytest.raises(ValueError, match="must use http or https"):
        MetricsCollector(metrics, push_gateway_url="ftp://gateway:9091")
    with pytest.raises(ValueError, match="job must be a non-empty str"):
        MetricsCollector(metrics, push_gateway_url="gateway:9091", job="")
