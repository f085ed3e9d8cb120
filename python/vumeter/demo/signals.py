"""Synthetic speech-like signals and noise for the demo pipeline, at 16 kHz.

No recordings ship with vumeter, so the demo synthesises its input. A source-filter model is
enough to give the quality measures something speech-like to judge: a harmonic glottal source
with a gliding pitch, shaped by vowel formants (Peterson & Barney, 1952) and lip radiation, cut into
syllables of 150 to 300 ms with fricative onsets and pauses between words. Noise comes in
three colours: stationary white and pink noise, and non-stationary babble made of other
synthetic talkers, which spectral gating handles worst.

Every function takes a ``numpy.random.Generator`` so a sample is reproducible from its seed.
"""

from __future__ import annotations

import math
from typing import Final, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter
from scipy.signal.windows import tukey

__all__ = [
    "NOISE_KINDS",
    "SAMPLE_RATE",
    "NoiseKind",
    "make_noise",
    "mix_at_snr",
    "synthesize_speech",
]

SAMPLE_RATE: Final = 16_000

NoiseKind: TypeAlias = Literal["white", "pink", "babble"]
NOISE_KINDS: Final[tuple[NoiseKind, ...]] = ("white", "pink", "babble")

# Average adult male formants F1-F3 in Hz of the ten vowels of Peterson & Barney (1952),
# named by the word they were recorded in.
_VOWEL_FORMANTS: Final = np.array(
    [
        (270, 2290, 3010),  # heed
        (390, 1990, 2550),  # hid
        (530, 1840, 2480),  # head
        (660, 1720, 2410),  # had
        (730, 1090, 2440),  # hod
        (570, 840, 2410),  # hawed
        (440, 1020, 2240),  # hood
        (300, 870, 2240),  # who'd
        (640, 1190, 2390),  # hud
        (490, 1350, 1690),  # heard
    ],
    dtype=np.float64,
)
_FORMANT_BANDWIDTHS: Final = np.array([80.0, 110.0, 160.0, 250.0, 300.0])
# The fourth and fifth formants barely depend on the vowel (Klatt, 1980, uses fixed values).
_HIGHER_FORMANTS: Final = np.array([3300.0, 3750.0])
# Harmonics stop below 7 kHz: wide-band PESQ listens up to 7 kHz and the source must not alias.
_HIGHEST_HARMONIC_HZ: Final = 7000.0
_MAX_HARMONICS: Final = 48
_GLOTTAL_LEAK: Final = 0.97
# Speech level of about -20 dBFS, loud enough to be clear of the float32 floor PESQ uses.
_SPEECH_RMS: Final = 0.1
_MIN_DURATION_S: Final = 0.5
_MAX_DURATION_S: Final = 30.0


def synthesize_speech(
    duration_s: float, rng: np.random.Generator, *, sample_rate: int = SAMPLE_RATE
) -> NDArray[np.float64]:
    """One talker's speech-like utterance lasting ``duration_s`` seconds (0.5 to 30 s).

    The talker (pitch 90 to 220 Hz, vocal-tract length) is drawn from ``rng``; the utterance
    starts with 50 to 150 ms of silence, which the enhancer's noise estimate relies on as a
    real recording would. The result is normalised to an RMS of 0.1.
    """
    n_samples = _check_duration(duration_s, sample_rate)
    out = np.zeros(n_samples)
    base_f0 = rng.uniform(90.0, 220.0)
    # Higher voices come with shorter vocal tracts: scale the formants with the pitch.
    formant_scale = 1.0 + 0.25 * (base_f0 - 90.0) / 130.0
    position = int(rng.uniform(0.05, 0.15) * sample_rate)
    syllables_left_in_word = int(rng.integers(1, 4))
    while True:
        length = int(rng.uniform(0.15, 0.30) * sample_rate)
        if position + length > n_samples:
            break
        syllable = _syllable(length, base_f0, formant_scale, rng, sample_rate)
        out[position : position + length] += syllable
        position += length
        syllables_left_in_word -= 1
        if syllables_left_in_word == 0:  # a pause between words
            position += int(rng.uniform(0.04, 0.20) * sample_rate)
            syllables_left_in_word = int(rng.integers(1, 4))
    rms = math.sqrt(float(np.mean(out**2)))
    if rms == 0.0:  # shorter than one syllable after the leading silence: cannot happen >= 0.5 s
        raise AssertionError("synthesised utterance is silent")
    return out * (_SPEECH_RMS / rms)


