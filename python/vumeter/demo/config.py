"""Settings of the ``vumeter demo`` pipeline, validated once, shared by the CLI and by tests.

:class:`DemoConfig` holds what the command line sets; :class:`DatasetProfile` says how the
synthetic samples of one dataset are made (noise colours and SNR range), so that datasets
differ on the quality dashboard the way real corpora do.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Literal

from vumeter.demo.signals import NOISE_KINDS, NoiseKind

__all__ = [
    "DEFAULT_DATASETS",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "DatasetProfile",
    "DemoConfig",
    "LogFormat",
    "profile_for",
]

DEFAULT_DATASETS: Final = ("librispeech", "vctk", "commonvoice")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
LogFormat = Literal["text", "json"]
#: ``text`` for people at a terminal, ``json`` (one object per line) for log collectors.
LOG_FORMATS: Final[tuple[LogFormat, ...]] = ("text", "json")

# Dataset names become label values and file-system-friendly identifiers in dashboards.
_DATASET_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """How samples of one dataset are made: the noise colours and mixing SNR range (dB)."""

    noise_kinds: tuple[NoiseKind, ...]
    snr_range_db: tuple[float, float]


# Loosely modelled on the corpora the names suggest: studio recordings (VCTK) are clean,
# read audiobooks (LibriSpeech) a little noisy, crowd-sourced clips (Common Voice) noisiest.
_PROFILES: Final = {
    "vctk": DatasetProfile(("white", "pink"), (15.0, 30.0)),
    "librispeech": DatasetProfile(("pink", "white", "babble"), (10.0, 25.0)),
    "commonvoice": DatasetProfile(("babble", "pink", "white"), (5.0, 20.0)),
}
_DEFAULT_PROFILE: Final = DatasetProfile(NOISE_KINDS, (10.0, 25.0))


def profile_for(dataset: str) -> DatasetProfile:
    """The profile of a known dataset name, or a middle-of-the-road one for any other."""
    return _PROFILES.get(dataset.lower(), _DEFAULT_PROFILE)


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """Everything ``vumeter demo`` can be told; invalid values raise ``ValueError``."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: Worker threads: in this process, or in each worker process when ``processes`` > 0.
    workers: int = 2
    #: Worker processes (spawned) that run the pipeline while this process serves the
    #: aggregated ``/metrics``; 0 runs the workers as threads of this process.
    processes: int = 0
    #: Seconds to run; 0 runs until SIGTERM or Ctrl-C.
    duration: float = 0.0
    #: Fraction of samples (0..1) that fail with an injected error.
    error_rate: float = 0.0
    #: -1..1: negative values make the input noisier and the enhancer weaker.
    quality_shift: float = 0.0
    push_gateway: str | None = None
    push_interval: float = 15.0
    datasets: tuple[str, ...] = DEFAULT_DATASETS
    #: Samples per second the producer feeds in; 0 means as fast as the workers go.
    rate: float = 10.0
    #: Samples per dataset scored together by TOPSIS.
    batch_size: int = 16
    #: A partial batch is scored anyway once its oldest sample waited this long (seconds).
    batch_max_wait: float = 10.0
    clip_seconds: float = 1.5
    #: Seconds between NVML polls; 0 disables the GPU monitor.
    gpu_poll_interval: float = 5.0
    #: Seconds readiness fails before the server stops on shutdown.
    grace_period: float = 2.0
    seed: int | None = None
    log_level: str = "info"
    #: How log records are written to standard error: ``text`` or ``json`` lines.
    log_format: LogFormat = "text"
    #: TOPSIS scores below this exclude a sample with reason "low_quality".
    exclusion_threshold: float = 0.3
    #: Capacity of the input queue; 0 gives four slots per worker.
    queue_capacity: int = 0
    #: Show ``vumeter top`` in the terminal while running, instead of the progress bar.
    top: bool = False

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host must not be empty (use 0.0.0.0 to listen on every address)")
        _require_int("port", self.port, 0, 65535)
        _require_int("workers", self.workers, 1, 64)
        _require_int("processes", self.processes, 0, 64)
        _require_number("duration", self.duration, 0.0, math.inf)
        _require_number("error_rate", self.error_rate, 0.0, 1.0)
        _require_number("quality_shift", self.quality_shift, -1.0, 1.0)
        if self.push_gateway is not None and not re.match(r"^https?://[^/\s]+", self.push_gateway):
            raise ValueError(
                "push_gateway must be an http:// or https:// URL such as "
                f"http://127.0.0.1:9091, got {self.push_gateway!r}"
            )
        _require_number("push_interval", self.push_interval, 0.1, 86400.0)
        if not self.datasets:
            raise ValueError("datasets must name at least one dataset")
        for name in self.datasets:
            if not _DATASET_NAME.match(name):
                raise ValueError(
                    f"dataset names must be 1-64 letters, digits, '_', '.' or '-' and start "
                    f"with a letter or digit, got {name!r}"
                )
        if len(set(self.datasets)) != len(self.datasets):
            raise ValueError(f"datasets must not repeat, got {', '.join(self.datasets)}")
        _require_number("rate", self.rate, 0.0, 10_000.0)
        _require_int("batch_size", self.batch_size, 1, 10_000)
        _require_number("batch_max_wait", self.batch_max_wait, 0.1, 3600.0)
        _require_number("clip_seconds", self.clip_seconds, 1.0, 30.0)
        _require_number("gpu_poll_interval", self.gpu_poll_interval, 0.0, 3600.0)
        _require_number("grace_period", self.grace_period, 0.0, 300.0)
        if self.seed is not None:
            _require_int("seed", self.seed, 0, 2**63 - 1)
        if self.log_level not in LOG_LEVELS:
            raise ValueError(
                f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}"
            )
        if self.log_format not in LOG_FORMATS:
            raise ValueError(
                f"log_format must be one of {', '.join(LOG_FORMATS)}, got {self.log_format!r}"
            )
        _require_number("exclusion_threshold", self.exclusion_threshold, 0.0, 1.0)
        _require_int("queue_capacity", self.queue_capacity, 0, 100_000)

    @property
    def input_queue_capacity(self) -> int:
        return self.queue_capacity or 4 * self.workers

    @property
    def total_workers(self) -> int:
        """Worker threads over all processes."""
        return self.workers * max(self.processes, 1)


def _require_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")


def _require_number(name: str, value: object, low: float, high: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        expected = f">= {low:g}" if math.isinf(high) else f"from {low:g} to {high:g}"
        raise ValueError(f"{name} must be a finite number {expected}, got {value!r}")
