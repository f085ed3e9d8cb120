"""The one backoff: exponential, capped, with equal jitter."""

from __future__ import annotations

import random

import pytest

from vumeter.runtime import Backoff, backoff_delay


def test_nominal_delays_double_up_to_the_maximum() -> None:
    delays = [backoff_delay(n, initial=1.0, maximum=10.0, jitter=0) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff_delay(3, initial=0.5, maximum=30.0, multiplier=3.0, jitter=0) == 4.5
    assert backoff_delay(10_000, initial=1.0, maximum=5.0, jitter=0) == 5.0  # no overflow


def test_equal_jitter_keeps_half_of_the_nominal_delay() -> None:
    rng = random.Random(3)
    draws = [backoff_delay(4, initial=1.0, maximum=60.0, rng=rng) for _ in range(2000)]
    assert min(draws) >= 4.0
    assert max(draws) <= 8.0
    assert 5.8 < sum(draws) / len(draws) < 6.2  # uniform over [4, 8]
    assert len(set(draws)) == len(draws)


def test_backoff_counts_failures_and_resets() -> None:
    backoff = Backoff(initial=1.0, maximum=10.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, nominal in zip(delays, [1, 2, 4, 8, 10, 10], strict=True):
        assert nominal / 2 <= delay <= nominal
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0
    assert backoff.next_delay() <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": 0, "maximum": 1}, "initial backoff must be a finite number > 0"),
        ({"initial": 2, "maximum": 1}, "maximum backoff must be a finite number >= initial"),
        ({"initial": 1, "maximum": 2, "multiplier": 0.5}, "multiplier must be >= 1"),
        ({"initial": 1, "maximum": 2, "jitter": 1.5}, r"jitter must be within \[0, 1\]"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)  # type: ignore[arg-type]
