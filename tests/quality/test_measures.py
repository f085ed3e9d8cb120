"""SNR, STOI and PESQ wrappers: known values, orderings, and a clear error for bad input."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from vumeter.demo.signals import make_noise, mix_at_snr, synthesize_speech
from vumeter.quality import (
    MeasureUnavailableError,
    pesq_available,
    pesq_score,
    snr_db,
    stoi_score,
)

RATE = 16_000


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return synthesize_speech(2.0, np.random.default_rng(7))


def _noisy(clean: np.ndarray, snr: float, seed: int = 3) -> np.ndarray:
    return mix_at_snr(clean, make_noise("white", clean.shape[0], np.random.default_rng(seed)), snr)


# -- SNR ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [-5.0, 0.0, 12.5, 30.0])
def test_snr_of_a_mixture_is_the_mixing_snr(speech: np.ndarray, target: float) -> None:
    assert snr_db(speech, _noisy(speech, target)) == pytest.approx(target, abs=1e-9)


def test_snr_by_hand() -> None:
    # Signal energy 4, residual energy 0.04: a ratio of 100, so 20 dB.
    assert snr_db([2.0, 0.0], [2.0, 0.2]) == pytest.approx(20.0)


def test_snr_of_an_exact_copy_is_infinite(speech: np.ndarray) -> None:
    assert snr_db(speech, speech.copy()) == math.inf


def test_snr_accepts_integer_pcm() -> None:
    assert snr_db(np.array([1000, -1000], dtype=np.int16), [1000, -900]) == pytest.approx(
        10 * math.log10(2e6 / 1e4)
    )


@pytest.mark.parametrize(
    ("reference", "estimate", "message"),
    [
        ([1.0, 2.0], [1.0], "same length, got 2 and 1 samples"),
        ([[1.0, 2.0]], [[1.0, 2.0]], r"1-D \(mono\) signal, got shape \(1, 2\)"),
        ([], [], "reference is empty"),
        ([0.0, 0.0], [1.0, 1.0], "reference is silent"),
        ([1.0, math.nan], [1.0, 1.0], "reference must be finite"),
        ([1.0, 1.0], [1.0, math.inf], "estimate must be finite"),
        (["a", "b"], [1.0, 1.0], "reference must be an array of real numbers"),
        ([1 + 1j, 1.0], [1.0, 1.0], "reference must be an array of real numbers"),
    ],
)
def test_snr_rejects_bad_input(reference: object, estimate: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        snr_db(reference, estimate)


# -- STOI --------------------------------------------------------------------------------------


def test_stoi_of_the_reference_itself_is_one(speech: np.ndarray) -> None:
    assert stoi_score(speech, speech, RATE) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("extended", [False, True])
def test_stoi_falls_as_noise_rises(speech: np.ndarray, extended: bool) -> None:
    scores = [
        stoi_score(speech, _noisy(speech, snr), RATE, extended=extended) for snr in (20, 5, -10)
    ]
    assert scores[0] > scores[1] > scores[2]
    assert scores[0] > 0.85


@pytest.mark.parametrize(
    ("reference", "estimate", "rate", "message"),
    [
        (np.ones(16000), np.ones(15999), RATE, "same length"),
        (np.ones(6000), np.ones(6000), RATE, r"at least 0.4 s of audio \(6400 samples"),
        (np.zeros(16000), np.ones(16000), RATE, "reference is silent"),
        (np.ones(16000), np.ones(16000), 0, "sample_rate must be positive"),
        (np.ones(16000), np.ones(16000), 16000.0, "sample_rate must be an integer"),
        (np.ones(16000), np.ones(16000), True, "sample_rate must be an integer"),
    ],
)
def test_stoi_rejects_bad_input(
    reference: np.ndarray, estimate: np.ndarray, rate: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        stoi_score(reference, estimate, rate)


def _mostly_silent(speech: np.ndarray) -> np.ndarray:
    # A 50 ms blip in two seconds of near-silence: pystoi's silent-frame removal leaves too
    # few frames to compute a score.
    quiet = np.full(2 * RATE, 1e-9)
    quiet[RATE : RATE + 800] = speech[8000:8800]
    return quiet


def test_stoi_turns_pystoi_s_sentinel_into_an_error(speech: np.ndarray) -> None:
    reference = _mostly_silent(speech)
    # pytest records the warning instead of raising it, so pystoi returns its 1e-5 sentinel.
    with (
        pytest.warns(RuntimeWarning, match="Not enough STFT frames"),
        pytest.raises(ValueError, match="too little speech above the silence threshold"),
    ):
        stoi_score(reference, reference, RATE)


def test_stoi_turns_pystoi_s_warning_into_an_error_when_warnings_are_errors(
    speech: np.ndarray,
) -> None:
    reference = _mostly_silent(speech)
    # The suite runs with filterwarnings=error, so pystoi's warning arrives as an exception.
    with pytest.raises(ValueError, match="STOI could not be computed: Not enough STFT frames"):
        stoi_score(reference, reference, RATE)


# -- PESQ --------------------------------------------------------------------------------------


def test_pesq_is_installed_here() -> None:
    # The suite measures PESQ for real; pip install pesq (it needs a C compiler).
    assert pesq_available()


def test_pesq_of_the_reference_itself_is_the_top_of_the_scale(speech: np.ndarray) -> None:
    assert pesq_score(speech, speech, RATE) == pytest.approx(4.64, abs=0.01)


def test_pesq_falls_as_noise_rises(speech: np.ndarray) -> None:
    scores = [pesq_score(speech, _noisy(speech, snr), RATE) for snr in (30, 10, -5)]
    assert scores[0] > scores[1] > scores[2]
    assert 1.0 <= scores[2] < 1.5


def test_narrow_band_pesq_at_8_khz(speech: np.ndarray) -> None:
    narrow = speech[::2]  # crude decimation; aliasing does not matter when comparing to itself
    score = pesq_score(narrow, narrow, 8000, mode="nb")
    assert 4.0 < score <= 4.6


@pytest.mark.parametrize(
    ("rate", "mode", "length", "message"),
    [
        (RATE, "xb", 16000, "mode must be 'wb'"),
        (44100, "wb", 44100, "sample rate of 8000 or 16000 Hz, got 44100"),
        (8000, "wb", 8000, "wide-band PESQ .* needs 16000 Hz"),
        (RATE, "wb", 3000, r"at least 0.25 s of audio, got 3000 samples"),
    ],
)
def test_pesq_rejects_bad_settings(rate: int, mode: str, length: int, message: str) -> None:
    signal = np.random.default_rng(0).standard_normal(length)
    with pytest.raises(ValueError, match=message):
        pesq_score(signal, signal, rate, mode=mode)


def test_pesq_rejects_a_silent_reference() -> None:
    with pytest.raises(ValueError, match="reference is silent"):
        pesq_score(np.zeros(RATE), np.ones(RATE), RATE)


def test_pesq_rejects_a_silent_estimate(speech: np.ndarray) -> None:
    with pytest.raises(ValueError, match="estimate is silent"):
        pesq_score(speech, np.zeros_like(speech), RATE)


def test_pesq_turns_library_errors_into_value_errors(speech: np.ndarray) -> None:
    # A quarter second that is mostly the silence before the first word: long enough for our
    # checks, but P.862's voice activity detector finds no utterance in it.
    start = speech[: RATE // 4]
    with pytest.raises(ValueError, match="PESQ could not be computed: NoUtterancesError"):
        pesq_score(start, start, RATE)


def test_pesq_without_the_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, speech: np.ndarray
) -> None:
    monkeypatch.setitem(sys.modules, "pesq", None)  # makes `import pesq` raise ImportError
    assert not pesq_available()
    with pytest.raises(MeasureUnavailableError, match="pip install pesq"):
        pesq_score(speech, speech, RATE)
