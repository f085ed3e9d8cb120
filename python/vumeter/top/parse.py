"""Exposition text -> metric families, in either format a ``/metrics`` endpoint may answer.

The format comes from the response's ``Content-Type``: ``application/openmetrics-text`` is
OpenMetrics 1.0 (with native histograms in prometheus_client's text form), anything else the
Prometheus text format 0.0.4. Families are grouped, named and typed as prometheus_client's
parsers do (a text-format counter ``x_total`` is family ``x``; samples without ``# TYPE``
are ``untyped`` or ``unknown``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as _openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as _text_families
from prometheus_client.samples import NativeHistogram

__all__ = ["Family", "Sample", "is_openmetrics", "parse_exposition"]


class Sample(NamedTuple):
    """One sample; ``value`` is None for a native histogram, which ``native`` holds."""

    name: str
    labels: Mapping[str, str]
    value: float | None
    native: NativeHistogram | None = None


class Family(NamedTuple):
    name: str
    type: str
    samples: list[Sample]


def is_openmetrics(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/openmetrics-text"


def parse_exposition(text: str, content_type: str | None) -> list[Family]:
    """Every family of ``text``; a malformed exposition raises ``ValueError``."""
    parse = _openmetrics_families if is_openmetrics(content_type) else _text_families
    try:
        return [
            Family(
                metric.name,
                metric.type,
                [
                    Sample(sample.name, sample.labels, sample.value, sample.native_histogram)
                    for sample in metric.samples
                ],
            )
            for metric in parse(text)
        ]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        # prometheus_client reports some malformed lines as bare ValueErrors or lookup errors.
        raise ValueError(f"malformed exposition: {error or type(error).__name__}") from error
