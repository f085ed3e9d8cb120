"""TOPSIS: rank a batch of samples on several quality criteria at once.

TOPSIS (Technique for Order of Preference by Similarity to Ideal Solution, Hwang & Yoon, 1981)
scores each alternative (here: an audio sample) by how close it lies to the best value of every
criterion and how far from the worst, after vector normalisation and weighting. The result is
the *relative closeness* ``C = D- / (D+ + D-)`` in ``[0, 1]``; 1 means "best on every criterion".

Classic TOPSIS takes the best and worst values from the batch itself, so its scores are relative
to that batch: the median of every batch sits near 0.5 whatever the absolute quality. A
monitoring metric needs scores that are comparable across batches (an alert on the median must
see a drop in quality), so :func:`topsis` also accepts fixed ``best`` and ``worst`` reference
values in the criteria's own units. They are added to the batch as two reference alternatives,
values outside the range are clipped to it, and the references become the ideal and anti-ideal
solutions: a sample's score then depends only on its own measures and the batch's normalisation.

Everything is vectorised with numpy; bad input raises :class:`ValueError` that says what was
expected, before any work is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Direction", "TopsisSolution", "topsis", "topsis_solution"]

#: How one criterion is judged: ``True`` / ``"max"`` / ``"benefit"`` (higher is better) or
#: ``False`` / ``"min"`` / ``"cost"`` (lower is better).
Direction: TypeAlias = bool | Literal["max", "min", "benefit", "cost"]

_BENEFIT_WORDS = {"max": True, "benefit": True, "min": False, "cost": False}


@dataclass(frozen=True, slots=True)
class TopsisSolution:
    """Every intermediate result of one TOPSIS run, for reports and for checking the method.

    ``ideal`` and ``anti_ideal`` are points in the weighted, normalised criteria space (the
    positive and negative ideal solutions); the distances are Euclidean distances to them.
    """

    closeness: NDArray[np.float64]
    distance_to_ideal: NDArray[np.float64]
    distance_to_anti_ideal: NDArray[np.float64]
    ideal: NDArray[np.float64]
    anti_ideal: NDArray[np.float64]


def topsis(
    matrix: ArrayLike,
    weights: ArrayLike,
    benefit: Direction | Sequence[Direction],
    *,
    best: ArrayLike | None = None,
    worst: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Closeness of each row of ``matrix`` to the ideal solution, in ``[0, 1]``.

    Args:
        matrix: decision matrix, one row per sample and one column per criterion.
        weights: one non-negative weight per criterion; they are normalised to sum to 1.
        benefit: per criterion whether higher is better (``True``, ``"max"``, ``"benefit"``)
            or lower is better (``False``, ``"min"``, ``"cost"``); a single value applies to
            every criterion.
        best, worst: optional reference values per criterion in the criteria's units (for
            example ``best=(30.0, 1.0)``, ``worst=(-5.0, 0.0)`` for SNR in dB and STOI). Give
            both or neither. With them, scores are absolute (comparable across batches) and a
            batch may hold a single sample.

    Returns:
        A float64 array with one closeness score per row.

    Raises:
        ValueError: on a non-numeric, non-2-D, empty or non-finite matrix, weights that are
            not finite, negative, of the wrong length or summing to zero, a malformed
            ``benefit``, an all-zero or constant criterion (without references), or
            references that are inconsistent with ``benefit``.

    Example:
        >>> topsis([[250, 16, 12], [200, 16, 8], [300, 32, 16]], [1, 1, 1], ["min", "max", "max"])
        array([0.3..., 0.3..., 0.6...])
    """
    return topsis_solution(matrix, weights, benefit, best=best, worst=worst).closeness


def topsis_solution(
    matrix: ArrayLike,
    weights: ArrayLike,
    benefit: Direction | Sequence[Direction],
    *,
    best: ArrayLike | None = None,
    worst: ArrayLike | None = None,
) -> TopsisSolution:
    """Run TOPSIS like :func:`topsis` and return every intermediate result."""
    decision = _as_decision_matrix(matrix)
    n_samples, n_criteria = decision.shape
    weight_vector = _as_weights(weights, n_criteria)
    is_benefit = _as_directions(benefit, n_criteria)

    if (best is None) != (worst is None):
        raise ValueError("best and worst reference values go together: pass both or neither")
    if best is not None and worst is not None:
        best_row = _as_reference("best", best, n_criteria)
        worst_row = _as_reference("worst", worst, n_criteria)
        _check_references(best_row, worst_row, is_benefit)
        low = np.minimum(best_row, worst_row)
        high = np.maximum(best_row, worst_row)
        # The references are the extremes of the augmented matrix once the samples are clipped
        # into their range, so they become the ideal and anti-ideal solutions below.
        decision = np.vstack([np.clip(decision, low, high), best_row, worst_row])
    elif n_samples < 2:
        raise ValueError(
            "TOPSIS ranks alternatives against each other and needs at least 2 rows, got 1; "
            "pass best= and worst= reference values to score a single sample"
        )
    _check_columns_separate(decision)

    # Vector normalisation (Hwang & Yoon): r_ij = x_ij / ||x_j||, then weighting.
    weighted = decision / np.linalg.norm(decision, axis=0) * weight_vector
    column_max = weighted.max(axis=0)
    column_min = weighted.min(axis=0)
    ideal = np.where(is_benefit, column_max, column_min)
    anti_ideal = np.where(is_benefit, column_min, column_max)
    to_ideal = np.linalg.norm(weighted - ideal, axis=1)
    to_anti_ideal = np.linalg.norm(weighted - anti_ideal, axis=1)
    # The denominator is positive: every column separates its rows and at least one weight is
    # positive, so no row can coincide with both the ideal and the anti-ideal solution.
    closeness = to_anti_ideal / (to_ideal + to_anti_ideal)
    rows = slice(0, n_samples)
    return TopsisSolution(
        closeness=closeness[rows],
        distance_to_ideal=to_ideal[rows],
        distance_to_anti_ideal=to_anti_ideal[rows],
        ideal=ideal,
        anti_ideal=anti_ideal,
    )


