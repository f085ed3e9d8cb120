"""TOPSIS batch scoring in the demo: fixed references, batching, exclusions, quality shift."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.demo.config import DemoConfig
from vumeter.demo.pipeline import AudioPipeline, JobFactory, SampleResult
from vumeter.demo.scoring import CRITERIA, BatchScorer, ScoredBatch, score_results


def _result(
    snr: float, stoi: float, pesq: float | None, dataset: str = "librispeech"
) -> SampleResult:
    return SampleResult(
        sample_id=f"{dataset}-x",
        dataset=dataset,
        input_snr_db=0.0,
        snr_db=snr,
        stoi=stoi,
        pesq=pesq,
    )


BEST = _result(*(c.best for c in CRITERIA))
WORST = _result(*(c.worst for c in CRITERIA))


def test_scores_run_from_the_worst_reference_to_the_best() -> None:
    middle = _result(12.0, 0.85, 2.2)
    scores = score_results([BEST, middle, WORST], with_pesq=True)
    assert scores[0] == pytest.approx(1.0)
    assert 0.2 < scores[1] < 0.8
    assert scores[2] == pytest.approx(0.0)


def test_a_batch_of_one_is_scored() -> None:
    (score,) = score_results([_result(20.0, 0.95, 2.5)], with_pesq=True)
    assert 0.5 < score < 1.0


def test_scores_without_pesq_use_snr_and_stoi_only() -> None:
    scores = score_results([_result(20.0, 0.95, None), _result(0.0, 0.6, None)], with_pesq=False)
    assert scores[0] > scores[1]


def test_an_exact_reconstruction_scores_like_the_best_snr() -> None:
    perfect = _result(math.inf, 1.0, 3.5)
    assert score_results([perfect], with_pesq=True) == pytest.approx([1.0])


def test_scoring_needs_pesq_from_every_result_when_asked_to() -> None:
    with pytest.raises(ValueError, match="some results have no PESQ measure"):
        score_results([_result(1.0, 0.9, 2.0), _result(1.0, 0.9, None)], with_pesq=True)
    with pytest.raises(ValueError, match="at least one result"):
        score_results([], with_pesq=False)


def _scorer(
    collector: MetricsCollector,
    batches: list[ScoredBatch],
    clock: list[float] | None = None,
    **options: object,
) -> BatchScorer:
    settings: dict[str, object] = {
        "batch_size": 3,
        "max_wait": 10.0,
        "with_pesq": True,
        "exclusion_threshold": 0.3,
    }
    settings.update(options)
    now = clock if clock is not None else [0.0]
    return BatchScorer(
        collector,
        on_scored=batches.append,
        clock=lambda: now[0],
        **settings,
    )


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_full_batch_is_scored_and_recorded(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    batches: list[ScoredBatch] = []
    scorer = _scorer(collector, batches)
    scorer.add(_result(20.0, 0.95, 2.5))
    scorer.add(_result(15.0, 0.9, 2.0))
    assert batches == []
    assert scorer.pending == 2
    assert _value(registry, "audio_processing_queue_size", queue_name="scoring") == 2.0
    scorer.add(WORST)

    assert len(batches) == 1
    assert batches[0].dataset == "librispeech"
    assert batches[0].excluded == 1  # the worst one scores 0, below the threshold
    assert scorer.pending == 0
    labels = {"dataset": "librispeech"}
    for histogram in (
        "audio_quality_score",
        "audio_snr_db",
        "audio_stoi_score",
        "audio_pesq_score",
    ):
        assert _value(registry, f"{histogram}_count", **labels) == 3.0, histogram
    assert _value(registry, "audio_quality_score_sum", **labels) == pytest.approx(
        float(np.sum(batches[0].scores))
    )
    # SNR buckets start below zero, so the histogram carries no _sum; its buckets tell.
    assert _value(registry, "audio_snr_db_bucket", le="0.0", **labels) == 1.0
    assert _value(registry, "audio_snr_db_bucket", le="15.0", **labels) == 2.0
    assert (
        _value(
            registry, "audio_samples_excluded_total", dataset="librispeech", reason="low_quality"
        )
        == 1.0
    )
    score_count = _value(
        registry, "audio_samples_processed_total", dataset="librispeech", processor="score",
        status="success",
    )  # fmt: skip
    assert score_count == 1.0
    assert _value(registry, "audio_processing_queue_size", queue_name="scoring") == 0.0


def test_datasets_are_batched_separately(collector: MetricsCollector) -> None:
    batches: list[ScoredBatch] = []
    scorer = _scorer(collector, batches, batch_size=2)
    scorer.add(_result(20.0, 0.95, 2.5, dataset="a"))
    scorer.add(_result(20.0, 0.95, 2.5, dataset="b"))
    assert batches == []
    scorer.add(_result(10.0, 0.8, 1.5, dataset="a"))
    assert [batch.dataset for batch in batches] == ["a"]
    assert scorer.pending == 1


def test_a_batch_that_waited_too_long_is_scored_partial(collector: MetricsCollector) -> None:
    batches: list[ScoredBatch] = []
    clock = [100.0]
    scorer = _scorer(collector, batches, clock, batch_size=50, max_wait=5.0)
    scorer.add(_result(20.0, 0.95, 2.5, dataset="slow"))
    clock[0] = 104.0
    scorer.add(_result(20.0, 0.95, 2.5, dataset="fast"))
    assert batches == []
    clock[0] = 105.5
    scorer.add(_result(20.0, 0.95, 2.5, dataset="fast"))
    assert [(batch.dataset, batch.scores.size) for batch in batches] == [("slow", 1)]


def test_flush_scores_every_partial_batch(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    batches: list[ScoredBatch] = []
    scorer = _scorer(collector, batches, batch_size=10)
    scorer.add(_result(20.0, 0.95, 2.5, dataset="a"))
    scorer.add(_result(10.0, 0.8, 1.5, dataset="b"))
    scorer.add(_result(12.0, 0.85, 1.8, dataset="b"))
    scorer.flush()
    assert sorted((batch.dataset, batch.scores.size) for batch in batches) == [("a", 1), ("b", 2)]
    assert scorer.pending == 0
    assert _value(registry, "audio_quality_score_count", dataset="b") == 2.0
    scorer.flush()  # nothing left: records nothing more
    assert len(batches) == 2


def test_without_pesq_no_pesq_is_recorded(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    scorer = _scorer(collector, [], batch_size=1, with_pesq=False)
    scorer.add(_result(20.0, 0.95, None))
    assert _value(registry, "audio_quality_score_count", dataset="librispeech") == 1.0
    assert _value(registry, "audio_pesq_score_count", dataset="librispeech") == 0.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"max_wait": 0.0}, "max_wait must be a positive number"),
        ({"max_wait": float("nan")}, "max_wait must be a positive number"),
        ({"exclusion_threshold": 1.5}, "exclusion_threshold must be within 0..1"),
    ],
)
def test_bad_settings_are_rejected(
    collector: MetricsCollector, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _scorer(collector, [], **options)


def _median_scores(collector: MetricsCollector, quality_shift: float) -> dict[str, float]:
    """Median score per dataset of 12 samples each, scored together as the demo would."""
    config = DemoConfig(seed=21, quality_shift=quality_shift)
    jobs = JobFactory(config)
    pipeline = AudioPipeline(collector, quality_shift=quality_shift, use_pesq=True)
    results = [pipeline.process(jobs.next_job()) for _ in range(12 * len(config.datasets))]
    return {
        dataset: float(
            np.median(score_results([r for r in results if r.dataset == dataset], with_pesq=True))
        )
        for dataset in config.datasets
    }


def test_a_negative_quality_shift_pulls_every_median_score_clearly_below_one_half(
    collector: MetricsCollector,
) -> None:
    # What the LowQualityScore alert watches: the median of audio_quality_score per dataset
    # below 0.5. Without a shift every dataset stays clear of it.
    normal = _median_scores(collector, 0.0)
    degraded = _median_scores(collector, -0.4)
    assert all(median > 0.55 for median in normal.values()), normal
    assert all(median < 0.42 for median in degraded.values()), degraded
