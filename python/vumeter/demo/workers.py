"""The demo's threads: one producer feeding a bounded queue, N workers draining it.

The producer paces itself to ``rate`` samples per second (so the demo leaves CPU for the
rest of the machine) and blocks while the queue is full, which is the back-pressure a real
ingest stage would feel; ``audio_processing_queue_size{queue_name="input"}`` shows it.
Workers run each job through :class:`~vumeter.demo.pipeline.AudioPipeline` and hand results
to the :class:`~vumeter.demo.scoring.BatchScorer`. A failed sample is already counted by
``track_operation``; the worker also counts it as excluded (reason ``processing_error``),
logs the first failure of each kind at WARNING and the rest at DEBUG, and carries on: an
error in one sample never stops a worker.

Tracing: the producer makes and enqueues each job inside a ``PRODUCER`` span named
``enqueue`` and sends its W3C headers along in ``SampleJob.trace_context``; the worker handles
the sample inside ``MetricsCollector.track_sample(..., parent=job.trace_context)``, so its
``process_audio`` span and the stage spans continue the producer's trace, and every log line
written meanwhile carries ``trace_id``, ``span_id``, ``sample_id``, ``dataset`` and ``worker``
(the thread's name).

:meth:`WorkerPool.stop` stops the producer, lets the workers finish what is queued (drain),
then scores the partial batches.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from vumeter.audio import MetricsCollector
from vumeter.demo.pipeline import AudioPipeline, JobFactory, SampleJob
from vumeter.demo.scoring import BatchScorer, ScoredBatch
from vumeter.logs import log_context
from vumeter.runtime import __version__
from vumeter.tracing import inject

__all__ = ["ENQUEUE_SPAN_NAME", "TRACER_NAME", "DemoStats", "WorkerPool", "demo_tracer"]

_log: Final = logging.getLogger("vumeter.demo")

WORKER_TYPE: Final = "pipeline"
INPUT_QUEUE: Final = "input"
TRACER_NAME: Final = "vumeter.demo"
ENQUEUE_SPAN_NAME: Final = "enqueue"
# How often blocked threads look at the stop flag, in seconds.
_POLL_S: Final = 0.1


@dataclass(slots=True)
class DemoStats:
    """Running totals for the progress bar and the closing summary; thread-safe."""

    processed: int = 0
    failed: int = 0
    excluded: int = 0
    last_median_score: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _failure_kinds: set[str] = field(default_factory=set, repr=False)

    def count_success(self) -> None:
        with self._lock:
            self.processed += 1

    def count_failure(self, kind: str) -> bool:
        """Count a failed sample; ``True`` if this is the first failure of its kind."""
        with self._lock:
            self.failed += 1
            first = kind not in self._failure_kinds
            self._failure_kinds.add(kind)
            return first

    def count_batch(self, batch: ScoredBatch) -> None:
        with self._lock:
            self.excluded += batch.excluded
            self.last_median_score = float(np.median(batch.scores))

    def snapshot(self) -> tuple[int, int, int, float | None]:
        with self._lock:
            return self.processed, self.failed, self.excluded, self.last_median_score


def demo_tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The tracer of the demo's own spans, from ``provider`` (default: the global one)."""
    return trace.get_tracer(TRACER_NAME, __version__, tracer_provider=provider)


