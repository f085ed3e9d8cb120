"""``AudioProcessingMetrics``: the metric catalog of an audio-processing worker.

Names, labels and buckets are a contract with the dashboards and alerts in this repository
(``dashboards/``, ``alerts/``): change them only together. The catalog can be created on
any ``CollectorRegistry`` (tests use their own); creating it twice on the same registry is
a name clash and raises ``ValueError`` without leaving anything half-registered.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry

from vumeter import Counter, Gauge, Histogram
from vumeter.gpu.metrics import GPUMetrics, gpu_metrics_for
from vumeter.runtime import registered_together

# Buckets from 1 ms to 60 s: per-sample work often takes a few milliseconds, and buckets
# starting at 100 ms would put all of it in the first one, hiding p50/p95 of fast operations.
DEFAULT_DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# TOPSIS closeness lies in [0, 1]; linear buckets so histogram_quantile interpolates evenly.
QUALITY_SCORE_BUCKETS: Final[tuple[float, ...]] = tuple(round(0.1 * i, 1) for i in range(1, 11))
SNR_DB_BUCKETS: Final[tuple[float, ...]] = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0)
# PESQ MOS-LQO spans about 1.0 (bad) to 4.5 (excellent).
PESQ_BUCKETS: Final[tuple[float, ...]] = tuple(1.0 + 0.5 * i for i in range(8))
STOI_BUCKETS: Final[tuple[float, ...]] = QUALITY_SCORE_BUCKETS
# Native histogram buckets beside the classic ones for the latency and the quality score:
# a factor of 1.1 (schema 3) keeps any quantile within 9 % of the exact one, from
# milliseconds to minutes, in one series per child for a Prometheus that scrapes them
# (docs/native-histograms.md). Scrapes in text still see only the classic buckets.
NATIVE_BUCKET_FACTOR: Final = 1.1


def _checked_buckets(buckets: object) -> tuple[float, ...]:
    if isinstance(buckets, str | bytes) or not isinstance(buckets, Sequence):
        raise TypeError(
            f"duration_buckets must be a sequence of numbers, got {type(buckets).__name__}"
        )
    if not buckets:
        raise ValueError("duration_buckets must hold at least one bucket bound")
    bounds: list[float] = []
    for bound in buckets:
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise TypeError(f"duration_buckets must hold numbers, got {bound!r}")
        if math.isnan(bound) or bound <= 0:
            raise ValueError(f"duration bucket bounds must be > 0 seconds, got {bound!r}")
        bounds.append(float(bound))
    if any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
        raise ValueError(f"duration_buckets must be strictly increasing, got {list(buckets)}")
    return tuple(bounds)


class AudioProcessingMetrics:
    """Every metric an audio-processing worker exposes, registered on ``registry``.

    ``duration_buckets`` overrides ``DEFAULT_DURATION_BUCKETS`` for
    ``audio_processing_duration_seconds`` (seconds, strictly increasing; ``+Inf`` is
    implied). ``native_bucket_factor`` gives ``audio_processing_duration_seconds`` and
    ``audio_quality_score`` native histogram buckets beside their classic ones (``None``:
    classic only). The GPU gauges are shared with any ``GPUMonitor`` on the same registry.
    """

    registry: CollectorRegistry
    samples_processed: Counter
    errors: Counter
    samples_excluded: Counter
    processing_duration: Histogram
    quality_score: Histogram
    snr_db: Histogram
    pesq_score: Histogram
    stoi_score: Histogram
    queue_size: Gauge
    active_workers: Gauge
    gpu: GPUMetrics

    def __init__(
        self,
        registry: CollectorRegistry = REGISTRY,
        duration_buckets: Sequence[float] | None = None,
        native_bucket_factor: float | None = NATIVE_BUCKET_FACTOR,
    ) -> None:
        if not isinstance(registry, CollectorRegistry):
            raise TypeError(f"registry must be a CollectorRegistry, got {type(registry).__name__}")
        buckets = (
            DEFAULT_DURATION_BUCKETS
            if duration_buckets is None
            else _checked_buckets(duration_buckets)
        )
        self.registry = registry
        with registered_together(registry) as keep:
            self.samples_processed = keep(
                Counter(
                    "audio_samples_processed_total",
                    "Audio samples processed, by outcome (status is success or error).",
                    ("dataset", "processor", "status"),
                    registry=registry,
                )
            )
            self.errors = keep(
                Counter(
                    "audio_processing_errors_total",
                    "Audio processing errors by exception class and severity.",
                    ("dataset", "error_type", "severity"),
                    registry=registry,
                )
            )
            self.samples_excluded = keep(
                Counter(
                    "audio_samples_excluded_total",
                    "Audio samples excluded from a dataset, by reason.",
                    ("dataset", "reason"),
                    registry=registry,
                )
            )
            self.processing_duration = keep(
                Histogram(
                    "audio_processing_duration_seconds",
                    "Duration of successful audio processing operations.",
                    ("dataset", "operation"),
                    registry=registry,
                    buckets=buckets,
                    native_histogram_bucket_factor=native_bucket_factor,
                )
            )
            self.quality_score = keep(
                Histogram(
                    "audio_quality_score",
                    "TOPSIS quality score (closeness, 0..1) of processed samples.",
                    ("dataset",),
                    registry=registry,
                    buckets=QUALITY_SCORE_BUCKETS,
                    native_histogram_bucket_factor=native_bucket_factor,
                )
            )
            self.snr_db = keep(
                Histogram(
                    "audio_snr_db",
                    "Signal-to-noise ratio of processed samples, in decibels.",
                    ("dataset",),
                    registry=registry,
                    buckets=SNR_DB_BUCKETS,
                )
            )
            self.pesq_score = keep(
                Histogram(
                    "audio_pesq_score",
                    "PESQ (ITU-T P.862) MOS-LQO of processed samples.",
                    ("dataset",),
                    registry=registry,
                    buckets=PESQ_BUCKETS,
                )
            )
            self.stoi_score = keep(
                Histogram(
                    "audio_stoi_score",
                    "Short-time objective intelligibility (STOI) of processed samples.",
                    ("dataset",),
                    registry=registry,
                    buckets=STOI_BUCKETS,
                )
            )
            self.queue_size = keep(
                Gauge(
                    "audio_processing_queue_size",
                    "Items waiting in a processing queue.",
                    ("queue_name",),
                    registry=registry,
                    # Each process has queues of its own: the host's backlog is the sum
                    # over the processes that still run (docs/multiprocess.md).
                    multiprocess_mode="livesum",
                )
            )
            self.active_workers = keep(
                Gauge(
                    "audio_processing_active_workers",
                    "Workers currently processing, by worker type.",
                    ("worker_type",),
                    registry=registry,
                    # Workers of every running process count; a dead one's do not.
                    multiprocess_mode="livesum",
                )
            )
            self.gpu = gpu_metrics_for(registry)

    @property
    def gpu_memory_usage(self) -> Gauge:
        return self.gpu.memory_usage

    @property
    def gpu_memory_total(self) -> Gauge:
        return self.gpu.memory_total

    @property
    def gpu_utilization(self) -> Gauge:
        return self.gpu.utilization

    @property
    def gpu_temperature(self) -> Gauge:
        return self.gpu.temperature

    @property
    def gpu_power(self) -> Gauge:
        return self.gpu.power


_default_metrics: AudioProcessingMetrics | None = None
_default_metrics_lock = threading.Lock()


def default_metrics() -> AudioProcessingMetrics:
    """The catalog on prometheus_client's global ``REGISTRY``, created on first use, so
    that every ``MetricsCollector()`` in a process shares it."""
    global _default_metrics
    with _default_metrics_lock:
        if _default_metrics is None:
            _default_metrics = AudioProcessingMetrics(REGISTRY)
        return _default_metrics
