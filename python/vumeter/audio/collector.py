"""``MetricsCollector``: the instrumentation API of an audio-processing worker.

It records into an ``AudioProcessingMetrics`` catalog: per-operation timing and outcomes
(``track_operation``), errors with a severity, queue sizes, active workers, exclusions,
and whole batches of durations and quality scores through the native ``observe_many``.
Optionally it runs a ``GPUMonitor`` and a ``MetricsPusher`` in the background
(``start()``/``close()``, or ``with MetricsCollector(...) as collector:``).

Every method validates all of its input before recording anything, and nothing here ever
waits on the network or on NVML: those live in the background threads.

With tracing set up (``vumeter.tracing.setup_tracing()``), ``track_sample`` opens a sample's
``process_audio`` span and ``track_operation`` a span per operation beneath it; see
docs/tracing.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Self

import numpy.typing as npt

from vumeter.audio.catalog import AudioProcessingMetrics, default_metrics
from vumeter.audio.severity import SEVERITIES, SeverityClassifier, default_severity
from vumeter.audio.tracking import OperationSeries, TrackedOperation, TrackedSample
from vumeter.audio.validation import (
    Integer,
    Number,
    float_batch,
    label_value,
    non_negative_int,
    non_negative_number,
)
from vumeter.gpu.monitor import GPUMonitor
from vumeter.gpu.nvml import NVMLModule
from vumeter.push.pusher import DEFAULT_REQUEST_TIMEOUT, MetricsPusher
from vumeter.runtime import seconds

_log: Final = logging.getLogger("vumeter.audio")


class MetricsCollector:
    """Record audio-processing metrics into ``metrics`` (default: the shared catalog on
    prometheus_client's global ``REGISTRY``).

    ``push_gateway_url``: push the catalog's registry there every ``batch_interval``
    seconds with grouping key ``{job, instance}`` (instance defaults to the host name),
    push once more on ``close()`` or delete the group when ``delete_on_shutdown``.
    ``gpu_poll_interval``: poll NVML that often (``None``: no GPU monitor).
    ``severity_classifier``: maps an exception to ``"critical"``, ``"error"`` or
    ``"warning"`` for ``audio_processing_errors_total``.
    ``push_timeout`` bounds each Pushgateway request; ``nvml`` replaces the ``pynvml``
    module (tests, custom bindings).
    """

    def __init__(
        self,
        metrics: AudioProcessingMetrics | None = None,
        *,
        push_gateway_url: str | None = None,
        batch_interval: float = 60.0,
        job: str = "vumeter",
        instance: str | None = None,
        delete_on_shutdown: bool = False,
        gpu_poll_interval: float | None = None,
        severity_classifier: SeverityClassifier = default_severity,
        push_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        nvml: NVMLModule | None = None,
    ) -> None:
        if metrics is not None and not isinstance(metrics, AudioProcessingMetrics):
            raise TypeError(
                f"metrics must be an AudioProcessingMetrics, got {type(metrics).__name__}"
            )
        if not callable(severity_classifier):
            raise TypeError(f"severity_classifier must be callable, got {severity_classifier!r}")
        seconds("batch_interval", batch_interval)
        if gpu_poll_interval is not None:
            seconds("gpu_poll_interval", gpu_poll_interval)
        self._metrics = metrics if metrics is not None else default_metrics()
        self._classify = severity_classifier
        self._series: dict[tuple[str, str], OperationSeries] = {}
        self._series_lock = threading.Lock()
        self._pusher: MetricsPusher | None = None
        if push_gateway_url is not None:
            self._pusher = MetricsPusher(
                push_gateway_url,
                registry=self._metrics.registry,
                job=job,
                instance=instance,
                interval=batch_interval,
                timeout=push_timeout,
                delete_on_close=delete_on_shutdown,
            )
        self._gpu_monitor: GPUMonitor | None = None
        if gpu_poll_interval is not None:
            self._gpu_monitor = GPUMonitor(self._metrics.gpu, interval=gpu_poll_interval, nvml=nvml)
        self._state_lock = threading.Lock()
        self._closed = False

    @property
    def metrics(self) -> AudioProcessingMetrics:
        return self._metrics

    @property
    def pusher(self) -> MetricsPusher | None:
        return self._pusher

    @property
    def gpu_monitor(self) -> GPUMonitor | None:
        return self._gpu_monitor

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Start GPU polling and pushing, where configured. Idempotent."""
        with self._state_lock:
            if self._closed:
                raise RuntimeError("this MetricsCollector is closed; create a new one")
            if self._gpu_monitor is not None:
                self._gpu_monitor.start()
            if self._pusher is not None:
                self._pusher.start()
        return self

    def close(self, timeout: float = 10.0) -> bool:
        """Make the final push (or delete) and stop the background threads, waiting at most
        about ``timeout`` seconds in all; ``False`` when one of them had not finished by
        then. Recording keeps working afterwards. Idempotent."""
        timeout = seconds("timeout", timeout)
        with self._state_lock:
            if self._closed:
                return True
            self._closed = True
        deadline = time.monotonic() + timeout
        finished = True
        # Push before stopping the GPU monitor: the final push still carries GPU readings.
        if self._pusher is not None:
            finished = self._pusher.close(timeout)
        if self._gpu_monitor is not None:
            remaining = max(deadline - time.monotonic(), 0.1)
            finished = self._gpu_monitor.close(remaining) and finished
        return finished

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- per-operation tracking ----------------------------------------------------------

    def track_operation(
        self, operation: str, dataset: str, sample_id: str | None = None
    ) -> TrackedOperation:
        """Track one operation: ``with``, ``async with`` or as a decorator."""
        if sample_id is not None and not isinstance(sample_id, str):
            raise TypeError(f"sample_id must be a str or None, got {type(sample_id).__name__}")
        series = self._series.get((operation, dataset))
        if series is None:
            series = self._new_series(operation, dataset)
        return TrackedOperation(series, sample_id)

    def track_sample(
        self, sample_id: str, dataset: str, *, parent: object | None = None
    ) -> TrackedSample:
        """The scope of all the work on one sample: ``with`` or ``async with``.

        Log records inside carry ``sample_id`` and ``dataset``. With tracing set up, a
        ``process_audio`` span (attributes ``sample.id``, ``dataset.name``) is current
        inside, so every ``track_operation`` in the block is a child span of it; ``parent``
        continues a trace started elsewhere: a context from
        ``vumeter.tracing.extract_from_message(message)`` or ``extract(headers)``, or the
        W3C headers themselves (a mapping with ``traceparent``).
        """
        sample_id = label_value("sample_id", sample_id)
        if parent is not None and not isinstance(parent, Mapping):
            # An OpenTelemetry Context is a Mapping too.
            raise TypeError(
                "parent must be an OpenTelemetry Context or a mapping of W3C trace headers, "
                f"got {type(parent).__name__}"
            )
        return TrackedSample(sample_id, label_value("dataset", dataset), parent)

    def _new_series(self, operation: object, dataset: object) -> OperationSeries:
        operation = label_value("operation", operation)
        dataset = label_value("dataset", dataset)
        metrics = self._metrics
        with self._series_lock:
            series = self._series.get((operation, dataset))
            if series is None:
                processed = metrics.samples_processed
                series = OperationSeries(
                    operation,
                    dataset,
                    observe=metrics.processing_duration.labels(dataset, operation).observe,
                    count_success=processed.labels(dataset, operation, "success").inc,
                    count_error=processed.labels(dataset, operation, "error").inc,
                    record=self._record_failure,
                )
                self._series[(operation, dataset)] = series
        return series

    # -- errors ----------------------------------------------------------------------------

    def record_error(self, dataset: str, error: BaseException) -> None:
        """Count ``error`` in ``audio_processing_errors_total`` (for errors handled outside
        ``track_operation``); ``error_type`` is its class name."""
        dataset = label_value("dataset", dataset)
        if not isinstance(error, BaseException):
            raise TypeError(f"error must be an exception, got {type(error).__name__}")
        self._metrics.errors.labels(dataset, type(error).__name__, self._severity(error)).inc()

    def _record_failure(self, dataset: str, error: Exception, sample_id: str | None) -> None:
        # Runs while the worker's exception propagates: a failure to record must not
        # replace that exception (a cardinality limit on the errors metric, for one).
        severity = self._severity(error)
        try:
            self._metrics.errors.labels(dataset, type(error).__name__, severity).inc()
        except Exception:
            _log.exception("could not count %s in audio_processing_errors_total", error)
        _log.debug(
            "operation failed: dataset=%s sample_id=%s error=%s severity=%s",
            dataset,
            sample_id,
            type(error).__name__,
            severity,
        )

    def _severity(self, error: BaseException) -> str:
        # A broken classifier must neither mask the worker's exception nor lose the count.
        try:
            severity = self._classify(error)
        except Exception:
            _log.exception("severity classifier raised; counting the error as 'error'")
            return "error"
        if severity not in SEVERITIES:
            _log.error(
                "severity classifier returned %r, expected one of %s; counting as 'error'",
                severity,
                sorted(SEVERITIES),
            )
            return "error"
        return severity

    # -- gauges and counters -------------------------------------------------------------

    def set_queue_size(self, queue_name: str, size: Number) -> None:
        """Set ``audio_processing_queue_size{queue_name}``."""
        queue_name = label_value("queue_name", queue_name)
        value = non_negative_number("size", size)
        self._metrics.queue_size.labels(queue_name).set(value)

    def set_active_workers(self, worker_type: str, count: Number) -> None:
        """Set ``audio_processing_active_workers{worker_type}``."""
        worker_type = label_value("worker_type", worker_type)
        value = non_negative_number("count", count)
        self._metrics.active_workers.labels(worker_type).set(value)

    def record_exclusion(self, dataset: str, reason: str, count: Integer = 1) -> None:
        """Count ``count`` samples excluded from ``dataset`` for ``reason``."""
        dataset = label_value("dataset", dataset)
        reason = label_value("reason", reason)
        amount = non_negative_int("count", count)
        if amount:
            self._metrics.samples_excluded.labels(dataset, reason).inc(amount)

    # -- batches ---------------------------------------------------------------------------

    def observe_durations(self, dataset: str, operation: str, durations: npt.ArrayLike) -> None:
        """Observe a batch of per-sample durations (seconds, a 1-D float array) in
        ``audio_processing_duration_seconds``; the outcome counters are not touched."""
        dataset = label_value("dataset", dataset)
        operation = label_value("operation", operation)
        batch = float_batch("durations", durations, minimum=0.0)
        if batch.size:
            self._metrics.processing_duration.labels(dataset, operation).observe_many(batch)

    def record_quality(
        self,
        dataset: str,
        scores: npt.ArrayLike,
        *,
        snr_db: npt.ArrayLike | None = None,
        pesq: npt.ArrayLike | None = None,
        stoi: npt.ArrayLike | None = None,
    ) -> None:
        """Observe a batch's TOPSIS ``scores`` (0..1) and, per sample, its SNR (dB), PESQ
        and STOI. Every given array must be 1-D, finite and as long as ``scores``."""
        dataset = label_value("dataset", dataset)
        batches = [
            (self._metrics.quality_score, float_batch("scores", scores, minimum=0.0, maximum=1.0))
        ]
        for argument, values, histogram in (
            ("snr_db", snr_db, self._metrics.snr_db),
            ("pesq", pesq, self._metrics.pesq_score),
            ("stoi", stoi, self._metrics.stoi_score),
        ):
            if values is None:
                continue
            batch = float_batch(argument, values)
            if batch.shape != batches[0][1].shape:
                raise ValueError(
                    f"{argument} must have one value per score ({batches[0][1].size}), "
                    f"got {batch.size}"
                )
            batches.append((histogram, batch))
        for histogram, batch in batches:
            if batch.size:
                histogram.labels(dataset).observe_many(batch)