class WorkerPool:
    """Producer and worker threads around one pipeline; start once, stop once.

    ``tracer`` makes the producer's ``enqueue`` spans (default: :func:`demo_tracer`).
    ``name`` prefixes the thread names (``<name>-worker-<i>``), which log lines carry as
    ``worker``: each worker process of ``--processes`` gives its own.
    """

    def __init__(
        self,
        collector: MetricsCollector,
        pipeline: AudioPipeline,
        scorer: BatchScorer,
        jobs: JobFactory,
        stats: DemoStats,
        *,
        workers: int,
        rate: float,
        queue_capacity: int,
        tracer: trace.Tracer | None = None,
        name: str = "demo",
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if rate < 0:
            raise ValueError(f"rate must be >= 0 samples per second (0: unlimited), got {rate}")
        self._collector = collector
        self._pipeline = pipeline
        self._scorer = scorer
        self._jobs = jobs
        self._stats = stats
        self._rate = rate
        self._tracer = tracer if tracer is not None else demo_tracer()
        self._queue: queue.Queue[SampleJob] = queue.Queue(maxsize=queue_capacity)
        self._producing = threading.Event()
        self._draining = threading.Event()
        self._active = 0
        self._active_lock = threading.Lock()
        self._producer = threading.Thread(
            target=self._produce, name=f"{name}-producer", daemon=True
        )
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}-worker-{index}", daemon=True)
            for index in range(workers)
        ]
        self._started = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("this WorkerPool was already started")
        self._started = True
        self._producing.set()
        for worker in self._workers:
            worker.start()
        self._producer.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop producing, drain the queue, join the threads and score partial batches.

        Returns ``False`` if some thread was still running after ``timeout`` seconds (they
        are daemons and will not keep the process alive).
        """
        deadline = time.monotonic() + timeout
        self._producing.clear()
        if self._started:
            self._producer.join(max(0.0, deadline - time.monotonic()))
        self._draining.set()  # workers exit once the queue is empty
        if self._started:
            for worker in self._workers:
                worker.join(max(0.0, deadline - time.monotonic()))
        stopped = not any(thread.is_alive() for thread in (self._producer, *self._workers))
        self._scorer.flush()
        self._collector.set_queue_size(INPUT_QUEUE, self._queue.qsize())
        return stopped

    # -- threads ------------------------------------------------------------------------------

    def _produce(self) -> None:
        interval = 1.0 / self._rate if self._rate > 0 else 0.0
        next_at = time.monotonic()
        try:
            while self._producing.is_set():
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(min(delay, _POLL_S))
                        continue
                    # After a stall (full queue) do not burst to catch up: pace from now.
                    next_at = max(next_at + interval, time.monotonic() - interval)
                # The trace of a sample starts here; waiting on a full queue is part of it.
                with self._tracer.start_as_current_span(
                    ENQUEUE_SPAN_NAME, kind=SpanKind.PRODUCER
                ) as span:
                    job = self._jobs.next_job()
                    span.set_attributes({"sample.id": job.sample_id, "dataset.name": job.dataset})
                    self._enqueue(replace(job, trace_context=dict(inject())))
                self._collector.set_queue_size(INPUT_QUEUE, self._queue.qsize())
        except Exception:  # never expected; without a producer the demo would idle silently
            _log.exception("the demo producer failed; no new samples will be made")

    def _enqueue(self, job: SampleJob) -> None:
        while self._producing.is_set():
            try:
                self._queue.put(job, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        self._change_active(+1)
        try:
            with log_context(worker=threading.current_thread().name):
                while True:
                    try:
                        job = self._queue.get(timeout=_POLL_S)
                    except queue.Empty:
                        if self._draining.is_set():
                            return
                        continue
                    self._collector.set_queue_size(INPUT_QUEUE, self._queue.qsize())
                    self._process(job)
        finally:
            self._change_active(-1)

    def _process(self, job: SampleJob) -> None:
        # All of a sample's handling, the failure log included, runs in its trace and log
        # context; without headers from the producer it starts a trace of its own.
        with self._collector.track_sample(
            job.sample_id, job.dataset, parent=job.trace_context or None
        ):
            try:
                result = self._pipeline.process(job)
            except Exception as error:
                # Already counted by track_operation; count the sample as lost and carry on.
                kind = type(error).__name__
                # The failed stage's span says so; the sample's span says the sample was lost.
                trace.get_current_span().set_status(Status(StatusCode.ERROR, f"{kind}: {error}"))
                if self._stats.count_failure(kind):
                    _log.warning(
                        "sample %s failed: %s: %s (first %s; further ones are counted in "
                        "audio_processing_errors_total and logged at DEBUG)",
                        job.sample_id,
                        kind,
                        error,
                        kind,
                    )
                else:
                    _log.debug("sample %s failed: %s: %s", job.sample_id, kind, error)
                self._safely(self._collector.record_exclusion, job.dataset, "processing_error")
                return
            self._stats.count_success()
            _log.debug(
                "sample %s processed: SNR %.1f dB (input %.1f dB), STOI %.3f",
                job.sample_id,
                result.snr_db,
                result.input_snr_db,
                result.stoi,
            )
            self._safely(self._scorer.add, result)

    def _safely(self, action: Callable[..., object], *args: object) -> None:
        # Recording must never take a worker down; a failure here is a bug worth a traceback.
        try:
            action(*args)
        except Exception:
            _log.exception("recording the result of a sample failed")

    def _change_active(self, delta: int) -> None:
        with self._active_lock:
            self._active += delta
            self._collector.set_active_workers(WORKER_TYPE, self._active)
