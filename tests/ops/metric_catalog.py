"""Which series names a PromQL query in dashboards/ or alerts/ may name, and their labels.

The names come from the code that exports them, not from a list kept by hand
(`code_registry`): vumeter's audio catalog (`AudioProcessingMetrics`, which includes the GPU
monitor's metrics), the pusher's self-metrics, the log-based metric and the log shipping
counters, prometheus_client's process collector; plus the recording rules in alerts/ and the
series Prometheus and the Pushgateway add themselves. A metric that rules or panels must name
before its code exists is listed in `NOT_YET_EXPORTED`, and
tests/ops/test_metric_catalog.py fails as soon as the code exports it, so the list never
outlives its reason.

`SHARED_CONTRACT` is the catalog as agreed between the instrumentation and the dashboards;
tests/ops/test_metric_catalog.py checks the code still exports every one of them, so the
dashboards and alerts cannot drift from what workers expose.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, ProcessCollector

from vumeter import Histogram
from vumeter.audio import AudioProcessingMetrics
from vumeter.logs import LogMetricsHandler
from vumeter.logs.shipping import shipping_metrics
from vumeter.push import push_metrics_for

REPO = Path(__file__).resolve().parents[2]
RECORDING_RULES = REPO / "alerts" / "vumeter-recording.rules.yml"

# Series Prometheus and the Pushgateway create themselves, with the labels they carry.
SERVER_SIDE: dict[str, frozenset[str]] = {
    "up": frozenset(),
    "push_time_seconds": frozenset(),
    "push_failure_time_seconds": frozenset(),
}

# Named by rules or panels before the code exporting it exists (none now); an entry must go
# as soon as `code_registry` exports the metric (tests/ops/test_metric_catalog.py).
NOT_YET_EXPORTED: dict[str, frozenset[str]] = {}

# Metric -> labels, as agreed between the instrumentation and the dashboards. Histograms are
# listed by base name in SHARED_HISTOGRAMS; they expose `_bucket` (plus `le`), `_count` and
# `_sum` series.
SHARED_CONTRACT: dict[str, frozenset[str]] = {
    "audio_samples_processed_total": frozenset({"dataset", "processor", "status"}),
    "audio_processing_errors_total": frozenset({"dataset", "error_type", "severity"}),
    "audio_samples_excluded_total": frozenset({"dataset", "reason"}),
    "vumeter_push_failures_total": frozenset(),
    "vumeter_gpu_poll_failures_total": frozenset(),
    "audio_processing_duration_seconds": frozenset({"dataset", "operation"}),
    "audio_quality_score": frozenset({"dataset"}),
    "audio_snr_db": frozenset({"dataset"}),
    "audio_pesq_score": frozenset({"dataset"}),
    "audio_stoi_score": frozenset({"dataset"}),
    "audio_processing_queue_size": frozenset({"queue_name"}),
    "audio_processing_active_workers": frozenset({"worker_type"}),
    "gpu_memory_usage_bytes": frozenset({"gpu_id"}),
    "gpu_memory_total_bytes": frozenset({"gpu_id"}),
    "gpu_utilization_ratio": frozenset({"gpu_id"}),
    "gpu_temperature_celsius": frozenset({"gpu_id"}),
    "gpu_power_watts": frozenset({"gpu_id"}),
    "vumeter_gpu_monitor_up": frozenset(),
    "vumeter_last_push_success_timestamp_seconds": frozenset(),
    "vumeter_log_messages_total": frozenset({"level", "logger"}),
}
SHARED_HISTOGRAMS = frozenset(
    {
        "audio_processing_duration_seconds",
        "audio_quality_score",
        "audio_snr_db",
        "audio_pesq_score",
        "audio_stoi_score",
    }
)

_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def native_histogram_names(registry: CollectorRegistry) -> set[str]:
    """The vumeter histograms in `registry` with native buckets: a Prometheus that scrapes
    native histograms stores each as one series under the histogram's own name.

    Read from the registry's collectors (prometheus_client has no public way to list
    them), since the samples of a collect() are the same with native buckets or without.
    """
    collectors = list(registry._collector_to_names)
    return {
        collector._name
        for collector in collectors
        if isinstance(collector, Histogram) and collector._native_schema is not None
    }


def series_names_of(registry: CollectorRegistry) -> set[str]:
    """Every series name the metrics in `registry` expose, labelled or not.

    A labelled metric without children exposes no samples, so names are derived from each
    family's type: a counter `x` exposes `x_total`, a histogram `x` exposes `x_bucket`,
    `x_count` and `x_sum`, and `x` itself when it has native buckets.
    """
    names: set[str] = native_histogram_names(registry)
    for family in registry.collect():
        if family.type == "counter":
            names.add(family.name.removesuffix("_total") + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in _HISTOGRAM_SUFFIXES)
        else:
            names.add(family.name)
        names.update(sample.name for sample in family.samples if not _is_created(sample.name))
    return names


def _is_created(name: str) -> bool:
    # prometheus_client's `_created` timestamps are not something dashboards should query.
    return name.endswith("_created")


def code_registry() -> CollectorRegistry:
    """A registry holding every metric a vumeter worker's code can register."""
    registry = CollectorRegistry()
    AudioProcessingMetrics(registry=registry)
    push_metrics_for(registry)
    LogMetricsHandler(registry)
    shipping_metrics(registry)
    ProcessCollector(registry=registry)
    return registry


@functools.cache
def exported_series_names() -> frozenset[str]:
    """The series a vumeter worker (and the Prometheus stack around it) can expose."""
    return frozenset(
        series_names_of(code_registry())
        | set(SERVER_SIDE)
        | set(NOT_YET_EXPORTED)
        | recorded_names()
    )


def listed_but_exported(not_yet_exported: Iterable[str]) -> set[str]:
    """The names listed as not yet exported that the code exports after all."""
    return set(not_yet_exported) & series_names_of(code_registry())


@functools.cache
def recorded_names() -> frozenset[str]:
    """The series the recording rules in alerts/ produce."""
    document = yaml.safe_load(RECORDING_RULES.read_text(encoding="utf-8"))
    return frozenset(
        rule["record"]
        for group in document["groups"]
        for rule in group["rules"]
        if "record" in rule
    )


def labels_of(series: str) -> frozenset[str] | None:
    """The labels `series` carries besides job/instance, or None when it is not known.

    Recorded series carry the labels their level names (`job_dataset_le:...` -> job,
    dataset, le); histogram component series carry their histogram's labels.
    """
    if ":" in series:
        return frozenset(series.split(":", 1)[0].split("_"))
    for table in (SHARED_CONTRACT, NOT_YET_EXPORTED, SERVER_SIDE):
        if series in table:
            return table[series]
    for suffix in _HISTOGRAM_SUFFIXES:
        base = series.removesuffix(suffix)
        if base != series and base in SHARED_HISTOGRAMS:
            return SHARED_CONTRACT[base] | ({"le"} if suffix == "_bucket" else set())
    return None


def shared_series_names() -> frozenset[str]:
    """Every series name the shared contract promises, histograms expanded."""
    names: set[str] = set()
    for name in SHARED_CONTRACT:
        if name in SHARED_HISTOGRAMS:
            names.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
        else:
            names.add(name)
    return frozenset(names)
