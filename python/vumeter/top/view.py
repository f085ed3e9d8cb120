"""The numbers of every panel, computed from the endpoints' states (:func:`build_view`).

Pure data, no terminal: :mod:`vumeter.top.panels` draws it. Several endpoints add up:
rates and bucket increases are summed over workers, gauges are listed per worker. A panel
whose metrics no endpoint has is None and left out. Rates "now" are over the last poll
interval; averages, quantiles and the quality distribution over the sliding window (or, for
a one-off snapshot, over everything each worker counted since it started).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from vumeter.top import thresholds
from vumeter.top.buckets import Cumulative, bucket_counts, fraction_below, merge, quantile
from vumeter.top.endpoint import EndpointState
from vumeter.top.reading import Group, Reading
from vumeter.top.window import Increase, counter_increase, histogram_increase

__all__ = [
    "ErrorRatio",
    "ErrorsPanel",
    "GPUPanel",
    "GPURow",
    "GaugeRow",
    "LatencyRow",
    "QualityRow",
    "StatusRates",
    "ThroughputRow",
    "View",
    "build_view",
]

Distributions = Literal["window", "since_start"]
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class StatusRates:
    #: Per second over the last poll interval, and averaged over the window.
    now: float | None
    average: float | None
    total: float


@dataclass(frozen=True, slots=True)
class ThroughputRow:
    dataset: str
    processor: str
    by_status: dict[str, StatusRates]


@dataclass(frozen=True, slots=True)
class LatencyRow:
    operation: str
    per_second: float | None
    #: p50, p95, p99 in seconds; None: no observation in the window.
    quantiles: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class QualityRow:
    dataset: str
    observations: float
    #: ``(upper bound, count)`` per bucket, ``+Inf`` last.
    counts: list[tuple[float, float]]
    median: float | None
    share_below_threshold: float | None

    @property
    def alerting(self) -> bool:
        return self.median is not None and self.median < thresholds.LOW_QUALITY_MEDIAN


@dataclass(frozen=True, slots=True)
class ErrorRatio:
    dataset: str
    ratio: float | None
    attempts_per_second: float | None

    @property
    def alerting(self) -> bool:
        return (
            self.ratio is not None
            and self.attempts_per_second is not None
            and self.ratio > thresholds.ERROR_RATIO
            and self.attempts_per_second >= thresholds.ERROR_RATIO_MIN_ATTEMPTS_PER_SECOND
        )


@dataclass(frozen=True, slots=True)
class ErrorsPanel:
    #: ``(error_type, severity)`` -> rates; None where the error counter is absent.
    by_type: dict[tuple[str, str], StatusRates] | None
    ratios: list[ErrorRatio]


@dataclass(frozen=True, slots=True)
class GPURow:
    endpoint: str
    gpu_id: str
    used_bytes: float | None
    total_bytes: float | None
    utilization: float | None
    temperature: float | None

    @property
    def used_share(self) -> float | None:
        if self.used_bytes is None or not self.total_bytes:
            return None
        return self.used_bytes / self.total_bytes


@dataclass(frozen=True, slots=True)
class GPUPanel:
    rows: list[GPURow]
    #: Endpoints whose GPU monitor reports down (``vumeter_gpu_monitor_up`` is 0).
    monitoring_down: list[str]


@dataclass(frozen=True, slots=True)
class GaugeRow:
    endpoint: str
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class View:
    endpoints: list[EndpointState]
    #: Seconds the window spans now (the newest minus the oldest reading, largest endpoint).
    window_seconds: float | None
    distributions: Distributions
    throughput: list[ThroughputRow] | None
    latency: list[LatencyRow] | None
    quality: list[QualityRow] | None
    errors: ErrorsPanel | None
    gpu: GPUPanel | None
    queues: list[GaugeRow] | None
    workers: list[GaugeRow] | None


def _rate_sum(
    spans: Sequence[Increase | None], values: Callable[[Increase], dict[Group, float]]
) -> dict[Group, float]:
    rates: dict[Group, float] = {}
    for span in spans:
        if span is None or span.seconds <= 0:
            continue
        for group, increase in values(span).items():
            rates[group] = rates.get(group, 0.0) + increase / span.seconds
    return rates


def _counter_rates(states: Sequence[EndpointState], key: str) -> dict[Group, StatusRates]:
    now = _rate_sum([s.last_step for s in states], lambda span: counter_increase(span, key))
    average = _rate_sum([s.over_window for s in states], lambda span: counter_increase(span, key))
    totals: dict[Group, float] = {}
    for state in states:
        if state.newest is not None:
            for group, total in state.newest.counters.get(key, {}).items():
                totals[group] = totals.get(group, 0.0) + total
    # Before a second reading there is no rate at all; after it, a group that did not
    # move has a rate of zero.
    default = 0.0 if any(s.last_step is not None for s in states) else None
    return {
        group: StatusRates(
            now=now.get(group, default), average=average.get(group, default), total=total
        )
        for group, total in totals.items()
    }


def _distributions(
    states: Sequence[EndpointState], key: str, mode: Distributions
) -> tuple[dict[Group, Cumulative], float]:
    """Merged bucket increases per group, and the longest span they cover (seconds)."""
    per_group: dict[Group, list[Cumulative]] = {}
    seconds = 0.0
    for state in states:
        span = state.over_window if mode == "window" else state.since_start
        if span is None:
            # One reading: the groups are known, their distributions not yet.
            if state.newest is not None:
                for group in state.newest.histograms.get(key, {}):
                    per_group.setdefault(group, [])
            continue
        seconds = max(seconds, span.seconds)
        for group, cumulative in histogram_increase(span, key).items():
            per_group.setdefault(group, []).append(cumulative)
    return {group: merge(lists) for group, lists in per_group.items()}, seconds


def _has(states: Sequence[EndpointState], present: Callable[[Reading], bool]) -> bool:
    return any(s.newest is not None and present(s.newest) for s in states)


def _throughput(states: Sequence[EndpointState]) -> list[ThroughputRow] | None:
    if not _has(states, lambda r: "processed" in r.counters):
        return None
    rows: dict[tuple[str, str], dict[str, StatusRates]] = {}
    for (dataset, processor, status), rates in _counter_rates(states, "processed").items():
        rows.setdefault((dataset, processor), {})[status] = rates
    return [
        ThroughputRow(dataset, processor, by_status)
        for (dataset, processor), by_status in sorted(rows.items())
    ]


def _latency(states: Sequence[EndpointState], mode: Distributions) -> list[LatencyRow] | None:
    if not _has(states, lambda r: "latency" in r.histograms):
        return None
    groups, _ = _distributions(states, "latency", mode)
    # Operations per second: the +Inf bucket's increase over the window, whatever span
    # the quantiles cover.
    recent, seconds = _distributions(states, "latency", "window")
    rows = []
    for group, cumulative in sorted(groups.items()):
        latest = recent.get(group)
        observations = latest[-1][1] if latest else 0.0
        rows.append(
            LatencyRow(
                operation=group[0],
                per_second=observations / seconds if seconds > 0 else None,
                quantiles=tuple(quantile(q, cumulative) for q in QUANTILES),
            )
        )
    return rows


def _quality(states: Sequence[EndpointState], mode: Distributions) -> list[QualityRow] | None:
    if not _has(states, lambda r: "quality" in r.histograms):
        return None
    groups, _ = _distributions(states, "quality", mode)
    return [
        QualityRow(
            dataset=dataset,
            observations=cumulative[-1][1] if cumulative else 0.0,
            counts=bucket_counts(cumulative),
            median=quantile(0.5, cumulative),
            share_below_threshold=fraction_below(thresholds.LOW_QUALITY_MEDIAN, cumulative),
        )
        for (dataset,), cumulative in sorted(groups.items())
    ]


def _errors(states: Sequence[EndpointState]) -> ErrorsPanel | None:
    has_errors = _has(states, lambda r: "errors" in r.counters)
    if not (has_errors or _has(states, lambda r: "processed" in r.counters)):
        return None
    # The ratio is the alert's: failed attempts over all attempts, over the window.
    attempts: dict[str, float] = {}
    failed: dict[str, float] = {}
    windowed = [s.over_window for s in states]
    for (dataset, _, status), rate in _rate_sum(
        windowed, lambda span: counter_increase(span, "processed")
    ).items():
        attempts[dataset] = attempts.get(dataset, 0.0) + rate
        if status == "error":
            failed[dataset] = failed.get(dataset, 0.0) + rate
    datasets = sorted(
        {
            group[0]
            for state in states
            if state.newest is not None
            for group in state.newest.counters.get("processed", {})
        }
    )
    ratios = [
        ErrorRatio(
            dataset=dataset,
            ratio=failed.get(dataset, 0.0) / attempts[dataset] if attempts.get(dataset) else None,
            attempts_per_second=attempts.get(dataset),
        )
        for dataset in datasets
    ]
    by_type: dict[tuple[str, str], StatusRates] | None = None
    if has_errors:
        rates = _counter_rates(states, "errors")
        by_type = {(group[0], group[1]): rates[group] for group in sorted(rates)}
    return ErrorsPanel(by_type=by_type, ratios=ratios)


def _gauge(reading: Reading, key: str, group: Group) -> float | None:
    return reading.gauges.get(key, {}).get(group)


def _gpu(states: Sequence[EndpointState]) -> GPUPanel | None:
    keys = ("gpu_used", "gpu_total", "gpu_utilization", "gpu_temperature", "gpu_up")
    if not _has(states, lambda r: any(key in r.gauges for key in keys)):
        return None
    rows: list[GPURow] = []
    down: list[str] = []
    for state in states:
        reading = state.newest
        if reading is None:
            continue
        if _gauge(reading, "gpu_up", ()) == 0:
            down.append(state.url)
        gpu_ids = {
            group[0]
            for key in ("gpu_used", "gpu_total", "gpu_utilization", "gpu_temperature")
            for group in reading.gauges.get(key, {})
        }
        for gpu_id in sorted(gpu_ids, key=lambda g: (len(g), g)):
            rows.append(
                GPURow(
                    endpoint=state.url,
                    gpu_id=gpu_id,
                    used_bytes=_gauge(reading, "gpu_used", (gpu_id,)),
                    total_bytes=_gauge(reading, "gpu_total", (gpu_id,)),
                    utilization=_gauge(reading, "gpu_utilization", (gpu_id,)),
                    temperature=_gauge(reading, "gpu_temperature", (gpu_id,)),
                )
            )
    return GPUPanel(rows=rows, monitoring_down=down)


def _gauge_rows(states: Sequence[EndpointState], key: str) -> list[GaugeRow] | None:
    if not _has(states, lambda r: key in r.gauges):
        return None
    return [
        GaugeRow(endpoint=state.url, name=group[0], value=value)
        for state in states
        if state.newest is not None
        for group, value in sorted(state.newest.gauges.get(key, {}).items())
    ]


def build_view(states: Sequence[EndpointState], distributions: Distributions = "window") -> View:
    """Every panel's numbers from the endpoints' current states."""
    spans = [s.over_window.seconds for s in states if s.over_window is not None]
    return View(
        endpoints=list(states),
        window_seconds=max(spans) if spans else None,
        distributions=distributions,
        throughput=_throughput(states),
        latency=_latency(states, distributions),
        quality=_quality(states, distributions),
        errors=_errors(states),
        gpu=_gpu(states),
        queues=_gauge_rows(states, "queue"),
        workers=_gauge_rows(states, "workers"),
    )
