"""The per-sample work of the demo: generate, mix, enhance, measure, each one tracked.

:class:`JobFactory` decides what each sample will be (dataset, noise, SNR, injected fault,
random seed) on the producer side; :class:`AudioPipeline` runs a job through the four stages,
each inside ``MetricsCollector.track_operation`` so that its duration and outcome land in
``audio_processing_duration_seconds`` and ``audio_samples_processed_total``, and any failure
in ``audio_processing_errors_total``. The stages are real DSP (see :mod:`vumeter.demo.signals`,
:mod:`vumeter.demo.enhance` and :mod:`vumeter.quality.measures`), so the durations are too.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from vumeter.audio import MetricsCollector
from vumeter.demo.config import DemoConfig, profile_for
from vumeter.demo.enhance import spectral_gate
from vumeter.demo.faults import FaultInjector, FaultPlan
from vumeter.demo.signals import SAMPLE_RATE, NoiseKind, make_noise, mix_at_snr, synthesize_speech
from vumeter.quality import pesq_available, pesq_score, snr_db, stoi_score
from vumeter.tracing import inject

__all__ = [
    "AudioPipeline",
    "JobFactory",
    "SampleJob",
    "SampleResult",
    "enhancement_strength",
    "snr_offset_db",
]

_log: Final = logging.getLogger("vumeter.demo")

# How --quality-shift degrades the input: -1 lowers every mixing SNR by 40 dB. Together with
# the weaker enhancer, -0.4 puts the median score of every dataset clearly below 0.5 (the
# LowQualityScore alert's threshold) even after histogram_quantile's interpolation.
_SNR_DB_PER_SHIFT: Final = 40.0


def snr_offset_db(quality_shift: float) -> float:
    """dB added to every mixing SNR for a ``--quality-shift`` of ``quality_shift``."""
    return _SNR_DB_PER_SHIFT * quality_shift


def enhancement_strength(quality_shift: float) -> float:
    """The enhancer's strength (0..1): a negative shift weakens it like a degraded model."""
    return max(0.0, 1.0 + min(quality_shift, 0.0))


@dataclass(frozen=True, slots=True)
class SampleJob:
    """One sample to process: what to synthesise, and whether it is doomed to fail."""

    sample_id: str
    dataset: str
    seed: int
    noise_kind: NoiseKind
    input_snr_db: float
    fault: FaultPlan
    #: W3C trace headers of the producer's ``enqueue`` span: the worker continues its trace.
    trace_context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SampleResult:
    """The measures of one enhanced sample against its clean reference."""

    sample_id: str
    dataset: str
    input_snr_db: float
    snr_db: float
    stoi: float
    pesq: float | None
    #: W3C trace headers of the span that produced the result (the sample's
    #: ``process_audio``): batch scoring records the sample's verdict in that trace.
    trace_context: dict[str, str] = field(default_factory=dict)


class JobFactory:
    """Makes jobs round-robin over the datasets, reproducibly from ``config.seed``.

    ``stream`` tells the producers of several worker processes apart: each gets its own
    random stream and sample ids (``<dataset>-p<stream>-<n>``), so no two processes make
    the same samples. Used by the single producer thread only, so it needs no lock.
    """

    def __init__(self, config: DemoConfig, *, stream: int | None = None) -> None:
        spawn_key = () if stream is None else (stream,)
        seeds = np.random.SeedSequence(config.seed, spawn_key=spawn_key)
        job_seeds, fault_seeds = seeds.spawn(2)
        self._id_prefix = "" if stream is None else f"p{stream}-"
        self._rng = np.random.default_rng(job_seeds)
        self._faults = FaultInjector(config.error_rate, seed=int(fault_seeds.generate_state(1)[0]))
        self._datasets = itertools.cycle(config.datasets)
        self._offset_db = snr_offset_db(config.quality_shift)
        self._counter = itertools.count(1)

    def next_job(self) -> SampleJob:
        dataset = next(self._datasets)
        profile = profile_for(dataset)
        low, high = profile.snr_range_db
        kind = profile.noise_kinds[int(self._rng.integers(len(profile.noise_kinds)))]
        return SampleJob(
            sample_id=f"{dataset}-{self._id_prefix}{next(self._counter):07d}",
            dataset=dataset,
            seed=int(self._rng.integers(2**63 - 1)),
            noise_kind=kind,
            input_snr_db=float(self._rng.uniform(low, high)) + self._offset_db,
            fault=self._faults.plan(),
        )


class AudioPipeline:
    """Runs :class:`SampleJob` s through the tracked stages; safe to share between threads.

    ``use_pesq=None`` measures PESQ when the optional ``pesq`` package is installed (and
    logs once when it is not); ``False`` never measures it.
    """

    def __init__(
        self,
        collector: MetricsCollector,
        *,
        clip_seconds: float = 1.5,
        quality_shift: float = 0.0,
        use_pesq: bool | None = None,
    ) -> None:
        self._collector = collector
        self._clip_seconds = clip_seconds
        self._strength = enhancement_strength(quality_shift)
        if use_pesq is None:
            use_pesq = pesq_available()
            if not use_pesq:
                _log.warning(
                    "PESQ is not measured: the optional pesq package is not installed "
                    "(pip install pesq; it needs a C compiler). Scores use SNR and STOI."
                )
        self._use_pesq = use_pesq

    @property
    def measures_pesq(self) -> bool:
        return self._use_pesq

    def process(self, job: SampleJob) -> SampleResult:
        """Process one sample; an exception from any stage is recorded, then propagates.

        Call it inside the sample's ``track_sample``: the stages' spans nest under it, and the
        result's ``trace_context`` points back at it.
        """
        track = self._collector.track_operation
        with track("generate", job.dataset, sample_id=job.sample_id):
            job.fault.strike("generate")
            rng = np.random.default_rng(job.seed)
            clean = synthesize_speech(self._clip_seconds, rng)
            noise = make_noise(job.noise_kind, clean.shape[0], rng)
        with track("mix", job.dataset, sample_id=job.sample_id):
            job.fault.strike("mix")
            noisy = mix_at_snr(clean, noise, job.input_snr_db)
        with track("enhance", job.dataset, sample_id=job.sample_id):
            enhanced = spectral_gate(noisy, SAMPLE_RATE, strength=self._strength)
            job.fault.strike("enhance")  # after the work, as a real timeout would be
        with track("measure", job.dataset, sample_id=job.sample_id):
            job.fault.strike("measure")
            output_snr = snr_db(clean, enhanced)
            stoi = stoi_score(clean, enhanced, SAMPLE_RATE)
            pesq = pesq_score(clean, enhanced, SAMPLE_RATE) if self._use_pesq else None
        return SampleResult(
            sample_id=job.sample_id,
            dataset=job.dataset,
            input_snr_db=job.input_snr_db,
            snr_db=output_snr,
            stoi=stoi,
            pesq=pesq,
            trace_context=dict(inject()),
        )

    def warm_up(self) -> None:
        """Run every stage once without recording anything: imports pystoi and pesq, and
        fills the caches, like loading a model. The demo is ready after this."""
        rng = np.random.default_rng(0)
        clean = synthesize_speech(self._clip_seconds, rng)
        noisy = mix_at_snr(clean, make_noise("white", clean.shape[0], rng), 10.0)
        enhanced = spectral_gate(noisy, SAMPLE_RATE, strength=self._strength)
        stoi_score(clean, enhanced, SAMPLE_RATE)
        if self._use_pesq:
            pesq_score(clean, enhanced, SAMPLE_RATE)
