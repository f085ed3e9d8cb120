"""Argument checks shared by the background workers, the server and the domain helpers.

Each raises ``TypeError`` for a value of the wrong kind and ``ValueError`` for one out of
range, with a message that names the argument, so a bad call fails where it is made.
"""

from __future__ import annotations

import math

__all__ = ["positive_int", "seconds"]


def seconds(argument: str, value: object, *, allow_zero: bool = False) -> float:
    """``value`` as a finite number of seconds, > 0 (or >= 0 with ``allow_zero``).

    ``bool`` is refused although it is an ``int``: ``timeout=True`` is a mistake.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{argument} must be a number of seconds, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{argument} must be a finite number of seconds {bound}, got {value!r}")
    return number


def positive_int(argument: str, value: object, *, maximum: int | None = None) -> int:
    """``value`` as an ``int`` >= 1 (and <= ``maximum`` when given); ``bool`` is refused."""
    if type(value) is not int or value < 1 or (maximum is not None and value > maximum):
        bound = ">= 1" if maximum is None else f"within 1..{maximum}"
        raise ValueError(f"{argument} must be an int {bound}, got {value!r}")
    return value
