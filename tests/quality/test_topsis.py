"""TOPSIS: the published worked example, an independent textbook implementation, references,
and bad input."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vumeter.quality import topsis, topsis_solution

# The fighter-aircraft selection example of Hwang & Yoon, "Multiple Attribute Decision Making:
# Methods and Applications" (Springer, 1981), also in Yoon & Hwang, "Multiple Attribute
# Decision Making: An Introduction" (Sage, 1995). Criteria: maximum speed (Mach), ferry range
# (NM), maximum payload (lb), acquisition cost ($1e6, a cost criterion), reliability and
# maneuverability (linguistic ratings on a 1-9 scale).
AIRCRAFT = np.array(
    [
        [2.0, 1500, 20000, 5.5, 5, 9],
        [2.5, 2700, 18000, 6.5, 3, 5],
        [1.8, 2000, 21000, 4.5, 7, 7],
        [2.2, 1800, 20000, 5.0, 5, 5],
    ]
)
AIRCRAFT_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.2, 0.3]
AIRCRAFT_BENEFIT = [True, True, True, False, True, True]
# Published results, rounded as printed. The book rounds intermediate values too (A3: 0.0920 /
# (0.0580 + 0.0920) = 0.6133 against 0.6135 unrounded), hence tolerances of a unit in the last
# printed place.
PUBLISHED_CLOSENESS = [0.643, 0.268, 0.613, 0.312]
PUBLISHED_SEPARATION_FROM_IDEAL = [0.0545, 0.1197, 0.0580, 0.1009]
PUBLISHED_SEPARATION_FROM_ANTI_IDEAL = [0.0983, 0.0439, 0.0920, 0.0458]
PUBLISHED_IDEAL = [0.1168, 0.0659, 0.0531, 0.0414, 0.1347, 0.2012]
PUBLISHED_ANTI_IDEAL = [0.0841, 0.0366, 0.0455, 0.0598, 0.0577, 0.1118]


def test_reproduces_the_published_fighter_aircraft_example() -> None:
    solution = topsis_solution(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    assert solution.closeness == pytest.approx(PUBLISHED_CLOSENESS, abs=1e-3)
    assert solution.distance_to_ideal == pytest.approx(PUBLISHED_SEPARATION_FROM_IDEAL, abs=2e-4)
    assert solution.distance_to_anti_ideal == pytest.approx(
        PUBLISHED_SEPARATION_FROM_ANTI_IDEAL, abs=2e-4
    )
    assert solution.ideal == pytest.approx(PUBLISHED_IDEAL, abs=2e-4)
    assert solution.anti_ideal == pytest.approx(PUBLISHED_ANTI_IDEAL, abs=2e-4)
    # The book's preference order: A1, A3, A4, A2.
    assert list(np.argsort(-solution.closeness)) == [0, 2, 3, 1]


def test_topsis_returns_the_closeness_as_float64() -> None:
    scores = topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    assert scores.dtype == np.float64
    assert scores.shape == (4,)
    assert scores == pytest.approx(PUBLISHED_CLOSENESS, abs=1e-3)


@pytest.mark.parametrize(
    "benefit",
    [
        ["max", "max", "max", "min", "max", "max"],
        ["benefit", "benefit", "benefit", "cost", "benefit", "benefit"],
        ("MAX", "Max", "max", "MIN", "max", "max"),
        np.array(AIRCRAFT_BENEFIT),
    ],
)
def test_every_spelling_of_the_directions_agrees(benefit: object) -> None:
    expected = topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    assert topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, benefit) == pytest.approx(expected)


def test_one_direction_applies_to_every_criterion() -> None:
    matrix = AIRCRAFT[:, [0, 1, 2]]
    assert topsis(matrix, [1, 1, 1], "max") == pytest.approx(topsis(matrix, [1, 1, 1], [True] * 3))
    assert topsis(matrix, [1, 1, 1], False) == pytest.approx(topsis(matrix, [1, 1, 1], ["min"] * 3))


def test_weights_are_normalised() -> None:
    scaled = [weight * 37 for weight in AIRCRAFT_WEIGHTS]
    assert topsis(AIRCRAFT, scaled, AIRCRAFT_BENEFIT) == pytest.approx(
        topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    )


def test_a_single_criterion_ranks_by_value_in_its_direction() -> None:
    values = [[3.0], [1.0], [2.0]]
    assert topsis(values, [1], "max") == pytest.approx([1.0, 0.0, 0.5])
    assert topsis(values, [1], "min") == pytest.approx([0.0, 1.0, 0.5])


def test_zero_weight_criteria_do_not_matter() -> None:
    matrix = [[1.0, 9.0], [2.0, 1.0], [3.0, 5.0]]
    assert topsis(matrix, [1, 0], "max") == pytest.approx(topsis([[1.0], [2.0], [3.0]], [1], "max"))


def _textbook_topsis(matrix: np.ndarray, weights: list[float], benefit: list[bool]) -> list[float]:
    """The method written out step by step with plain loops, as in the textbooks."""
    rows, columns = matrix.shape
    total = sum(weights)
    norms = [math.sqrt(sum(matrix[i][j] ** 2 for i in range(rows))) for j in range(columns)]
    v = [
        [weights[j] / total * matrix[i][j] / norms[j] for j in range(columns)] for i in range(rows)
    ]
    ideal, anti = [], []
    for j in range(columns):
        column = [v[i][j] for i in range(rows)]
        ideal.append(max(column) if benefit[j] else min(column))
        anti.append(min(column) if benefit[j] else max(column))
    scores = []
    for i in range(rows):
        plus = math.sqrt(sum((v[i][j] - ideal[j]) ** 2 for j in range(columns)))
        minus = math.sqrt(sum((v[i][j] - anti[j]) ** 2 for j in range(columns)))
        scores.append(minus / (plus + minus))
    return scores


@st.composite
def _problems(draw: st.DrawFn) -> tuple[np.ndarray, list[float], list[bool]]:
    rows = draw(st.integers(2, 8))
    columns = draw(st.integers(1, 5))
    matrix = draw(
        hnp.arrays(
            np.float64,
            (rows, columns),
            elements=st.floats(-1000, 1000, allow_nan=False).map(lambda x: round(x, 3)),
        )
    )
    # Every column must separate the rows (TOPSIS rejects constant columns).
    for j in range(columns):
        if np.all(matrix[:, j] == matrix[0, j]):
            matrix[0, j] += 1.0
    weights = draw(st.lists(st.floats(0.01, 10), min_size=columns, max_size=columns))
    benefit = draw(st.lists(st.booleans(), min_size=columns, max_size=columns))
    return matrix, weights, benefit


@settings(max_examples=200, deadline=None)
@given(_problems())
def test_matches_an_independent_textbook_implementation(
    problem: tuple[np.ndarray, list[float], list[bool]],
) -> None:
    matrix, weights, benefit = problem
    scores = topsis(matrix, weights, benefit)
    assert scores == pytest.approx(_textbook_topsis(matrix, weights, benefit), abs=1e-9)
    assert np.all((scores >= 0.0) & (scores <= 1.0))


@settings(max_examples=50, deadline=None)
@given(_problems(), st.data())
def test_scores_follow_their_rows_when_rows_are_shuffled(
    problem: tuple[np.ndarray, list[float], list[bool]], data: st.DataObject
) -> None:
    matrix, weights, benefit = problem
    order = data.draw(st.permutations(range(len(matrix))))
    assert topsis(matrix[order], weights, benefit) == pytest.approx(
        topsis(matrix, weights, benefit)[order]
    )


def test_large_batches_are_scored_in_one_vectorised_pass() -> None:
    # The loop version above needs about 10 ms per 1,000 rows here, so 200 s for this batch;
    # the vectorised one takes well under a second even on a busy machine.
    matrix = np.random.default_rng(0).uniform(0.1, 10.0, (200_000, 3))
    started = time.perf_counter()
    scores = topsis(matrix, [0.3, 0.4, 0.3], ["max", "max", "min"])
    assert time.perf_counter() - started < 2.0
    assert scores.shape == (200_000,)
    assert np.all((scores >= 0.0) & (scores <= 1.0))


# -- fixed references ------------------------------------------------------------------------

BEST = [30.0, 1.0]
WORST = [-5.0, 0.0]


def test_references_score_the_best_as_one_and_the_worst_as_zero() -> None:
    matrix = [BEST, WORST, [10.0, 0.5]]
    scores = topsis(matrix, [1, 1], "max", best=BEST, worst=WORST)
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(0.0)
    assert 0.0 < scores[2] < 1.0


def test_references_score_a_single_sample() -> None:
    (score,) = topsis([[12.5, 0.5]], [1, 1], "max", best=BEST, worst=WORST)
    assert 0.0 < score < 1.0


def test_references_make_a_constant_batch_scorable_and_low_when_bad() -> None:
    bad_batch = [[0.0, 0.3]] * 5
    good_batch = [[25.0, 0.95]] * 5
    bad = topsis(bad_batch, [1, 1], "max", best=BEST, worst=WORST)
    good = topsis(good_batch, [1, 1], "max", best=BEST, worst=WORST)
    assert np.all(bad < 0.35)
    assert np.all(good > 0.8)


def test_values_beyond_the_references_are_clipped() -> None:
    scores = topsis([[90.0, 2.0], [-50.0, -1.0]], [1, 1], "max", best=BEST, worst=WORST)
    assert scores == pytest.approx([1.0, 0.0])


def test_references_with_a_cost_criterion() -> None:
    # Criterion 1 is a latency in ms: lower is better, so best < worst.
    scores = topsis(
        [[0.9, 20.0], [0.9, 200.0]], [1, 1], ["max", "min"], best=[1.0, 10.0], worst=[0.0, 500.0]
    )
    assert scores[0] > scores[1]


def test_improving_one_criterion_raises_the_score() -> None:
    base = topsis([[10.0, 0.6], [20.0, 0.9]], [1, 1], "max", best=BEST, worst=WORST)
    better = topsis([[15.0, 0.6], [20.0, 0.9]], [1, 1], "max", best=BEST, worst=WORST)
    assert better[0] > base[0]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([1.0, 2.0, 3.0], "must be 2-D"),
        ([[[1.0]]], "must be 2-D"),
        (np.zeros((0, 2)), "at least one sample and one criterion"),
        (np.zeros((3, 0)), "at least one sample and one criterion"),
        ([[1.0, math.nan], [2.0, 3.0]], "must be finite; row 0, criterion 1 is nan"),
        ([[1.0, 2.0], [math.inf, 3.0]], "must be finite; row 1, criterion 0 is inf"),
        ([["a", "b"], ["c", "d"]], "must hold real numbers"),
        ([[1.0, 2.0], [3.0]], "array of real numbers"),
        ([[1 + 2j, 1.0], [2.0, 3.0]], "must hold real numbers"),
        ([[0.0, 1.0], [0.0, 2.0]], "criterion 0 is zero for every sample"),
        ([[4.0, 1.0], [4.0, 2.0]], r"criterion 0 has the same value \(4.0\) for every sample"),
        ([[4.0, 1.0]], "needs at least 2 rows"),
    ],
)
def test_bad_matrices_are_rejected(matrix: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        topsis(matrix, [1.0, 1.0], "max")


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0], r"one weight per criterion \(2\), got shape \(1,\)"),
        ([1.0, 1.0, 1.0], r"one weight per criterion \(2\)"),
        ([[1.0, 1.0]], r"one weight per criterion \(2\)"),
        ([1.0, math.nan], "weights must be finite"),
        ([1.0, math.inf], "weights must be finite"),
        ([1.0, -0.5], "weights must be non-negative"),
        ([0.0, 0.0], "weights must sum to a positive number"),
        (["a", "b"], "weights must hold real numbers"),
    ],
)
def test_bad_weights_are_rejected(weights: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        topsis([[1.0, 2.0], [3.0, 4.0]], weights, "max")


@pytest.mark.parametrize(
    ("benefit", "message"),
    [
        (["max"], r"one direction per criterion \(2\), got 1"),
        (["max", "max", "min"], r"one direction per criterion \(2\), got 3"),
        (["max", "higher"], r"benefit\[1\] must be True/'max'/'benefit'"),
        ("best", "benefit must be True/'max'/'benefit'"),
        ([True, 1], r"benefit\[1\] must be"),
        (3, "benefit must be a bool, 'max'/'min', or a sequence"),
    ],
)
def test_bad_directions_are_rejected(benefit: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        topsis([[1.0, 2.0], [3.0, 4.0]], [1, 1], benefit)


@pytest.mark.parametrize(
    ("best", "worst", "benefit", "message"),
    [
        ([1.0, 1.0], None, "max", "pass both or neither"),
        (None, [0.0, 0.0], "max", "pass both or neither"),
        ([1.0], [0.0], "max", r"best must be a 1-D sequence with one value per criterion \(2\)"),
        ([1.0, 1.0], [0.0, 0.0, 0.0], "max", "worst must be a 1-D sequence"),
        ([1.0, math.nan], [0.0, 0.0], "max", "best must be finite"),
        ([1.0, 1.0], [0.0, 1.0], "max", r"criterion 1 is a benefit criterion, so best \(1.0\)"),
        ([1.0, 0.0], [0.0, 1.0], ["max", "max"], "criterion 1 is a benefit criterion"),
        ([1.0, 1.0], [0.0, 0.0], ["max", "min"], r"criterion 1 is a cost criterion"),
    ],
)
def test_bad_references_are_rejected(
    best: object, worst: object, benefit: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        topsis([[0.5, 0.5], [0.2, 0.7]], [1, 1], benefit, best=best, worst=worst)


def test_the_caller_s_arrays_are_not_modified() -> None:
    matrix = np.array([[1.0, 2.0], [3.0, 4.0]])
    weights = np.array([2.0, 2.0])
    before = (matrix.copy(), weights.copy())
    topsis(matrix, weights, "max", best=[2.0, 3.0], worst=[0.0, 0.0])
    assert np.array_equal(matrix, before[0])
    assert np.array_equal(weights, before[1])
