"""The demo's per-sample stages as a user of the metrics sees them, and the job factory."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from vumeter import CollectorRegistry
from vumeter.audio import MetricsCollector
from vumeter.demo.config import DemoConfig
from vumeter.demo.faults import (
    FAULTS,
    STAGES,
    AudioDecodeError,
    FaultInjector,
    FaultPlan,
    InferenceTimeoutError,
    OutOfMemoryError,
    QualityMeasureError,
)
from vumeter.demo.pipeline import (
    AudioPipeline,
    JobFactory,
    SampleJob,
    enhancement_strength,
    snr_offset_db,
)


def _job(fault: type[Exception] | None = None, *, snr: float = 15.0) -> SampleJob:
    planned = next((f for f in FAULTS if f.error is fault), None)
    return SampleJob(
        sample_id="vctk-0000001",
        dataset="vctk",
        seed=123,
        noise_kind="pink",
        input_snr_db=snr,
        fault=FaultPlan(planned),
    )


def _processed(registry: CollectorRegistry, stage: str, status: str) -> float:
    value = registry.get_sample_value(
        "audio_samples_processed_total",
        {"dataset": "vctk", "processor": stage, "status": status},
    )
    return 0.0 if value is None else value


def _duration_count(registry: CollectorRegistry, stage: str) -> float:
    value = registry.get_sample_value(
        "audio_processing_duration_seconds_count", {"dataset": "vctk", "operation": stage}
    )
    return 0.0 if value is None else value


def test_a_sample_goes_through_every_stage_and_is_recorded(
    collector: MetricsCollector, registry: CollectorRegistry
) -> None:
    pipeline = AudioPipeline(collector, use_pesq=True)
    result = pipeline.process(_job())
    for stage in STAGES:
        assert _processed(registry, stage, "success") == 1.0
        assert _duration_count(registry, stage) == 1.0
    assert result.sample_id == "vctk-0000001"
    assert result.input_snr_db == 15.0
    assert result.snr_db > 15.0  # the enhancer helps
    assert 0.8 < result.stoi <= 1.0
    assert result.pesq is not None
    assert 1.0 <= result.pesq <= 4.65


def test_the_same_job_gives_the_same_measures(collector: MetricsCollector) -> None:
    pipeline = AudioPipeline(collector, use_pesq=True)
    first, again = pipeline.process(_job()), pipeline.process(_job())
    assert (first.snr_db, first.stoi, first.pesq) == (again.snr_db, again.stoi, again.pesq)


def test_pesq_can_be_left_out(collector: MetricsCollector) -> None:
    pipeline = AudioPipeline(collector, use_pesq=False)
    assert not pipeline.measures_pesq
    assert pipeline.process(_job()).pesq is None


def test_pesq_is_measured_when_installed(collector: MetricsCollector) -> None:
    assert AudioPipeline(collector).measures_pesq


@pytest.mark.parametrize(
    ("error", "stage", "severity", "later_stages"),
    [
        (OutOfMemoryError, "enhance", "critical", ["measure"]),
        (AudioDecodeError, "generate", "error", ["mix", "enhance", "measure"]),
        (InferenceTimeoutError, "enhance", "error", ["measure"]),
        (QualityMeasureError, "measure", "error", []),
    ],
)
def test_an_injected_failure_is_counted_and_stops_the_sample(
    collector: MetricsCollector,
    registry: CollectorRegistry,
    error: type[Exception],
    stage: str,
    severity: str,
    later_stages: list[str],
) -> None:
    pipeline = AudioPipeline(collector, use_pesq=False)
    with pytest.raises(error, match="simulated"):
        pipeline.process(_job(error))
    assert _processed(registry, stage, "error") == 1.0
    assert _processed(registry, stage, "success") == 0.0
    errors = registry.get_sample_value(
        "audio_processing_errors_total",
        {"dataset": "vctk", "error_type": error.__name__, "severity": severity},
    )
    assert errors == 1.0
    for later in later_stages:
        assert _processed(registry, later, "success") == 0.0
        assert _processed(registry, later, "error") == 0.0


def test_warm_up_records_nothing(collector: MetricsCollector, registry: CollectorRegistry) -> None:
    AudioPipeline(collector, use_pesq=True).warm_up()
    for metric in registry.collect():
        if metric.name.startswith("audio_"):
            assert all(sample.value == 0 for sample in metric.samples), metric.name


def test_quality_shift_mapping() -> None:
    assert snr_offset_db(0.0) == 0.0
    assert snr_offset_db(-0.4) == pytest.approx(-16.0)
    assert snr_offset_db(0.5) == pytest.approx(20.0)
    assert enhancement_strength(0.0) == 1.0
    assert enhancement_strength(0.7) == 1.0
    assert enhancement_strength(-0.4) == pytest.approx(0.6)
    assert enhancement_strength(-1.0) == 0.0


# -- jobs --------------------------------------------------------------------------------------


def test_jobs_cycle_through_the_datasets_with_unique_ids() -> None:
    factory = JobFactory(DemoConfig(datasets=("a", "b", "c"), seed=1))
    jobs = [factory.next_job() for _ in range(7)]
    assert [job.dataset for job in jobs] == ["a", "b", "c", "a", "b", "c", "a"]
    assert len({job.sample_id for job in jobs}) == 7
    assert jobs[0].sample_id == "a-0000001"


def test_each_stream_makes_jobs_of_its_own() -> None:
    config = DemoConfig(datasets=("a",), seed=4)
    plain, first, second = (JobFactory(config, stream=s) for s in (None, 0, 1))
    jobs = {name: f.next_job() for name, f in (("plain", plain), ("0", first), ("1", second))}
    assert jobs["plain"].sample_id == "a-0000001"
    assert jobs["0"].sample_id == "a-p0-0000001"
    assert jobs["1"].sample_id == "a-p1-0000001"
    assert len({job.seed for job in jobs.values()}) == 3
    # Reproducible per stream too.
    assert JobFactory(config, stream=1).next_job().seed == jobs["1"].seed


def test_jobs_are_reproducible_from_the_seed() -> None:
    def snapshot(seed: int) -> list[tuple[int, str, float]]:
        factory = JobFactory(DemoConfig(seed=seed))
        return [
            (j.seed, j.noise_kind, j.input_snr_db) for j in (factory.next_job() for _ in range(5))
        ]

    assert snapshot(9) == snapshot(9)
    assert snapshot(9) != snapshot(10)


def test_jobs_follow_the_dataset_profiles_and_the_quality_shift() -> None:
    plain = JobFactory(DemoConfig(datasets=("vctk",), seed=2))
    shifted = JobFactory(DemoConfig(datasets=("vctk",), seed=2, quality_shift=-0.5))
    plain_snrs = [plain.next_job().input_snr_db for _ in range(200)]
    shifted_snrs = [shifted.next_job().input_snr_db for _ in range(200)]
    assert min(plain_snrs) >= 15.0  # the VCTK profile
    assert max(plain_snrs) <= 30.0
    assert np.array(shifted_snrs) == pytest.approx(np.array(plain_snrs) - 20.0)
    kinds = {
        JobFactory(DemoConfig(datasets=("vctk",), seed=s)).next_job().noise_kind for s in range(40)
    }
    assert kinds == {"white", "pink"}


def test_no_faults_are_planned_without_an_error_rate() -> None:
    factory = JobFactory(DemoConfig(seed=3))
    assert all(factory.next_job().fault.stage is None for _ in range(500))


def test_faults_are_planned_at_the_error_rate_with_every_kind() -> None:
    injector = FaultInjector(0.2, seed=4)
    plans = [injector.plan() for _ in range(5000)]
    failing = [plan for plan in plans if plan.stage is not None]
    assert len(failing) / len(plans) == pytest.approx(0.2, abs=0.02)
    stages = Counter(plan.stage for plan in failing)
    assert set(stages) == {"generate", "enhance", "measure"}
    assert all(FaultInjector(1.0, seed=5).plan().stage is not None for _ in range(100))


def test_a_plan_strikes_only_in_its_stage() -> None:
    plan = _job(OutOfMemoryError).fault
    for stage in ("generate", "mix", "measure"):
        plan.strike(stage)  # nothing happens
    with pytest.raises(OutOfMemoryError, match="CUDA out of memory"):
        plan.strike("enhance")


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_fault_rates_outside_zero_to_one_are_rejected(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be a fraction between 0 and 1"):
        FaultInjector(rate)
