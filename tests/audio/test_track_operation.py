"""MetricsCollector.track_operation as context manager, async context manager and decorator."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.samples import exists, value
from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector, classify_by_type

PROCESSED = "audio_samples_processed_total"
ERRORS = "audio_processing_errors_total"
DURATION_COUNT = "audio_processing_duration_seconds_count"
DURATION_SUM = "audio_processing_duration_seconds_sum"


def processed(registry: CollectorRegistry, status: str, op: str = "enhance") -> float:
    return value(registry, PROCESSED, dataset="librispeech", processor=op, status=status)


def durations(registry: CollectorRegistry, op: str = "enhance") -> float:
    return value(registry, DURATION_COUNT, dataset="librispeech", operation=op)


def test_success_observes_duration_and_counts_success(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    with collector.track_operation("enhance", "librispeech", sample_id="s-1") as op:
        time.sleep(0.02)

    assert processed(registry, "success") == 1
    assert processed(registry, "error") == 0
    assert durations(registry) == 1
    recorded = value(registry, DURATION_SUM, dataset="librispeech", operation="enhance")
    assert 0.02 <= recorded < 1.0
    assert op.elapsed == pytest.approx(recorded)
    assert op.sample_id == "s-1"
    assert (op.operation, op.dataset) == ("enhance", "librispeech")
    # 20 ms lands in the 25 ms bucket, not in the 10 ms one: the fine buckets work.
    bucket = "audio_processing_duration_seconds_bucket"
    labels = {"dataset": "librispeech", "operation": "enhance"}
    assert value(registry, bucket, le="0.01", **labels) == 0
    assert value(registry, bucket, le="+Inf", **labels) == 1


def test_error_counts_error_with_type_and_severity_and_reraises(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    with (
        pytest.raises(ValueError, match="clipped"),
        collector.track_operation("enhance", "librispeech"),
    ):
        raise ValueError("clipped input")

    assert processed(registry, "error") == 1
    assert processed(registry, "success") == 0
    assert (
        value(registry, ERRORS, dataset="librispeech", error_type="ValueError", severity="error")
        == 1
    )
    # A failure's duration is not a latency: the histogram only holds successes.
    assert durations(registry) == 0


@pytest.mark.parametrize(
    "error",
    [
        MemoryError(),
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: an illegal memory access was encountered"),
        type("OutOfMemoryError", (RuntimeError,), {})("torch.cuda.OutOfMemoryError"),
    ],
    ids=["MemoryError", "cuda-oom-message", "cuda-error", "OutOfMemoryError-class"],
)
def test_out_of_memory_errors_are_critical(
    collector: MetricsCollector, registry: CollectorRegistry, error: Exception
) -> None:
    with pytest.raises(type(error)), collector.track_operation("enhance", "librispeech"):
        raise error

    error_type = type(error).__name__
    assert (
        value(registry, ERRORS, dataset="librispeech", error_type=error_type, severity="critical")
        == 1
    )


def test_custom_severity_classifier(
    metrics: AudioProcessingMetrics, registry: CollectorRegistry
) -> None:
    collector = MetricsCollector(
        metrics, severity_classifier=classify_by_type({TimeoutError: "warning"})
    )
    for error in (TimeoutError("slow disk"), MemoryError()):
        with pytest.raises(type(error)), collector.track_operation("load", "vctk"):
            raise error

    assert (
        value(registry, ERRORS, dataset="vctk", error_type="TimeoutError", severity="warning") == 1
    )
    assert (
        value(registry, ERRORS, dataset="vctk", error_type="MemoryError", severity="critical") == 1
    )


def test_broken_classifier_neither_masks_the_error_nor_loses_the_count(
    metrics: AudioProcessingMetrics, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    def raising(error: BaseException) -> str:
        raise RuntimeError("classifier bug")

    for classifier in (raising, lambda error: "fatal"):
        collector = MetricsCollector(metrics, severity_classifier=classifier)
        with pytest.raises(KeyError), collector.track_operation("enhance", "librispeech"):
            raise KeyError("missing")

    assert (
        value(registry, ERRORS, dataset="librispeech", error_type="KeyError", severity="error") == 2
    )
    assert "classifier raised" in caplog.text
    assert "'fatal'" in caplog.text


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit, asyncio.CancelledError])
def test_interruptions_are_not_counted(
    collector: MetricsCollector, registry: CollectorRegistry, interrupt: type[BaseException]
) -> None:
    with pytest.raises(interrupt), collector.track_operation("enhance", "librispeech"):
        raise interrupt()

    assert processed(registry, "success") == processed(registry, "error") == 0
    assert durations(registry) == 0


def test_decorator_tracks_every_call_and_keeps_the_function(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    @collector.track_operation("resample", "librispeech")
    def resample(rate: int, *, channels: int = 1) -> int:
        """Resample."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        return rate * channels

    assert resample(16_000, channels=2) == 32_000
    assert resample(8_000) == 8_000
    with pytest.raises(ValueError, match="positive"):
        resample(0)

    assert resample.__name__ == "resample"
    assert resample.__doc__ == "Resample."
    assert processed(registry, "success", "resample") == 2
    assert processed(registry, "error", "resample") == 1
    assert durations(registry, "resample") == 2


