"""Injected failures for ``vumeter demo --error-rate``, to try the error panels and alerts.

The exceptions mimic what a real GPU audio worker meets, so that ``error_type`` and
``severity`` in ``audio_processing_errors_total`` look like production data:
an allocation failure named like ``torch.cuda.OutOfMemoryError`` (critical under the default
severity classifier), a corrupt input file, an inference timeout and a failed measurement.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = [
    "FAULTS",
    "STAGES",
    "AudioDecodeError",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "InferenceTimeoutError",
    "OutOfMemoryError",
    "QualityMeasureError",
]

#: The per-sample stages of the demo pipeline, in order.
STAGES: Final = ("generate", "mix", "enhance", "measure")


class OutOfMemoryError(RuntimeError):
    """A simulated GPU allocation failure, named and worded like PyTorch's."""


class AudioDecodeError(ValueError):
    """A simulated corrupt or truncated input file."""


class InferenceTimeoutError(TimeoutError):
    """A simulated model call that did not answer in time."""


class QualityMeasureError(ArithmeticError):
    """A simulated failure of a quality measure on a degenerate signal."""


@dataclass(frozen=True, slots=True)
class Fault:
    """A failure the demo can inject: its stage, exception class, message and relative odds."""

    stage: str
    error: type[Exception]
    message: str
    weight: float


# Where each failure strikes and how often, relative to the others.
FAULTS: Final = (
    Fault(
        "enhance",
        OutOfMemoryError,
        "CUDA out of memory. Tried to allocate 512.00 MiB (simulated by vumeter demo)",
        0.15,
    ),
    Fault("generate", AudioDecodeError, "corrupt frame in input (simulated by vumeter demo)", 0.4),
    Fault("enhance", InferenceTimeoutError, "enhancer did not answer within 2 s (simulated)", 0.25),
    Fault("measure", QualityMeasureError, "quality measure diverged (simulated)", 0.2),
)
_WEIGHTS: Final = np.array([fault.weight for fault in FAULTS]) / sum(f.weight for f in FAULTS)


class FaultPlan:
    """The failure chosen for one sample, if any: raise it when its stage comes."""

    __slots__ = ("_fault",)

    def __init__(self, fault: Fault | None) -> None:
        self._fault = fault

    @property
    def stage(self) -> str | None:
        return None if self._fault is None else self._fault.stage

    def strike(self, stage: str) -> None:
        """Raise the planned failure if it belongs to ``stage``."""
        if self._fault is not None and self._fault.stage == stage:
            raise self._fault.error(self._fault.message)


class FaultInjector:
    """Plans a failure for a fraction ``rate`` (0..1) of samples, drawn from ``seed``."""

    def __init__(self, rate: float, seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be a fraction between 0 and 1, got {rate}")
        self._rate = rate
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()  # Generator objects are not thread-safe

    @property
    def rate(self) -> float:
        return self._rate

    def plan(self) -> FaultPlan:
        """Decide the fate of the next sample."""
        if self._rate == 0.0:
            return FaultPlan(None)
        with self._lock:
            if self._rng.random() >= self._rate:
                return FaultPlan(None)
            index = int(self._rng.choice(len(FAULTS), p=_WEIGHTS))
        return FaultPlan(FAULTS[index])
