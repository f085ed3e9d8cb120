"""Metric and label name rules.

vumeter accepts only the classic Prometheus character set for names (what every
Prometheus and every exporter can read). prometheus_client 0.22+ accepts any UTF-8 name
and escapes it at exposition time; vumeter refuses such names up front instead, with
an error that says what was expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


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
    if not METRIC_NAME_RE.match(full_name):
        raise ValueError(
            f"Invalid metric name: {full_name!r}: expected letters, digits, '_' and ':' "
            "only, not starting with a digit"
        )
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
        if not LABEL_NAME_RE.match(label):
            raise ValueError(
                f"Invalid label metric name: {label!r}: expected letters, digits and '_' "
                "only, not starting with a digit"
            )
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
