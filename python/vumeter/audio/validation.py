"""Argument checks shared by the audio instrumentation helpers.

Every public helper validates all of its input before it records anything, so a bad call
raises a clear ``TypeError`` / ``ValueError`` and leaves the metrics untouched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# What the gauge and counter helpers accept: Python and numpy numbers (never bool).
Number = int | float | np.integer[Any] | np.floating[Any]
Integer = int | np.integer[Any]


def label_value(argument: str, value: object) -> str:
    """``value`` as a label value: a non-empty ``str``."""
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a non-empty str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{argument} must be a non-empty str, got ''")
    return value


def non_negative_number(argument: str, value: object) -> float:
    """``value`` as a finite float >= 0 (``bool`` is rejected: ``True`` is not a size)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{argument} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{argument} must be a finite number >= 0, got {value!r}")
    return number


def non_negative_int(argument: str, value: object) -> int:
    """``value`` as an ``int`` >= 0 (numpy integers accepted, ``bool`` and floats rejected)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{argument} must be an int, got {type(value).__name__}")
    number = int(value)
    if number < 0:
        raise ValueError(f"{argument} must be >= 0, got {number}")
    return number


def float_batch(
    argument: str,
    values: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> FloatArray:
    """``values`` as a contiguous 1-D float64 array of finite numbers within the bounds.

    Accepts numpy arrays and sequences of numbers; rejects scalars, 2-D input, strings,
    booleans, NaN and infinities with a message that names ``argument``.
    """
    if isinstance(values, str | bytes) or not isinstance(values, np.ndarray | Sequence):
        raise TypeError(
            f"{argument} must be a 1-D numpy array of floats, got {type(values).__name__}"
        )
    try:
        array = np.asarray(values)
    except ValueError as error:  # ragged nested sequences
        raise ValueError(f"{argument} must be a 1-D array of floats: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{argument} must be 1-D, got an array of shape {array.shape}")
    if array.size and not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise TypeError(f"{argument} must hold floats, got dtype {array.dtype}")
    batch = np.ascontiguousarray(array, dtype=np.float64)
    if batch.size == 0:
        return batch
    finite = np.isfinite(batch)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"{argument} must be finite, got {batch[index]} at index {index}")
    if minimum is not None and (low := float(batch.min())) < minimum:
        raise ValueError(f"{argument} must be >= {minimum}, got {low}")
    if maximum is not None and (high := float(batch.max())) > maximum:
        raise ValueError(f"{argument} must be <= {maximum}, got {high}")
    return batch