def _as_numeric_array(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested sequences
        raise ValueError(f"{name} must be an array of real numbers: {error}") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def _as_decision_matrix(matrix: ArrayLike) -> NDArray[np.float64]:
    decision = _as_numeric_array("matrix", matrix)
    if decision.ndim != 2:
        raise ValueError(
            f"matrix must be 2-D (samples x criteria), got {decision.ndim}-D "
            f"with shape {decision.shape}"
        )
    if decision.shape[0] == 0 or decision.shape[1] == 0:
        raise ValueError(
            f"matrix must have at least one sample and one criterion, got shape {decision.shape}"
        )
    if not np.isfinite(decision).all():
        bad = np.argwhere(~np.isfinite(decision))[0]
        raise ValueError(
            f"matrix must be finite; row {bad[0]}, criterion {bad[1]} is {decision[bad[0], bad[1]]}"
        )
    return decision


def _as_weights(weights: ArrayLike, n_criteria: int) -> NDArray[np.float64]:
    vector = _as_numeric_array("weights", weights)
    if vector.ndim != 1 or vector.shape[0] != n_criteria:
        raise ValueError(
            f"weights must be a 1-D sequence with one weight per criterion ({n_criteria}), "
            f"got shape {vector.shape}"
        )
    if not np.isfinite(vector).all():
        raise ValueError(f"weights must be finite, got {vector.tolist()}")
    if (vector < 0).any():
        raise ValueError(f"weights must be non-negative, got {vector.tolist()}")
    total = float(vector.sum())
    if total <= 0:
        raise ValueError(f"weights must sum to a positive number, got {vector.tolist()}")
    return vector / total


def _as_directions(benefit: Direction | Sequence[Direction], n_criteria: int) -> NDArray[np.bool_]:
    if isinstance(benefit, str | bool | np.bool_):
        return np.full(n_criteria, _direction(benefit, "benefit"), dtype=bool)
    try:
        items = list(benefit)
    except TypeError:
        raise ValueError(
            "benefit must be a bool, 'max'/'min', or a sequence of them (one per criterion), "
            f"got {benefit!r}"
        ) from None
    if len(items) != n_criteria:
        raise ValueError(
            f"benefit must give one direction per criterion ({n_criteria}), got {len(items)}"
        )
    return np.array(
        [_direction(item, f"benefit[{index}]") for index, item in enumerate(items)], dtype=bool
    )


def _direction(value: object, where: str) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.lower() in _BENEFIT_WORDS:
        return _BENEFIT_WORDS[value.lower()]
    raise ValueError(
        f"{where} must be True/'max'/'benefit' (higher is better) or "
        f"False/'min'/'cost' (lower is better), got {value!r}"
    )


def _as_reference(name: str, value: ArrayLike, n_criteria: int) -> NDArray[np.float64]:
    row = _as_numeric_array(name, value)
    if row.ndim != 1 or row.shape[0] != n_criteria:
        raise ValueError(
            f"{name} must be a 1-D sequence with one value per criterion ({n_criteria}), "
            f"got shape {row.shape}"
        )
    if not np.isfinite(row).all():
        raise ValueError(f"{name} must be finite, got {row.tolist()}")
    return row


def _check_references(
    best: NDArray[np.float64], worst: NDArray[np.float64], is_benefit: NDArray[np.bool_]
) -> None:
    for index in range(best.shape[0]):
        if is_benefit[index] and not best[index] > worst[index]:
            raise ValueError(
                f"criterion {index} is a benefit criterion, so best ({best[index]}) must be "
                f"greater than worst ({worst[index]})"
            )
        if not is_benefit[index] and not best[index] < worst[index]:
            raise ValueError(
                f"criterion {index} is a cost criterion, so best ({best[index]}) must be "
                f"less than worst ({worst[index]})"
            )


def _check_columns_separate(decision: NDArray[np.float64]) -> None:
    zero = ~decision.any(axis=0)
    if zero.any():
        raise ValueError(
            f"criterion {int(np.argmax(zero))} is zero for every sample; vector normalisation "
            "needs at least one non-zero value per criterion"
        )
    constant = (decision == decision[0]).all(axis=0)
    if constant.any():
        index = int(np.argmax(constant))
        raise ValueError(
            f"criterion {index} has the same value ({decision[0, index]}) for every sample, so "
            "it cannot rank them; drop it, or pass best= and worst= reference values"
        )
