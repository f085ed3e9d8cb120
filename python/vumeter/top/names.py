"""The metrics each panel of ``vumeter top`` reads: names and the labels it groups by.

They are the audio catalog's (``vumeter.audio.AudioProcessingMetrics``) and the GPU
monitor's (``vumeter.gpu.metrics``); a test checks them against a live catalog so they
cannot drift apart. Labels a panel does not group by are summed over; a sample without one
of the grouping labels is grouped under the empty value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["COUNTERS", "FAMILY_NAMES", "GAUGES", "HISTOGRAMS", "MetricSpec"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    #: The sample name of a counter or gauge; the family name of a histogram.
    name: str
    #: Labels kept, in this order; every other label is summed over.
    group_by: tuple[str, ...]


COUNTERS: Final = {
    "processed": MetricSpec("audio_samples_processed_total", ("dataset", "processor", "status")),
    "errors": MetricSpec("audio_processing_errors_total", ("error_type", "severity")),
}
HISTOGRAMS: Final = {
    "latency": MetricSpec("audio_processing_duration_seconds", ("operation",)),
    "quality": MetricSpec("audio_quality_score", ("dataset",)),
}
GAUGES: Final = {
    "gpu_used": MetricSpec("gpu_memory_usage_bytes", ("gpu_id",)),
    "gpu_total": MetricSpec("gpu_memory_total_bytes", ("gpu_id",)),
    "gpu_utilization": MetricSpec("gpu_utilization_ratio", ("gpu_id",)),
    "gpu_temperature": MetricSpec("gpu_temperature_celsius", ("gpu_id",)),
    "gpu_up": MetricSpec("vumeter_gpu_monitor_up", ()),
    "queue": MetricSpec("audio_processing_queue_size", ("queue_name",)),
    "workers": MetricSpec("audio_processing_active_workers", ("worker_type",)),
}


def _family_names() -> frozenset[str]:
    # As the parser names families: a counter's without `_total` once typed, its sample
    # name when it has no `# TYPE`; a histogram's own, or its `_bucket` series untyped.
    names: set[str] = set()
    for spec in COUNTERS.values():
        names.update((spec.name, spec.name.removesuffix("_total")))
    for spec in HISTOGRAMS.values():
        names.update((spec.name, spec.name + "_bucket"))
    names.update(spec.name for spec in GAUGES.values())
    return frozenset(names)


#: Every family name the panels can read; the parser builds only these.
FAMILY_NAMES: Final = _family_names()
