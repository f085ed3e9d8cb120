"""Objective speech-quality measures: SNR, STOI and PESQ, with input checks and clear errors.

* :func:`snr_db` is computed here (plain numpy): the energy ratio of the clean reference to
  the residual error, in dB.
* :func:`stoi_score` wraps `pystoi <https://github.com/mpariente/pystoi>`_ (Taal et al., 2011),
  part of the ``vumeter[audio]`` extra.
* :func:`pesq_score` wraps the `pesq <https://github.com/ludlows/PESQ>`_ package, the ITU-T
  P.862 reference code. It is optional because it is built from source (it needs a C
  compiler); :func:`pesq_available` says whether it can be used.

The wrapped libraries answer bad input with bare ``Exception``/``AssertionError`` or a warning
and a sentinel value; these wrappers check first and raise :class:`ValueError` instead.
"""

from __future__ import annotations

import importlib
import math
import threading
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MeasureUnavailableError",
    "pesq_available",
    "pesq_score",
    "snr_db",
    "stoi_score",
]

#: pystoi works on 10 kHz frames of 256 samples with 50 % overlap and needs 30 frames that are
#: not silent: about 0.4 s of active speech. Shorter input would silently score 1e-5.
_STOI_MIN_SECONDS = 0.4
#: What pystoi returns instead of a score when it cannot compute one.
_STOI_FAILURE_SENTINEL = 1e-5
#: P.862 rejects clips shorter than 1/4 s.
_PESQ_MIN_SECONDS = 0.25

# The P.862 reference code keeps its state in C globals, so two calls must never overlap. The
# binding holds the GIL today; the lock keeps that true on free-threaded builds as well.
_PESQ_LOCK = threading.Lock()


class MeasureUnavailableError(RuntimeError):
    """The library behind a measure is not installed."""


def snr_db(reference: ArrayLike, estimate: ArrayLike) -> float:
    """Signal-to-noise ratio of ``estimate`` against the clean ``reference``, in dB.

    ``10 * log10(sum(reference**2) / sum((reference - estimate)**2))``; ``inf`` when the
    estimate equals the reference exactly.
    """
    clean, degraded = _as_signal_pair(reference, estimate)
    signal_energy = float(np.dot(clean, clean))
    if signal_energy == 0.0:
        raise ValueError("reference is silent (all zeros); SNR is undefined")
    residual = clean - degraded
    noise_energy = float(np.dot(residual, residual))
    if noise_energy == 0.0:
        return math.inf
    return 10.0 * math.log10(signal_energy / noise_energy)


def stoi_score(
    reference: ArrayLike, estimate: ArrayLike, sample_rate: int, *, extended: bool = False
) -> float:
    """Short-Time Objective Intelligibility of ``estimate`` against ``reference``.

    Roughly 0 (unintelligible) to 1 (as intelligible as the reference). ``extended=True``
    computes ESTOI (Jensen & Taal, 2016), better suited to modulated noise such as babble.
    Needs at least 0.4 s of audio.
    """
    clean, degraded = _as_signal_pair(reference, estimate)
    _check_sample_rate(sample_rate)
    if clean.shape[0] < _STOI_MIN_SECONDS * sample_rate:
        raise ValueError(
            f"STOI needs at least {_STOI_MIN_SECONDS} s of audio "
            f"({math.ceil(_STOI_MIN_SECONDS * sample_rate)} samples at {sample_rate} Hz), "
            f"got {clean.shape[0]} samples"
        )
    if not clean.any():
        raise ValueError("reference is silent (all zeros); STOI is undefined")
    try:
        from pystoi import stoi  # noqa: PLC0415 - the audio extra, loaded on first use
    except ImportError:  # pragma: no cover - pystoi is in the audio extra
        raise MeasureUnavailableError(
            "STOI needs pystoi: pip install 'vumeter[audio]' (or pip install pystoi)"
        ) from None
    # pystoi answers a reference with too little speech above its 40 dB dynamic range with a
    # RuntimeWarning and the sentinel 1e-5. Changing the warning filters here would not be
    # thread-safe, so both forms are turned into an error instead of a bogus score.
    try:
        score = float(stoi(clean, degraded, sample_rate, extended=extended))
    except RuntimeWarning as warning:  # the caller's filters turned the warning into an error
        raise ValueError(f"STOI could not be computed: {warning}") from None
    if not math.isfinite(score):
        raise ValueError(f"STOI could not be computed: pystoi returned {score}")
    if score == _STOI_FAILURE_SENTINEL:
        raise ValueError(
            "STOI could not be computed: the reference has too little speech above the "
            "silence threshold (pystoi needs about 0.4 s of active speech)"
        )
    return score


