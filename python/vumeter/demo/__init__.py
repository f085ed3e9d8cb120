"""The ``vumeter demo`` synthetic audio pipeline, and the DSP it is built from.

* :mod:`~vumeter.demo.signals`: speech-like signals, white/pink/babble noise, mixing at an SNR.
* :mod:`~vumeter.demo.enhance`: spectral-gating enhancement.
* :mod:`~vumeter.demo.pipeline`, :mod:`~vumeter.demo.scoring`, :mod:`~vumeter.demo.workers`:
  the tracked and traced stages, TOPSIS batch scoring and the producer/worker threads (they
  need the ``tracing`` extra).
* :mod:`~vumeter.demo.runner`: :func:`run_demo`, which serves it all over HTTP, with logs and
  traces (imported on first use, as it needs the ``server`` and ``tracing`` extras).
* :mod:`~vumeter.demo.processes`: ``--processes N``, the pipeline in spawned worker
  processes whose metrics the serving process merges (multi-process mode).

See docs/demo.md.
"""

from typing import TYPE_CHECKING, Any

from vumeter.demo.config import DEFAULT_DATASETS, DatasetProfile, DemoConfig, profile_for
from vumeter.demo.enhance import spectral_gate
from vumeter.demo.signals import (
    NOISE_KINDS,
    SAMPLE_RATE,
    NoiseKind,
    make_noise,
    mix_at_snr,
    synthesize_speech,
)

if TYPE_CHECKING:
    from vumeter.demo.runner import run_demo

__all__ = [
    "DEFAULT_DATASETS",
    "NOISE_KINDS",
    "SAMPLE_RATE",
    "DatasetProfile",
    "DemoConfig",
    "NoiseKind",
    "make_noise",
    "mix_at_snr",
    "profile_for",
    "run_demo",
    "spectral_gate",
    "synthesize_speech",
]


def __getattr__(name: str) -> Any:
    if name == "run_demo":
        from vumeter.demo.runner import run_demo  # noqa: PLC0415 - needs the server extra

        return run_demo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