def make_noise(
    kind: NoiseKind, n_samples: int, rng: np.random.Generator, *, sample_rate: int = SAMPLE_RATE
) -> NDArray[np.float64]:
    """Noise of ``kind`` ('white', 'pink' or 'babble'), ``n_samples`` long, unit RMS."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples <= 0:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if kind == "white":
        noise = rng.standard_normal(n_samples)
    elif kind == "pink":
        noise = _pink_noise(n_samples, rng)
    elif kind == "babble":
        noise = _babble(n_samples, rng, sample_rate)
    else:
        raise ValueError(f"noise kind must be one of {', '.join(NOISE_KINDS)}; got {kind!r}")
    result: NDArray[np.float64] = noise / math.sqrt(float(np.mean(noise**2)))
    return result


def mix_at_snr(
    clean: NDArray[np.float64], noise: NDArray[np.float64], snr_db: float
) -> NDArray[np.float64]:
    """``clean`` plus ``noise`` scaled so that the mixture has the requested SNR in dB."""
    if clean.ndim != 1 or noise.ndim != 1 or clean.shape != noise.shape:
        raise ValueError(
            f"clean and noise must be 1-D signals of the same length, got shapes {clean.shape} "
            f"and {noise.shape}"
        )
    if not math.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of dB, got {snr_db}")
    clean_power = float(np.mean(clean**2))
    noise_power = float(np.mean(noise**2))
    if clean_power == 0.0 or noise_power == 0.0:
        raise ValueError("clean and noise must both have non-zero power to mix at an SNR")
    gain = math.sqrt(clean_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return clean + gain * noise


def _check_duration(duration_s: float, sample_rate: int) -> int:
    if not (_MIN_DURATION_S <= duration_s <= _MAX_DURATION_S):
        raise ValueError(
            f"duration_s must be between {_MIN_DURATION_S} and {_MAX_DURATION_S} seconds, "
            f"got {duration_s}"
        )
    if sample_rate < 8000:
        raise ValueError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")
    return int(duration_s * sample_rate)


def _syllable(
    length: int,
    base_f0: float,
    formant_scale: float,
    rng: np.random.Generator,
    sample_rate: int,
) -> NDArray[np.float64]:
    """A voiced syllable (vowel), sometimes with a fricative onset, under a smooth envelope."""
    # Pitch glides within the syllable and wobbles slightly (jitter), as intonation does.
    t = np.arange(length) / sample_rate
    start, end = base_f0 * rng.uniform(0.85, 1.2, size=2)
    vibrato = 1.0 + 0.01 * np.sin(2 * math.pi * rng.uniform(4.0, 7.0) * t)
    f0 = np.linspace(start, end, length) * vibrato
    phase = 2 * math.pi * np.cumsum(f0) / sample_rate
    n_harmonics = min(_MAX_HARMONICS, int(_HIGHEST_HARMONIC_HZ / f0.max()))
    source = _glottal_source(phase, n_harmonics)

    vowel = _VOWEL_FORMANTS[rng.integers(len(_VOWEL_FORMANTS))]
    formants = np.concatenate([vowel, _HIGHER_FORMANTS]) * formant_scale
    voiced = source
    for frequency, bandwidth in zip(formants, _FORMANT_BANDWIDTHS, strict=True):
        voiced = _resonate(voiced, float(frequency), float(bandwidth), sample_rate)
    # Radiation from the lips: a first difference, +6 dB per octave.
    voiced = np.diff(voiced, prepend=0.0)
    voiced /= np.max(np.abs(voiced)) or 1.0
    syllable: NDArray[np.float64] = voiced * tukey(length, alpha=0.6)

    if rng.random() < 0.4:  # fricative consonant onset (s, f, sh): high-passed noise burst
        onset = int(rng.uniform(0.03, 0.07) * sample_rate)
        burst = np.diff(rng.standard_normal(onset + 1))  # first difference: a +6 dB/oct tilt
        burst *= tukey(onset, alpha=0.5) * rng.uniform(0.1, 0.3) / np.max(np.abs(burst))
        syllable[:onset] = syllable[:onset] * np.linspace(0.0, 1.0, onset) + burst
    return syllable * float(rng.uniform(0.6, 1.0))


def _glottal_source(phase: NDArray[np.float64], n_harmonics: int) -> NDArray[np.float64]:
    """Band-limited glottal pulses: ``n_harmonics`` equal harmonics, then a -6 dB/octave tilt.

    The sum of ``cos(k * phase)`` for k = 1..K has the closed form of the Dirichlet kernel, so
    the pulse train costs a few sines per sample instead of one per harmonic.
    """
    sin_half = np.sin(phase / 2.0)
    at_pulse = np.abs(sin_half) < 1e-9
    safe = np.where(at_pulse, 1.0, sin_half)
    pulses = np.where(
        at_pulse, float(n_harmonics), np.sin((n_harmonics + 0.5) * phase) / (2.0 * safe) - 0.5
    )
    # A leaky integrator turns the flat pulse spectrum into the glottal source's roll-off.
    tilted: NDArray[np.float64] = lfilter([1.0], [1.0, -_GLOTTAL_LEAK], pulses)
    return tilted - float(tilted.mean())


def _resonate(
    signal: NDArray[np.float64], frequency: float, bandwidth: float, sample_rate: int
) -> NDArray[np.float64]:
    """Two-pole resonator (a formant) with unit gain at DC, as in Klatt's synthesiser."""
    radius = math.exp(-math.pi * bandwidth / sample_rate)
    a1 = -2.0 * radius * math.cos(2.0 * math.pi * frequency / sample_rate)
    a2 = radius * radius
    result: NDArray[np.float64] = lfilter([1.0 + a1 + a2], [1.0, a1, a2], signal)
    return result


def _pink_noise(n_samples: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """1/f noise: white noise whose spectrum is shaped by 1/sqrt(f) in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    frequency_index = np.arange(spectrum.shape[0], dtype=np.float64)
    frequency_index[0] = 1.0  # keep DC finite; it is removed below
    spectrum /= np.sqrt(frequency_index)
    spectrum[0] = 0.0
    result: NDArray[np.float64] = np.fft.irfft(spectrum, n=n_samples)
    return result


def _babble(n_samples: int, rng: np.random.Generator, sample_rate: int) -> NDArray[np.float64]:
    """Several synthetic talkers at once: the non-stationary noise of a crowded room."""
    duration_s = max(n_samples / sample_rate, _MIN_DURATION_S)
    talkers = [
        synthesize_speech(duration_s, rng, sample_rate=sample_rate)[:n_samples] for _ in range(3)
    ]
    babble: NDArray[np.float64] = np.sum(talkers, axis=0)
    # Shifted copies fill the talkers' pauses and leading silences, like a busy room does.
    babble += np.roll(babble, n_samples // 3) + np.roll(babble, 2 * n_samples // 3)
    return babble
