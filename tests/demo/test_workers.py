"""The producer/worker threads: they process, pace, survive failures and drain on stop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.demo.config import DemoConfig
from vumeter.demo.pipeline import AudioPipeline, JobFactory, SampleResult
from vumeter.demo.scoring import BatchScorer
from vumeter.demo.workers import DemoStats, WorkerPool


def _pool(
    collector: MetricsCollector,
    *,
    error_rate: float = 0.0,
    rate: float = 20.0,
    workers: int = 2,
    scorer: BatchScorer | None = None,
) -> tuple[WorkerPool, DemoStats]:
    config = DemoConfig(seed=8, error_rate=error_rate, clip_seconds=1.0, batch_size=4)
    stats = DemoStats()
    pipeline = AudioPipeline(collector, clip_seconds=config.clip_seconds, use_pesq=False)
    if scorer is None:
        scorer = BatchScorer(
            collector,
            batch_size=config.batch_size,
            max_wait=30.0,
            with_pesq=False,
            exclusion_threshold=0.3,
            on_scored=stats.count_batch,
        )
    pool = WorkerPool(
        collector,
        pipeline,
        scorer,
        JobFactory(config),
        stats,
        workers=workers,
        rate=rate,
        queue_capacity=4,
    )
    return pool, stats


def _sum(registry: CollectorRegistry, name: str, **labels: str) -> float:
    total = 0.0
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_workers_process_samples_and_stop_cleanly(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    pool, stats = _pool(collector)
    pool.start()
    try:
        _wait_until(lambda: stats.snapshot()[0] >= 6)
        assert _sum(registry, "audio_processing_active_workers", worker_type="pipeline") == 2.0
    finally:
        assert pool.stop(timeout=20.0)
    processed = stats.snapshot()[0]
    assert processed == _sum(
        registry, "audio_samples_processed_total", processor="measure", status="success"
    )
    # Stop scored the partial batches: every processed sample has a quality score.
    assert _sum(registry, "audio_quality_score_count") == processed
    assert _sum(registry, "audio_processing_active_workers", worker_type="pipeline") == 0.0
    assert _sum(registry, "audio_processing_queue_size", queue_name="input") == 0.0
    assert _sum(registry, "audio_processing_queue_size", queue_name="scoring") == 0.0


def test_stop_drains_queued_samples(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    pool, stats = _pool(collector, rate=0.0, workers=1)  # unpaced: the queue fills up
    pool.start()
    _wait_until(lambda: _sum(registry, "audio_processing_queue_size", queue_name="input") >= 3)
    assert pool.stop(timeout=20.0)
    generated = _sum(registry, "audio_samples_processed_total", processor="generate")
    # Every job the producer queued was taken and finished; none was dropped.
    assert stats.snapshot()[0] == generated
    assert generated >= 3


def test_the_producer_keeps_to_its_rate(collector: MetricsCollector) -> None:
    pool, stats = _pool(collector, rate=5.0)
    began = time.monotonic()
    pool.start()
    _wait_until(lambda: stats.snapshot()[0] >= 6)
    took = time.monotonic() - began
    assert pool.stop(timeout=20.0)
    # At 5 samples/s the sixth sample is made 1 s after the first (0.8 s if the producer
    # catches up one interval after a stall); unpaced it would take milliseconds. A loaded
    # machine can only make it later.
    assert took >= 0.8


def test_failing_samples_do_not_stop_the_workers(
    collector: MetricsCollector, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vumeter.demo")
    pool, stats = _pool(collector, error_rate=1.0, rate=50.0)
    pool.start()
    try:
        _wait_until(lambda: stats.snapshot()[1] >= 30)
    finally:
        assert pool.stop(timeout=20.0)
    processed, failed, _, _ = stats.snapshot()
    assert processed == 0
    assert failed == _sum(registry, "audio_processing_errors_total")
    assert failed == _sum(registry, "audio_samples_excluded_total", reason="processing_error")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    # One warning per kind of failure; the rest go to DEBUG.
    kinds = {r.args[1] for r in warnings}
    assert len(warnings) == len(kinds) <= 4
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) >= failed - len(kinds)


class _BrokenScorer(BatchScorer):
    def add(self, result: SampleResult) -> None:
        raise RuntimeError("scorer bug")


def test_a_broken_recorder_is_logged_and_the_workers_carry_on(
    collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _BrokenScorer(
        collector, batch_size=1, max_wait=1.0, with_pesq=False, exclusion_threshold=0.3
    )
    pool, stats = _pool(collector, scorer=broken)
    pool.start()
    try:
        _wait_until(lambda: stats.snapshot()[0] >= 4)
    finally:
        assert pool.stop(timeout=20.0)
    failures = [r for r in caplog.records if "recording the result of a sample failed" in r.message]
    assert len(failures) >= 4
    assert all(r.exc_info is not None for r in failures)


def test_a_pool_starts_once(collector: MetricsCollector) -> None:
    pool, _ = _pool(collector)
    pool.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            pool.start()
    finally:
        pool.stop()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"workers": 0}, "workers must be at least 1"), ({"rate": -1.0}, "rate must be >= 0")],
)
def test_bad_settings_are_rejected(
    collector: MetricsCollector, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _pool(collector, **options)
