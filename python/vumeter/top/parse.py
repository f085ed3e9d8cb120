"""Exposition text -> metric families, in either format a ``/metrics`` endpoint may answer.

The format comes from the response's ``Content-Type``: ``application/openmetrics-text`` is
OpenMetrics 1.0 (with native histograms in prometheus_client's text form), anything else the
Prometheus text format 0.0.4. Families are grouped, named and typed as prometheus_client's
parsers do (a text-format counter ``x_total`` is family ``x``; samples without ``# TYPE``
are ``unknown``); ``tests/top/test_parse.py`` compares the two.

The parser is vumeter's native one (``vumeter._native.parse_exposition``): on a
10,000-series exposition it is about ten times faster than prometheus_client's text parser
(``benches/bench_top.py``), and prometheus_client's OpenMetrics parser, slower still, refuses
expositions that bend its rules (a histogram with negative bounds and no ``_sum``, as
vumeter writes them). Only the families the panels read are built as Python objects; every
line is still checked for syntax.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import NamedTuple, TypeAlias

from vumeter._native import parse_exposition as _parse_native

__all__ = ["Family", "NativeFields", "Sample", "is_openmetrics", "parse_exposition"]

#: A native histogram: ``(count, sum, schema, zero_threshold, zero_count, positive_spans,
#: positive_deltas, negative_spans, negative_deltas)``, spans as ``(offset, length)``.
NativeFields: TypeAlias = tuple[
    float,
    float,
    int,
    float,
    float,
    list[tuple[int, int]],
    list[int],
    list[tuple[int, int]],
    list[int],
]
#: ``(name, labels, value, native)``: ``value`` is None for a native histogram, which
#: ``native`` holds. Plain tuples, as the parser builds them: a poll has thousands.
Sample: TypeAlias = tuple[str, dict[str, str], float | None, NativeFields | None]


class Family(NamedTuple):
    name: str
    type: str
    samples: list[Sample]


def is_openmetrics(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/openmetrics-text"


def parse_exposition(
    text: str, content_type: str | None, only: AbstractSet[str] | None = None
) -> list[Family]:
    """Every family of ``text`` (with ``only``: those named in it, although every line is
    checked); a malformed line raises ``ValueError`` naming it."""
    families = _parse_native(text, openmetrics=is_openmetrics(content_type), only=only)
    return [Family(name, kind, samples) for name, kind, samples in families]
