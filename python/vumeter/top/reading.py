"""One poll of one endpoint, reduced to what the panels need (:class:`Reading`).

:class:`Reader` keeps the reset correction of one endpoint between polls: counters and
histogram buckets become totals that never go down (:mod:`vumeter.top.counters`), summed by
the labels each panel groups by (:mod:`vumeter.top.names`); gauges are taken as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from vumeter.top.buckets import NativeBucketKey, native_bucket_counts
from vumeter.top.counters import MonotonicTotals
from vumeter.top.names import COUNTERS, GAUGES, HISTOGRAMS, MetricSpec
from vumeter.top.parse import Family, NativeFields, Sample

__all__ = ["Group", "HistogramTotals", "Reader", "Reading"]

#: The values of a panel's grouping labels, in :attr:`MetricSpec.group_by` order.
Group = tuple[str, ...]
_Labels = Mapping[str, str]
_Triples = list[tuple[Hashable, float, _Labels]]
_NativeTriples = list[tuple[Hashable, float, tuple[_Labels, NativeBucketKey]]]


@dataclass(frozen=True, slots=True)
class HistogramTotals:
    """Reset-corrected bucket totals of one group: classic ``le`` bound -> cumulative count,
    and native bucket -> count."""

    classic: dict[float, float] = field(default_factory=dict)
    native: dict[NativeBucketKey, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reading:
    """What one successful poll of one endpoint saw."""

    #: ``time.monotonic()`` when the response arrived.
    time: float
    #: Counter key (``names.COUNTERS``) -> group -> reset-corrected total.
    counters: dict[str, dict[Group, float]]
    #: Histogram key (``names.HISTOGRAMS``) -> group -> bucket totals.
    histograms: dict[str, dict[Group, HistogramTotals]]
    #: Gauge key (``names.GAUGES``) -> group -> value (summed over other labels).
    gauges: dict[str, dict[Group, float]]


def _group(labels: Mapping[str, str], group_by: tuple[str, ...]) -> Group:
    return tuple([labels.get(name, "") for name in group_by])


# Bucket bounds repeat in every poll: parse each spelling once.
_BOUNDS: dict[str, float | None] = {}


def _le(labels: Mapping[str, str]) -> float | None:
    text = labels.get("le")
    if text is None:
        return None
    try:
        return _BOUNDS[text]
    except KeyError:
        pass
    try:
        bound: float | None = float(text)
    except ValueError:
        bound = None
    if bound is not None and math.isnan(bound):
        bound = None
    if len(_BOUNDS) < 4096:
        _BOUNDS[text] = bound
    return bound


class _Route(NamedTuple):
    kind: str  # "counter", "gauge" or "histogram"
    key: str
    spec: MetricSpec


def _routes() -> dict[str, _Route]:
    """Family name (as the parser names it) -> what to do with its samples."""
    routes: dict[str, _Route] = {}
    for key, spec in COUNTERS.items():
        route = _Route("counter", key, spec)
        routes[spec.name] = routes[spec.name.removesuffix("_total")] = route
    for key, spec in GAUGES.items():
        routes[spec.name] = _Route("gauge", key, spec)
    for key, spec in HISTOGRAMS.items():
        routes[spec.name] = routes[spec.name + "_bucket"] = _Route("histogram", key, spec)
    return routes


_ROUTES: Final = _routes()


class Reader:
    """Turns the families of successive polls of one endpoint into :class:`Reading` s."""

    def __init__(self) -> None:
        self._counters: dict[str, MonotonicTotals[Group]] = {
            key: MonotonicTotals() for key in COUNTERS
        }
        self._classic: dict[str, MonotonicTotals[tuple[Group, float]]] = {
            key: MonotonicTotals() for key in HISTOGRAMS
        }
        self._native: dict[str, MonotonicTotals[tuple[Group, NativeBucketKey]]] = {
            key: MonotonicTotals() for key in HISTOGRAMS
        }

    def read(self, families: Iterable[Family], time: float) -> Reading:
        counters: dict[str, _Triples] = {key: [] for key in COUNTERS}
        classic: dict[str, _Triples] = {key: [] for key in HISTOGRAMS}
        native: dict[str, _NativeTriples] = {key: [] for key in HISTOGRAMS}
        gauges: dict[str, dict[Group, float]] = {}
        for family in families:
            route = _ROUTES.get(family.name)
            if route is None:
                continue
            kind, key, spec = route
            group_by = spec.group_by
            if kind == "counter":
                _counter_samples(family.samples, spec.name, counters[key])
            elif kind == "histogram":
                bucket_name = spec.name + "_bucket"
                triples = classic[key]
                for name, labels, value, fields in family.samples:
                    if fields is not None:
                        native[key].extend(_native_series(labels, fields))
                    elif name == bucket_name and value is not None:
                        triples.append((tuple(labels.values()), value, labels))
            else:
                values = gauges.setdefault(key, {})
                for name, labels, value, _ in family.samples:
                    if name == spec.name and value is not None and not math.isnan(value):
                        group = _group(labels, group_by)
                        values[group] = values.get(group, 0.0) + value
        histograms: dict[str, dict[Group, HistogramTotals]] = {}
        for key, spec in HISTOGRAMS.items():
            by_labels = _group_and_bound(spec.group_by)
            by_bucket = _group_and_bucket(spec.group_by)
            groups: dict[Group, HistogramTotals] = {}
            for (by, bound), total in self._classic[key].update(classic[key], by_labels).items():
                groups.setdefault(by, HistogramTotals()).classic[bound] = total
            for (by, bucket), total in self._native[key].update(native[key], by_bucket).items():
                groups.setdefault(by, HistogramTotals()).native[bucket] = total
            if groups:
                histograms[key] = groups
        counter_totals = {}
        for key, spec in COUNTERS.items():
            totals = self._counters[key].update(counters[key], _grouper(spec.group_by))
            if totals:
                counter_totals[key] = totals
        return Reading(time=time, counters=counter_totals, histograms=histograms, gauges=gauges)


def _grouper(group_by: tuple[str, ...]) -> Callable[[_Labels], Group]:
    return lambda labels: _group(labels, group_by)


def _group_and_bound(group_by: tuple[str, ...]) -> Callable[[_Labels], tuple[Group, float] | None]:
    def group_of(labels: _Labels) -> tuple[Group, float] | None:
        bound = _le(labels)
        return None if bound is None else (_group(labels, group_by), bound)

    return group_of


def _group_and_bucket(
    group_by: tuple[str, ...],
) -> Callable[[tuple[_Labels, NativeBucketKey]], tuple[Group, NativeBucketKey]]:
    return lambda labelled: (_group(labelled[0], group_by), labelled[1])


def _counter_samples(samples: Iterable[Sample], name: str, into: _Triples) -> None:
    for sample_name, labels, value, _ in samples:
        if sample_name == name and value is not None:
            into.append((tuple(labels.values()), value, labels))


def _native_series(labels: _Labels, fields: NativeFields) -> _NativeTriples:
    _, _, schema, zero_threshold, zero_count, positive, pos_deltas, negative, neg_deltas = fields
    counts = native_bucket_counts(
        schema, zero_threshold, zero_count, positive, pos_deltas, negative, neg_deltas
    )
    series = tuple(labels.items())
    return [((series, bucket), count, (labels, bucket)) for bucket, count in counts.items()]
