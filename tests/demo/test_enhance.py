"""Spectral gating: it removes noise, keeps speech, and rejects bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vumeter.demo.enhance import spectral_gate
from vumeter.demo.signals import SAMPLE_RATE, make_noise, mix_at_snr, synthesize_speech
from vumeter.quality import snr_db


def _pair(kind: str, snr: float, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = synthesize_speech(1.5, rng)
    return clean, mix_at_snr(clean, make_noise(kind, clean.shape[0], rng), snr)


@pytest.mark.parametrize(("kind", "gain_db"), [("white", 3.0), ("pink", 3.0)])
def test_gating_raises_the_snr_of_stationary_noise(kind: str, gain_db: float) -> None:
    clean, noisy = _pair(kind, 5.0)
    enhanced = spectral_gate(noisy, SAMPLE_RATE)
    assert snr_db(clean, enhanced) > snr_db(clean, noisy) + gain_db


def test_gating_keeps_clean_speech_nearly_intact() -> None:
    clean = synthesize_speech(1.5, np.random.default_rng(3))
    assert snr_db(clean, spectral_gate(clean, SAMPLE_RATE)) > 15.0


def test_strength_blends_from_untouched_to_fully_gated() -> None:
    clean, noisy = _pair("white", 5.0)
    untouched = spectral_gate(noisy, SAMPLE_RATE, strength=0.0)
    assert np.array_equal(untouched, noisy)
    assert untouched is not noisy
    snrs = [snr_db(clean, spectral_gate(noisy, SAMPLE_RATE, strength=s)) for s in (0.0, 0.5, 1.0)]
    assert snrs[0] < snrs[1] < snrs[2]


@pytest.mark.parametrize("length", [512, 1000, 24_001])
def test_output_has_the_input_length(length: int) -> None:
    noisy = np.random.default_rng(0).standard_normal(length)
    enhanced = spectral_gate(noisy, SAMPLE_RATE)
    assert enhanced.shape == (length,)
    assert np.isfinite(enhanced).all()


def test_the_input_is_not_modified() -> None:
    _, noisy = _pair("white", 0.0)
    before = noisy.copy()
    spectral_gate(noisy, SAMPLE_RATE)
    assert np.array_equal(noisy, before)


def test_a_lower_floor_removes_more_noise() -> None:
    clean, noisy = _pair("white", 0.0)
    gentle = spectral_gate(noisy, SAMPLE_RATE, floor_db=-6.0)
    strong = spectral_gate(noisy, SAMPLE_RATE, floor_db=-30.0)
    residual_gentle = np.sum((gentle - clean) ** 2)
    residual_strong = np.sum((strong - clean) ** 2)
    assert residual_strong < residual_gentle


@pytest.mark.parametrize(
    ("signal", "options", "message"),
    [
        (np.ones((2, 600)), {}, r"1-D \(mono\) signal, got shape \(2, 600\)"),
        (np.ones(100), {}, r"at least n_fft \(512\) samples long, got 100"),
        (np.r_[np.ones(600), math.nan], {}, "must be finite"),
        (np.array(["a"] * 600), {}, "array of real numbers"),
        (np.ones(600), {"strength": -0.1}, "strength must be between 0 and 2"),
        (np.ones(600), {"strength": math.nan}, "strength must be between 0 and 2"),
        (np.ones(600), {"floor_db": 3.0}, "floor_db must be a negative number"),
        (np.ones(600), {"floor_db": -math.inf}, "floor_db must be a negative number"),
        (np.ones(600), {"hop": 0}, "hop must be between 1 and n_fft // 2"),
        (np.ones(600), {"hop": 300}, r"hop must be between 1 and n_fft // 2 \(256\)"),
        (np.ones(600), {"n_fft": 8}, "n_fft must be an integer of at least 16"),
        (np.ones(600), {"sample_rate": 0}, "sample_rate must be a positive integer"),
        (np.ones(600), {"sample_rate": 16000.0}, "sample_rate must be a positive integer"),
    ],
)
def test_bad_input_is_rejected(
    signal: np.ndarray, options: dict[str, object], message: str
) -> None:
    options = dict(options)
    sample_rate = options.pop("sample_rate", SAMPLE_RATE)
    with pytest.raises(ValueError, match=message):
        spectral_gate(signal, sample_rate, **options)