def pesq_available() -> bool:
    """Whether the optional ``pesq`` package can be imported."""
    try:
        importlib.import_module("pesq")
    except ImportError:
        return False
    return True


def pesq_score(
    reference: ArrayLike,
    estimate: ArrayLike,
    sample_rate: int,
    *,
    mode: Literal["wb", "nb"] = "wb",
) -> float:
    """PESQ (ITU-T P.862) mean opinion score of ``estimate`` against ``reference``.

    Wide-band mode (P.862.2, 16 kHz only) gives about 1.04 to 4.64; narrow-band mode
    (8 or 16 kHz) about 1.0 to 4.5.

    Raises:
        MeasureUnavailableError: the ``pesq`` package is not installed.
        ValueError: bad input, or P.862 found no speech in the reference.
    """
    clean, degraded = _as_signal_pair(reference, estimate)
    if mode not in ("wb", "nb"):
        raise ValueError(f"mode must be 'wb' (wide-band) or 'nb' (narrow-band), got {mode!r}")
    if sample_rate not in (8000, 16000):
        raise ValueError(f"PESQ needs a sample rate of 8000 or 16000 Hz, got {sample_rate}")
    if mode == "wb" and sample_rate != 16000:
        raise ValueError("wide-band PESQ ('wb') needs 16000 Hz audio; use mode='nb' at 8000 Hz")
    if clean.shape[0] < _PESQ_MIN_SECONDS * sample_rate:
        raise ValueError(
            f"PESQ needs at least {_PESQ_MIN_SECONDS} s of audio, got {clean.shape[0]} samples "
            f"at {sample_rate} Hz"
        )
    if not clean.any():
        raise ValueError("reference is silent (all zeros); PESQ is undefined")
    if not degraded.any():
        # The library would fail with "cannot convert float NaN to integer".
        raise ValueError("estimate is silent (all zeros); P.862 cannot score silence")
    try:
        # Imported by name: pesq ships no type information, and it is optional.
        pesq_module: Any = importlib.import_module("pesq")
    except ImportError:
        raise MeasureUnavailableError(
            "PESQ needs the optional pesq package, built from source with a C compiler: "
            "pip install pesq"
        ) from None
    with _PESQ_LOCK:
        try:
            return float(pesq_module.pesq(sample_rate, clean, degraded, mode))
        except pesq_module.PesqError as error:  # no utterances found, buffer too short, ...
            raise ValueError(f"PESQ could not be computed: {type(error).__name__}") from None


def _as_signal_pair(
    reference: ArrayLike, estimate: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    clean = _as_signal("reference", reference)
    degraded = _as_signal("estimate", estimate)
    if clean.shape != degraded.shape:
        raise ValueError(
            f"reference and estimate must have the same length, got {clean.shape[0]} and "
            f"{degraded.shape[0]} samples"
        )
    return clean, degraded


def _as_signal(name: str, value: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D (mono) signal, got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    signal = array.astype(np.float64, copy=False)
    if not np.isfinite(signal).all():
        raise ValueError(f"{name} must be finite (no NaN or inf samples)")
    return signal


def _check_sample_rate(sample_rate: int) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise ValueError(f"sample_rate must be an integer number of Hz, got {sample_rate!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
