"""One poll of one endpoint, reduced to what the panels need (:class:`Reading`).

:class:`Reader` keeps the reset correction of one endpoint between polls: counters and
histogram buckets become totals that never go down (:mod:`vumeter.top.counters`), summed by
the labels each panel groups by (:mod:`vumeter.top.names`); gauges are taken as they are.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from vumeter.top.buckets import NativeBucketKey, native_bucket_counts
from vumeter.top.counters import MonotonicTotals
from vumeter.top.names import COUNTERS, GAUGES, HISTOGRAMS, MetricSpec
from vumeter.top.parse import Family, Sample

__all__ = ["Group", "HistogramTotals", "Reader", "Reading"]

#: The values of a panel's grouping labels, in :attr:`MetricSpec.group_by` order.
Group = tuple[str, ...]
_Triples = list[tuple[Hashable, Group, float]]
_ClassicTriples = list[tuple[Hashable, tuple[Group, float], float]]
_NativeTriples = list[tuple[Hashable, tuple[Group, NativeBucketKey], float]]


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
    return tuple(labels.get(name, "") for name in group_by)


def _le(labels: Mapping[str, str]) -> float | None:
    bound = labels.get("le")
    if bound is None:
        return None
    try:
        value = float(bound)
    except ValueError:
        return None
    return None if math.isnan(value) else value


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
        self._by_sample_name = self._dispatch_table()

    @staticmethod
    def _dispatch_table() -> dict[str, tuple[str, str, MetricSpec]]:
        table: dict[str, tuple[str, str, MetricSpec]] = {}
        for key, spec in COUNTERS.items():
            table[spec.name] = ("counter", key, spec)
        for key, spec in GAUGES.items():
            table[spec.name] = ("gauge", key, spec)
        for key, spec in HISTOGRAMS.items():
            table[spec.name + "_bucket"] = ("classic", key, spec)
            table[spec.name] = ("native", key, spec)
        return table

    def read(self, families: Iterable[Family], time: float) -> Reading:
        counters: dict[str, _Triples] = {key: [] for key in COUNTERS}
        classic: dict[str, _ClassicTriples] = {key: [] for key in HISTOGRAMS}
        native: dict[str, _NativeTriples] = {key: [] for key in HISTOGRAMS}
        gauges: dict[str, dict[Group, float]] = {}
        dispatch = self._by_sample_name
        for family in families:
            for sample in family.samples:
                route = dispatch.get(sample.name)
                if route is None:
                    continue
                kind, key, spec = route
                if kind == "native":
                    if sample.native is not None:
                        native[key].extend(_native_series(sample, spec))
                    continue
                value = sample.value
                if value is None:
                    continue
                labels = sample.labels
                if kind == "counter":
                    counters[key].append(
                        (tuple(labels.items()), _group(labels, spec.group_by), value)
                    )
                elif kind == "classic":
                    bound = _le(labels)
                    if bound is not None:
                        classic[key].append(
                            (tuple(labels.items()), (_group(labels, spec.group_by), bound), value)
                        )
                elif not math.isnan(value):  # a gauge
                    values = gauges.setdefault(key, {})
                    gauge_group = _group(labels, spec.group_by)
                    values[gauge_group] = values.get(gauge_group, 0.0) + value
        histograms: dict[str, dict[Group, HistogramTotals]] = {}
        for key in HISTOGRAMS:
            groups: dict[Group, HistogramTotals] = {}
            for (by, bound), total in self._classic[key].update(classic[key]).items():
                groups.setdefault(by, HistogramTotals()).classic[bound] = total
            for (by, bucket), total in self._native[key].update(native[key]).items():
                groups.setdefault(by, HistogramTotals()).native[bucket] = total
            if groups:
                histograms[key] = groups
        return Reading(
            time=time,
            counters={
                key: totals
                for key in COUNTERS
                if (totals := self._counters[key].update(counters[key]))
            },
            histograms=histograms,
            gauges=gauges,
        )


def _native_series(sample: Sample, spec: MetricSpec) -> _NativeTriples:
    histogram = sample.native
    assert histogram is not None
    counts = native_bucket_counts(
        histogram.schema,
        histogram.zero_threshold,
        histogram.zero_count,
        [(span.offset, span.length) for span in histogram.pos_spans or ()],
        histogram.pos_deltas or (),
        [(span.offset, span.length) for span in histogram.neg_spans or ()],
        histogram.neg_deltas or (),
    )
    series = tuple(sample.labels.items())
    group = _group(sample.labels, spec.group_by)
    return [((series, bucket), (group, bucket), count) for bucket, count in counts.items()]
