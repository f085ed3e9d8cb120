"""Synthetic speech and noise: speech-like structure, noise colours, exact mixing SNR."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import welch

from vumeter.demo.signals import (
    NOISE_KINDS,
    SAMPLE_RATE,
    make_noise,
    mix_at_snr,
    synthesize_speech,
)


def _band_power(signal: np.ndarray, low: float, high: float) -> float:
    frequencies, power = welch(signal, SAMPLE_RATE, nperseg=1024)
    return float(power[(frequencies >= low) & (frequencies < high)].sum())


def _frame_levels_db(signal: np.ndarray, frame: int = 160) -> np.ndarray:
    frames = signal[: signal.shape[0] // frame * frame].reshape(-1, frame)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)


def test_speech_has_the_requested_length_and_level() -> None:
    speech = synthesize_speech(1.5, np.random.default_rng(1))
    assert speech.shape == (24_000,)
    assert speech.dtype == np.float64
    assert math.sqrt(np.mean(speech**2)) == pytest.approx(0.1)
    assert np.max(np.abs(speech)) < 1.0


def test_speech_is_reproducible_from_its_seed() -> None:
    first = synthesize_speech(1.0, np.random.default_rng(42))
    again = synthesize_speech(1.0, np.random.default_rng(42))
    other = synthesize_speech(1.0, np.random.default_rng(43))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("seed", range(5))
def test_speech_starts_with_silence_and_has_pauses(seed: int) -> None:
    speech = synthesize_speech(2.0, np.random.default_rng(seed))
    assert not np.any(speech[: int(0.05 * SAMPLE_RATE)])  # at least 50 ms before the first word
    levels = _frame_levels_db(speech)
    loud = levels > levels.max() - 20
    # Syllables come and go: a good share of 10 ms frames is loud, a good share is not.
    assert 0.3 < loud.mean() < 0.95


@pytest.mark.parametrize("seed", range(5))
def test_speech_energy_sits_where_speech_energy_does(seed: int) -> None:
    speech = synthesize_speech(2.0, np.random.default_rng(seed))
    total = _band_power(speech, 0, 8000)
    # Voiced speech: most energy between the pitch and the third formant, little above 5 kHz.
    assert _band_power(speech, 80, 4000) / total > 0.95
    assert _band_power(speech, 5000, 8000) / total < 0.01
    assert _band_power(speech, 0, 60) / total < 0.01


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_has_unit_rms(kind: str) -> None:
    noise = make_noise(kind, 16_000, np.random.default_rng(0))
    assert noise.shape == (16_000,)
    assert math.sqrt(np.mean(noise**2)) == pytest.approx(1.0)


def test_noise_colours_differ_in_spectral_tilt() -> None:
    rng = np.random.default_rng(0)
    white, pink = make_noise("white", 64_000, rng), make_noise("pink", 64_000, rng)
    # Equal-width bands: flat for white noise; for 1/f noise the low band holds far more.
    white_ratio = _band_power(white, 250, 500) / _band_power(white, 4000, 4250)
    pink_ratio = _band_power(pink, 250, 500) / _band_power(pink, 4000, 4250)
    assert white_ratio == pytest.approx(1.0, rel=0.3)
    assert pink_ratio > 8.0


def test_babble_is_less_stationary_than_white_noise() -> None:
    rng = np.random.default_rng(0)
    white = make_noise("white", 32_000, rng)
    babble = make_noise("babble", 32_000, rng)
    assert np.std(_frame_levels_db(babble)) > 2 * np.std(_frame_levels_db(white))


@pytest.mark.parametrize("snr", [-10.0, 0.0, 7.5, 40.0])
def test_mixing_hits_the_requested_snr(snr: float) -> None:
    rng = np.random.default_rng(5)
    clean = synthesize_speech(1.0, rng)
    noise = make_noise("pink", clean.shape[0], rng)
    noisy = mix_at_snr(clean, noise, snr)
    residual = noisy - clean
    measured = 10 * math.log10(np.sum(clean**2) / np.sum(residual**2))
    assert measured == pytest.approx(snr, abs=1e-9)


@pytest.mark.parametrize(
    ("duration", "message"),
    [(0.2, "between 0.5 and 30.0 seconds, got 0.2"), (31.0, "got 31.0"), (math.nan, "got nan")],
)
def test_speech_rejects_bad_durations(duration: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synthesize_speech(duration, np.random.default_rng(0))


def test_speech_rejects_a_low_sample_rate() -> None:
    with pytest.raises(ValueError, match="at least 8000 Hz"):
        synthesize_speech(1.0, np.random.default_rng(0), sample_rate=4000)


@pytest.mark.parametrize(
    ("kind", "length", "message"),
    [
        ("brown", 100, "noise kind must be one of white, pink, babble; got 'brown'"),
        ("white", 0, "positive integer, got 0"),
        ("white", -5, "positive integer, got -5"),
        ("white", 10.0, "positive integer, got 10.0"),
        ("white", True, "positive integer, got True"),
    ],
)
def test_noise_rejects_bad_arguments(kind: str, length: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_noise(kind, length, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("clean", "noise", "snr", "message"),
    [
        (np.ones(10), np.ones(9), 0.0, r"same length, got shapes \(10,\) and \(9,\)"),
        (np.ones((2, 5)), np.ones((2, 5)), 0.0, "must be 1-D signals"),
        (np.ones(10), np.ones(10), math.nan, "snr_db must be a finite number"),
        (np.ones(10), np.ones(10), math.inf, "snr_db must be a finite number"),
        (np.zeros(10), np.ones(10), 0.0, "non-zero power"),
        (np.ones(10), np.zeros(10), 0.0, "non-zero power"),
    ],
)
def test_mixing_rejects_bad_input(
    clean: np.ndarray, noise: np.ndarray, snr: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mix_at_snr(clean, noise, snr)
