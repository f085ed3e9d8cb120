"""Speech enhancement by spectral gating: the demo's stand-in for a GPU denoising model.

The noisy signal is taken to the short-time Fourier domain; the noise power per frequency is
estimated as a low percentile of the frame powers (speech pauses and the silence before the
first word hold only noise); each time-frequency bin gets a soft gain from power spectral
subtraction, ``sqrt(1 - oversubtraction * noise / power)``, floored so that the residual
noise stays natural, and smoothed over neighbouring bins to avoid "musical noise". ``strength``
blends between the untouched input (0) and the full gate (1), which the demo's
``--quality-shift`` lowers to simulate a degraded model.
"""

from __future__ import annotations

import functools
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter
from scipy.signal.windows import hann

__all__ = ["spectral_gate"]

_OVERSUBTRACTION: Final = 1.5
_NOISE_PERCENTILE: Final = 15.0
# Minimum-statistics bias: a low percentile of exponentially distributed noise power
# underestimates its mean; dividing by -ln(1 - p) undoes that for a percentile p.
_PERCENTILE_BIAS: Final = -math.log(1.0 - _NOISE_PERCENTILE / 100.0)
_SMOOTHING_BINS: Final = (5, 3)  # (time frames, frequency bins), the STFT's layout here


def spectral_gate(
    noisy: NDArray[np.float64],
    sample_rate: int,
    *,
    strength: float = 1.0,
    floor_db: float = -20.0,
    n_fft: int = 512,
    hop: int = 128,
) -> NDArray[np.float64]:
    """Denoise ``noisy`` (1-D, finite) and return a signal of the same length.

    Args:
        noisy: the mono input signal.
        sample_rate: its sample rate in Hz.
        strength: 0 returns the input unchanged, 1 applies the full gate; values in between
            blend the gains (up to 2 gates harder than designed).
        floor_db: the lowest gain applied to any bin, in dB (below 0).
        n_fft: STFT frame length in samples (a power of two is fastest).
        hop: STFT hop in samples; at most ``n_fft // 2`` so frames overlap.
    """
    signal = _check_signal(noisy, n_fft)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer number of Hz, got {sample_rate}")
    if not (0.0 <= strength <= 2.0):
        raise ValueError(f"strength must be between 0 and 2, got {strength}")
    if not (math.isfinite(floor_db) and floor_db < 0.0):
        raise ValueError(f"floor_db must be a negative number of dB, got {floor_db}")
    if not (0 < hop <= n_fft // 2):
        raise ValueError(f"hop must be between 1 and n_fft // 2 ({n_fft // 2}), got {hop}")
    if strength == 0.0:
        return signal.copy()

    window = _window(n_fft)
    spectrum = _stft(signal, window, hop)
    power = np.abs(spectrum) ** 2
    noise = np.percentile(power, _NOISE_PERCENTILE, axis=0, keepdims=True) / _PERCENTILE_BIAS
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(power > 0.0, noise / power, np.inf)
    gain = np.sqrt(np.clip(1.0 - _OVERSUBTRACTION * ratio, 0.0, 1.0))
    gain = uniform_filter(gain, size=_SMOOTHING_BINS, mode="nearest")
    gain = np.maximum(gain, 10.0 ** (floor_db / 20.0))
    gain = np.clip(1.0 - strength * (1.0 - gain), 0.0, 1.0)
    return _istft(spectrum * gain, window, hop, signal.shape[0])


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> NDArray[np.float64]:
    window: NDArray[np.float64] = hann(n_fft, sym=False)
    window.flags.writeable = False  # shared between threads through the cache
    return window


# The STFT pair is written out with numpy rather than scipy's ShortTimeFFT, which loops over
# frames in Python and cost 20 ms for a 1.5 s clip; this costs about 2 ms.
def _stft(
    signal: NDArray[np.float64], window: NDArray[np.float64], hop: int
) -> NDArray[np.complex128]:
    """Frames (one per row) of the zero-padded signal, windowed and transformed."""
    n_fft = window.shape[0]
    padded = _pad(signal, n_fft, hop)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    spectrum: NDArray[np.complex128] = np.fft.rfft(frames * window, axis=1)
    return spectrum


def _istft(
    spectrum: NDArray[np.complex128], window: NDArray[np.float64], hop: int, length: int
) -> NDArray[np.float64]:
    """Weighted overlap-add inverse of :func:`_stft`, trimmed back to ``length`` samples."""
    n_fft = window.shape[0]
    frames = np.fft.irfft(spectrum, n=n_fft, axis=1) * window
    total = (frames.shape[0] - 1) * hop + n_fft
    output = np.zeros(total)
    window_energy = np.zeros(total)
    squared = window**2
    for index, frame in enumerate(frames):
        start = index * hop
        output[start : start + n_fft] += frame
        window_energy[start : start + n_fft] += squared
    offset = n_fft // 2
    kept = slice(offset, offset + length)
    result: NDArray[np.float64] = output[kept] / window_energy[kept]
    return result


def _pad(signal: NDArray[np.float64], n_fft: int, hop: int) -> NDArray[np.float64]:
    """Pad half a frame on the left, and on the right enough to cover the end with full frames.

    Every kept sample then lies under frames whose squared windows sum to at least 0.5, so
    the overlap-add normalisation never divides by a tiny number.
    """
    left = n_fft // 2
    needed = signal.shape[0] + left + n_fft // 2
    right = n_fft // 2 + (-(needed - n_fft)) % hop
    return np.pad(signal, (left, right))


def _check_signal(noisy: NDArray[np.float64], n_fft: int) -> NDArray[np.float64]:
    array = np.asarray(noisy)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"noisy must be an array of real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"noisy must be a 1-D (mono) signal, got shape {array.shape}")
    if isinstance(n_fft, bool) or not isinstance(n_fft, int) or n_fft < 16:
        raise ValueError(f"n_fft must be an integer of at least 16, got {n_fft!r}")
    if array.shape[0] < n_fft:
        raise ValueError(
            f"noisy must be at least n_fft ({n_fft}) samples long, got {array.shape[0]}"
        )
    signal = array.astype(np.float64, copy=False)
    if not np.isfinite(signal).all():
        raise ValueError("noisy must be finite (no NaN or inf samples)")
    return signal
