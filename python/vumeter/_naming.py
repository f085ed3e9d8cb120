"""Metric and label name rules: prometheus_client's.

Any UTF-8 name is accepted, as prometheus_client 0.22+ and Prometheus 3 accept it (only
the classic character set when prometheus_client's legacy validation is switched on);
exposition quotes or escapes such names by the scheme the scraper asks for. Families
with such names are remembered so that a render can tell in O(1), in the common case
of none, whether every name is a classic one.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import validation as _prometheus_validation

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# Families with a metric or label name outside the classic character set, and families
# with a ':' in their name (OpenMetrics' underscores scheme rewrites it).
_NON_LEGACY: weakref.WeakSet[Any] = weakref.WeakSet()
_WITH_COLON: weakref.WeakSet[Any] = weakref.WeakSet()


def _legacy_validation() -> bool:
    return bool(_prometheus_validation.get_legacy_validation())


def _check_utf8(name: str, error: str) -> None:
    # A lone surrogate cannot be written as UTF-8 into an exposition.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(error) from None


def is_legacy(name: str, labelnames: Iterable[str]) -> bool:
    """Whether a family's metric and label names are all in the classic character set."""
    # fullmatch: the patterns' "$" also matches before a final newline, which
    # prometheus_client's validation lets through but its renderers escape.
    return bool(METRIC_NAME_RE.fullmatch(name)) and all(
        LABEL_NAME_RE.fullmatch(n) for n in labelnames
    )


def note_names(family: Any, name: str, labelnames: Iterable[str]) -> None:
    """Remembers ``family`` when one of its names needs quoting or escaping."""
    if not is_legacy(name, labelnames):
        _NON_LEGACY.add(family)
    if ":" in name:
        _WITH_COLON.add(family)


def all_names_legacy(colons: bool = True) -> bool:
    """Whether every family of this process has classic names only (and, unless
    ``colons``, no ``:`` in its name)."""
    return not _NON_LEGACY and (colons or not _WITH_COLON)


def has_legacy_names(family: Any) -> bool:
    """Whether ``family``'s metric and label names are all classic ones (O(1))."""
    return not _NON_LEGACY or family not in _NON_LEGACY


def build_full_name(metric_type: str, name: str, namespace: str, subsystem: str, unit: str) -> str:
    """The family name prometheus_client would build, validated."""
    if not name:
        raise ValueError("Metric name should not be empty")
    for part, what in ((name, "name"), (namespace, "namespace"), (subsystem, "subsystem")):
        if not isinstance(part, str):
            raise TypeError(f"metric {what} must be str, not {type(part).__name__}")
    if not isinstance(unit, str):
        raise TypeError(f"metric unit must be str, not {type(unit).__name__}")
    full_name = "_".join(part for part in (namespace, subsystem, name) if part)
    if metric_type == "counter" and full_name.endswith("_total"):
        full_name = full_name[:-6]  # counters are named without _total (OpenMetrics)
    if unit and not full_name.endswith("_" + unit):
        full_name += "_" + unit
    if not full_name:  # "_total" alone, for a counter
        raise ValueError("metric name cannot be empty")
    if _legacy_validation() and not METRIC_NAME_RE.match(full_name):
        raise ValueError(
            f"Invalid metric name: {full_name!r}: expected letters, digits, '_' and ':' "
            "only, not starting with a digit (prometheus_client's legacy validation is on)"
        )
    _check_utf8(full_name, f"Invalid metric name: {full_name!r}: not encodable as UTF-8")
    return full_name


def validate_labelnames(
    labelnames: Iterable[str], reserved: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Checks label names and returns them as a tuple."""
    if isinstance(labelnames, str):
        raise TypeError(
            f"labelnames must be a sequence of str, not a str (did you mean ({labelnames!r},)?)"
        )
    names = tuple(labelnames)
    for label in names:
        if not isinstance(label, str):
            raise TypeError(f"label names must be str, not {type(label).__name__}")
        if _legacy_validation() and not LABEL_NAME_RE.match(label):
            raise ValueError(
                f"Invalid label metric name: {label!r}: expected letters, digits and '_' "
                "only, not starting with a digit (prometheus_client's legacy validation is on)"
            )
        _check_utf8(label, f"Invalid label metric name: {label!r}: not encodable as UTF-8")
        if label.startswith("__"):
            raise ValueError(
                f"Reserved label metric name: {label} (names starting __ are reserved)"
            )
        if label in reserved:
            raise ValueError(
                f"Reserved label metric name: {label} (this metric type adds it itself)"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"Duplicate label names in {names}")
    return names


def prepare_buckets(buckets: Iterable[float | str]) -> list[float]:
    """Bucket bounds as floats (strings such as '+Inf' are accepted, as prometheus_client does)."""
    try:
        bounds = [float(b) for b in buckets]
    except (TypeError, ValueError) as error:
        raise ValueError(f"Buckets must be numbers: {error}") from None
    if any(math.isnan(b) for b in bounds):
        raise ValueError("Buckets must be numbers, got NaN")
    return bounds
