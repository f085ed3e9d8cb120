"""Batch quality scoring for the demo: TOPSIS over SNR, STOI and PESQ, then exclusions.

Samples are grouped per dataset; a batch is scored when it is full, or when its oldest
sample has waited ``max_wait`` seconds, or at shutdown. Scoring uses fixed references
(:data:`CRITERIA`), so a score means the same in every batch and the median of
``audio_quality_score`` falls when the audio gets worse (see :mod:`vumeter.quality.topsis`).
A batch's scores and measures are recorded with ``MetricsCollector.record_quality`` (one
``observe_many`` per histogram), and samples scoring below the threshold are counted in
``audio_samples_excluded_total{reason="low_quality"}``.

A batch mixes samples from many traces, so it is scored outside all of them (its ``score``
span starts a trace of its own); each sample's verdict then goes into that sample's trace as
a zero-length ``sample_result`` span (``sample.id``, ``quality.score``, ``sample.excluded``),
made from the headers in ``SampleResult.trace_context``. A sample's trace thus runs from
enqueue to result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from opentelemetry.context import Context

from vumeter.audio import MetricsCollector
from vumeter.demo.pipeline import SampleResult
from vumeter.quality import topsis
from vumeter.tracing import attached, record_span

__all__ = [
    "CRITERIA",
    "RESULT_SPAN_NAME",
    "BatchScorer",
    "Criterion",
    "ScoredBatch",
    "score_results",
]

RESULT_SPAN_NAME: Final = "sample_result"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One TOPSIS criterion: its weight and the worst and best values it is judged between."""

    name: str
    weight: float
    worst: float
    best: float


# All three are benefit criteria. The references span "unusable" to "excellent" speech:
# SNR from -5 dB (noise louder than speech) to 30 dB (clean to the ear), STOI from 0.5
# (barely intelligible) to 1, wide-band PESQ over its whole MOS-LQO scale.
CRITERIA: Final = (
    Criterion("snr_db", 0.3, -5.0, 25.0),
    Criterion("stoi", 0.4, 0.5, 1.0),
    Criterion("pesq", 0.3, 1.0, 3.5),
)


def score_results(results: list[SampleResult], *, with_pesq: bool) -> NDArray[np.float64]:
    """TOPSIS closeness of each result (0..1) against the fixed references of :data:`CRITERIA`."""
    if not results:
        raise ValueError("score_results needs at least one result")
    criteria = CRITERIA if with_pesq else CRITERIA[:2]
    columns = [
        np.array([result.snr_db for result in results]),
        np.array([result.stoi for result in results]),
    ]
    if with_pesq:
        pesq = [result.pesq for result in results]
        if any(value is None for value in pesq):
            raise ValueError("with_pesq=True but some results have no PESQ measure")
        columns.append(np.array(pesq, dtype=np.float64))
    # An exact reconstruction has an SNR of +inf; it is as good as the best reference.
    columns[0] = np.clip(columns[0], criteria[0].worst, criteria[0].best)
    return topsis(
        np.column_stack(columns),
        [criterion.weight for criterion in criteria],
        "max",
        best=[criterion.best for criterion in criteria],
        worst=[criterion.worst for criterion in criteria],
    )


@dataclass(frozen=True, slots=True)
class ScoredBatch:
    """What one scored batch contained, for progress reports."""

    dataset: str
    scores: NDArray[np.float64]
    excluded: int


@dataclass(slots=True)
class _Pending:
    results: list[SampleResult]
    first_added: float


# SNR histogram input must be finite; anything above this is "perfect" anyway.
_MAX_RECORDED_SNR_DB: Final = 99.0


class BatchScorer:
    """Collects :class:`SampleResult` s per dataset and scores them in batches.

    Thread-safe: workers call :meth:`add` concurrently. The batch that fills up is scored by
    the worker that completed it, outside the lock, inside
    ``track_operation("score", dataset)``.
    """

    def __init__(
        self,
        collector: MetricsCollector,
        *,
        batch_size: int,
        max_wait: float,
        with_pesq: bool,
        exclusion_threshold: float,
        on_scored: Callable[[ScoredBatch], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not max_wait > 0:
            raise ValueError(f"max_wait must be a positive number of seconds, got {max_wait}")
        if not 0.0 <= exclusion_threshold <= 1.0:
            raise ValueError(f"exclusion_threshold must be within 0..1, got {exclusion_threshold}")
        self._collector = collector
        self._batch_size = batch_size
        self._max_wait = max_wait
        self._with_pesq = with_pesq
        self._threshold = exclusion_threshold
        self._on_scored = on_scored
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Results waiting to be scored, over all datasets."""
        with self._lock:
            return sum(len(batch.results) for batch in self._pending.values())

    def add(self, result: SampleResult) -> None:
        """Queue ``result``; score its dataset's batch if it is full or has waited too long."""
        now = self._clock()
        ready: list[list[SampleResult]] = []
        with self._lock:
            batch = self._pending.setdefault(result.dataset, _Pending([], now))
            batch.results.append(result)
            if len(batch.results) >= self._batch_size:
                ready.append(self._take(result.dataset))
            # Datasets that stopped receiving samples must not hold their results forever.
            for dataset, waiting in list(self._pending.items()):
                if now - waiting.first_added >= self._max_wait:
                    ready.append(self._take(dataset))
            pending = sum(len(waiting.results) for waiting in self._pending.values())
        self._collector.set_queue_size("scoring", pending)
        for results in ready:
            self._score(results)

    def flush(self) -> None:
        """Score every partial batch now (at shutdown)."""
        with self._lock:
            ready = [self._take(dataset) for dataset in list(self._pending)]
        self._collector.set_queue_size("scoring", 0)
        for results in ready:
            self._score(results)

    def _take(self, dataset: str) -> list[SampleResult]:
        return self._pending.pop(dataset).results

    def _score(self, results: list[SampleResult]) -> None:
        # The worker that fills a batch is inside one sample's span: leave it, so the batch
        # is not filed under that one sample's trace.
        with attached(Context()):
            self._score_batch(results)

    def _score_batch(self, results: list[SampleResult]) -> None:
        dataset = results[0].dataset
        with self._collector.track_operation("score", dataset):
            scores = score_results(results, with_pesq=self._with_pesq)
        snr = np.minimum([result.snr_db for result in results], _MAX_RECORDED_SNR_DB)
        stoi = np.array([result.stoi for result in results])
        pesq = (
            np.array([result.pesq for result in results], dtype=np.float64)
            if self._with_pesq
            else None
        )
        self._collector.record_quality(dataset, scores, snr_db=snr, pesq=pesq, stoi=stoi)
        excluded = int(np.count_nonzero(scores < self._threshold))
        self._collector.record_exclusion(dataset, "low_quality", count=excluded)
        for result, score in zip(results, scores, strict=True):
            if not result.trace_context:
                continue  # made outside any trace: there is none to add the verdict to
            record_span(
                RESULT_SPAN_NAME,
                result.trace_context,
                {
                    "sample.id": result.sample_id,
                    "quality.score": float(score),
                    "sample.excluded": bool(score < self._threshold),
                },
            )
        if self._on_scored is not None:
            self._on_scored(ScoredBatch(dataset, scores, excluded))