async def test_async_decorator_and_async_with(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    @collector.track_operation("denoise", "librispeech")
    async def denoise(delay: float) -> str:
        await asyncio.sleep(delay)
        if delay > 0.5:
            raise TimeoutError("too slow")
        return "clean"

    assert asyncio.iscoroutinefunction(denoise)
    assert await denoise(0.01) == "clean"
    with pytest.raises(TimeoutError):
        await denoise(0.6)

    async with collector.track_operation("denoise", "librispeech", sample_id="s-9") as op:
        await asyncio.sleep(0.01)

    assert op.elapsed is not None
    assert op.elapsed >= 0.01
    assert processed(registry, "success", "denoise") == 2
    assert processed(registry, "error", "denoise") == 1
    assert (
        value(registry, ERRORS, dataset="librispeech", error_type="TimeoutError", severity="error")
        == 1
    )
    sum_ = value(registry, DURATION_SUM, dataset="librispeech", operation="denoise")
    assert 0.02 <= sum_ < 0.5


async def test_async_cancellation_is_not_an_error(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    @collector.track_operation("denoise", "librispeech")
    async def forever() -> None:
        await asyncio.sleep(60)

    task = asyncio.create_task(forever())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processed(registry, "error", "denoise") == processed(registry, "success", "denoise") == 0


def test_decorating_a_generator_function_is_refused(collector: MetricsCollector) -> None:
    def chunks() -> Iterator[int]:
        yield 1

    async def async_chunks():  # type: ignore[no-untyped-def]
        yield 1

    for func in (chunks, async_chunks):
        with pytest.raises(TypeError, match="generator function"):
            collector.track_operation("split", "librispeech")(func)
    with pytest.raises(TypeError, match="decorates a function"):
        collector.track_operation("split", "librispeech")(42)  # type: ignore[arg-type]


def test_one_tracker_cannot_run_twice_at_once_but_can_be_reused(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    tracker = collector.track_operation("enhance", "librispeech")
    with tracker, pytest.raises(RuntimeError, match="already running"), tracker:
        pass
    with tracker:
        pass
    assert processed(registry, "success") == 2


@pytest.mark.parametrize(
    ("operation", "dataset", "sample_id", "error", "message"),
    [
        ("", "librispeech", None, ValueError, "operation must be a non-empty str"),
        ("enhance", "", None, ValueError, "dataset must be a non-empty str"),
        (7, "librispeech", None, TypeError, "operation must be a non-empty str, got int"),
        ("enhance", None, None, TypeError, "dataset must be a non-empty str, got NoneType"),
        ("enhance", "librispeech", 12, TypeError, "sample_id must be a str or None, got int"),
    ],
)
def test_bad_arguments_are_rejected_before_anything_is_recorded(
    collector: MetricsCollector,
    registry: CollectorRegistry,
    operation: object,
    dataset: object,
    sample_id: object,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        collector.track_operation(operation, dataset, sample_id)  # type: ignore[arg-type]
    assert not exists(
        registry, PROCESSED, dataset="librispeech", processor="enhance", status="success"
    )


def test_counts_are_exact_under_threads(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    per_thread, threads = 2_000, 4

    def work(index: int) -> None:
        for step in range(per_thread):
            try:
                with collector.track_operation("enhance", f"set-{index % 2}"):
                    if step % 10 == 0:
                        raise ValueError("every tenth sample fails")
            except ValueError:
                pass

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    for dataset in ("set-0", "set-1"):
        ok = value(registry, PROCESSED, dataset=dataset, processor="enhance", status="success")
        failed = value(registry, PROCESSED, dataset=dataset, processor="enhance", status="error")
        assert (ok, failed) == (2 * per_thread * 9 / 10, 2 * per_thread / 10)
        assert value(registry, DURATION_COUNT, dataset=dataset, operation="enhance") == ok


def test_errors_are_logged_with_the_sample_id(
    collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vumeter.audio")
    with (
        pytest.raises(OSError, match="unreadable"),
        collector.track_operation("load", "vctk", sample_id="p225_001"),
    ):
        raise OSError("unreadable file")
    assert "p225_001" in caplog.text
    assert "OSError" in caplog.text


def test_record_error_counts_errors_handled_elsewhere(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    collector.record_error("vctk", MemoryError())
    collector.record_error("vctk", FileNotFoundError("x.wav"))

    assert (
        value(registry, ERRORS, dataset="vctk", error_type="MemoryError", severity="critical") == 1
    )
    assert (
        value(registry, ERRORS, dataset="vctk", error_type="FileNotFoundError", severity="error")
        == 1
    )
    with pytest.raises(TypeError, match="error must be an exception, got str"):
        collector.record_error("vctk", "boom")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dataset must be a non-empty str"):
        collector.record_error("", MemoryError())
