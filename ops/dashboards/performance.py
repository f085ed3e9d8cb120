"""The vumeter Performance dashboard: latency, compute, memory, queues and telemetry health.

Latency p50/p95/p99 per operation, GPU and CPU utilization, process and GPU memory, queue
depths and worker counts. A last row shows whether the telemetry itself works (scrape
targets up, GPU poller up, Pushgateway push age), since every other panel depends on it.
"""

from __future__ import annotations

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as models

from ops.config import OpsConfig
from ops.dashboards.layout import Row, build
from ops.dashboards.panels import UP_DOWN, Query, Threshold, filters, stat_panel, timeseries
from ops.promql import as_duration, duration_text, number, percent
from ops.rules.recording import recorded_buckets

__all__ = ["FILE", "performance"]

FILE = "vumeter-performance.json"

_Panels = tuple[Builder[models.Panel], ...]


def performance(config: OpsConfig) -> models.Dashboard:
    return build(
        config,
        "vumeter-performance",
        "vumeter / Performance",
        "Latency, resource use, queues and telemetry health of vumeter workers.",
        (
            Row("Latency", _latency(config)),
            Row("Compute", _compute(config)),
            Row("Memory", _memory(config)),
            Row("Queues and workers", _queues(config)),
            Row("Telemetry health", _telemetry(config)),
        ),
    )


def _latency_panel(config: OpsConfig, quantile: float, label: str) -> Builder[models.Panel]:
    recorded = recorded_buckets(config, "audio_processing_duration_seconds")
    extra = ""
    thresholds: tuple[Threshold, ...] = ()
    if quantile == 0.99:
        threshold = number(config.latency_p99_seconds)
        extra = f" The red line is the {threshold} s threshold of VumeterHighLatencyP99."
        thresholds = (Threshold(config.latency_p99_seconds, "red"),)
    return timeseries(
        config,
        f"Latency {label} by operation",
        f"{label} processing duration per operation over {duration_text(config.rate_window)}, "
        f"across the selected datasets (recording rule {recorded}).{extra}",
        "s",
        Query(
            f"histogram_quantile({quantile}, sum by (operation, le) "
            f"({recorded}{filters(config, recorded=True)}))",
            legend="{{operation}}",
        ),
        width=8,
        min=0,
        thresholds=thresholds,
    )


def _native_latency_panel(config: OpsConfig) -> Builder[models.Panel]:
    """p50 and p99 from the native histogram, for a Prometheus that scrapes native
    histograms (docs/native-histograms.md); empty where it does not."""
    selector = f"audio_processing_duration_seconds{filters(config)}"
    return timeseries(
        config,
        "Latency p50 and p99 by operation (native histogram)",
        "The same percentiles from the native histogram buckets (schema 3: every estimate "
        "within 9 % of the exact value, whatever the range), over $__rate_interval. Has data "
        "only where Prometheus scrapes native histograms (scrape_native_histograms).",
        "s",
        *(
            Query(
                f"histogram_quantile({q}, sum by (operation) (rate({selector}[$__rate_interval])))",
                legend=f"{{{{operation}}}} {label}",
            )
            for q, label in ((0.5, "p50"), (0.99, "p99"))
        ),
        width=24,
        min=0,
    )


def _latency(config: OpsConfig) -> tuple[Builder[models.Panel], ...]:
    return (
        _latency_panel(config, 0.5, "p50"),
        _latency_panel(config, 0.95, "p95"),
        _latency_panel(config, 0.99, "p99"),
        _native_latency_panel(config),
        timeseries(
            config,
            "Operations per second by operation",
            "Timed operations finished per second, per operation; the traffic behind the "
            "latency percentiles above.",
            "ops",
            Query(
                "sum by (operation) (rate(audio_processing_duration_seconds_count"
                f"{filters(config)}[$__rate_interval]))",
                legend="{{operation}}",
            ),
            width=24,
            min=0,
        ),
    )


def _compute(config: OpsConfig) -> _Panels:
    job = filters(config, dataset=False)
    return (
        timeseries(
            config,
            "CPU utilization",
            "CPU time the worker process uses per second of wall time: 100 % is one fully "
            "busy core, so multi-threaded workers can exceed it.",
            "percentunit",
            Query(
                f"sum by (instance) (rate(process_cpu_seconds_total{job}[$__rate_interval]))",
                legend="{{instance}}",
            ),
            min=0,
        ),
        timeseries(
            config,
            "GPU utilization",
            "Share of time each GPU was busy running kernels during NVML's last sample period.",
            "percentunit",
            Query(
                f"max by (instance, gpu_id) (gpu_utilization_ratio{job})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            min=0,
            max=1,
        ),
        timeseries(
            config,
            "GPU temperature",
            "GPU core temperature; most data-centre GPUs throttle their clocks above "
            f"{number(config.gpu_temperature_celsius)} °C.",
            "celsius",
            Query(
                f"max by (instance, gpu_id) (gpu_temperature_celsius{job})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            thresholds=(Threshold(config.gpu_temperature_celsius, "red"),),
        ),
        timeseries(
            config,
            "GPU power draw",
            "Power each GPU draws; a GPU at full utilization but low power is often starved "
            "for input.",
            "watt",
            Query(
                f"max by (instance, gpu_id) (gpu_power_watts{job})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            min=0,
        ),
    )


def _memory(config: OpsConfig) -> _Panels:
    job = filters(config, dataset=False)
    return (
        timeseries(
            config,
            "Process resident memory",
            "Resident set size of each worker process; a steady climb suggests a leak.",
            "bytes",
            Query(f"sum by (instance) (process_resident_memory_bytes{job})", legend="{{instance}}"),
            width=8,
            min=0,
        ),
        timeseries(
            config,
            "GPU memory used and total",
            "Memory in use on each GPU and its total capacity.",
            "bytes",
            Query(
                f"max by (instance, gpu_id) (gpu_memory_usage_bytes{job})",
                legend="used {{instance}} GPU {{gpu_id}}",
            ),
            Query(
                f"max by (instance, gpu_id) (gpu_memory_total_bytes{job})",
                legend="total {{instance}} GPU {{gpu_id}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
            config,
            "GPU memory used ratio",
            "Share of each GPU's memory in use, both gauges reduced to the same labels before "
            f"dividing. The red line is the {percent(config.gpu_memory_ratio)} threshold of "
            "VumeterGPUMemoryHigh.",
            "percentunit",
            Query(
                f"max by (job, instance, gpu_id) (gpu_memory_usage_bytes{job})"
                " / on (job, instance, gpu_id) "
                f"max by (job, instance, gpu_id) (gpu_memory_total_bytes{job})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            width=8,
            min=0,
            max=1,
            thresholds=(Threshold(config.gpu_memory_ratio, "red"),),
        ),
    )


def _queues(config: OpsConfig) -> _Panels:
    job = filters(config, dataset=False)
    return (
        timeseries(
            config,
            "Queue depth",
            "Items waiting in each processing queue; a steady climb means samples arrive "
            "faster than they are processed (VumeterQueueBacklogGrowing).",
            "short",
            Query(
                f"sum by (queue_name) (audio_processing_queue_size{job})", legend="{{queue_name}}"
            ),
            min=0,
        ),
        timeseries(
            config,
            "Active workers",
            "Workers currently processing, by worker type.",
            "short",
            Query(
                f"sum by (worker_type) (audio_processing_active_workers{job})",
                legend="{{worker_type}}",
            ),
            min=0,
        ),
    )


def _telemetry(config: OpsConfig) -> _Panels:
    job = filters(config, dataset=False)
    return (
        stat_panel(
            config,
            "Scrape targets up",
            "Whether Prometheus' last scrape of each worker succeeded (VumeterWorkerDown fires "
            f"after {duration_text(config.worker_down_for)} down). Workers that only push "
            "through the Pushgateway do not appear here.",
            "none",
            Query(f"up{job}", legend="{{instance}}"),
            width=8,
            base_color="red",
            thresholds=(Threshold(1, "green"),),
            value_text=UP_DOWN,
        ),
        stat_panel(
            config,
            "GPU monitor up",
            "Whether each worker's NVML poller succeeded on its last poll "
            f"(VumeterGPUMonitorDown fires after {duration_text(config.gpu_monitor_down_for)} "
            "down).",
            "none",
            Query(f"vumeter_gpu_monitor_up{job}", legend="{{instance}}"),
            width=8,
            base_color="red",
            thresholds=(Threshold(1, "green"),),
            value_text=UP_DOWN,
        ),
        timeseries(
            config,
            "Time since last accepted push",
            "Seconds since the Pushgateway last accepted a push from each batch-job group. "
            "The red line is the "
            f"{duration_text(as_duration(config.push_stale_seconds), adjective=True)} "
            "threshold of VumeterPushStale.",
            "s",
            Query(
                f"time() - max by (job, instance) (push_time_seconds{job})",
                legend="{{job}} {{instance}}",
            ),
            width=8,
            min=0,
            thresholds=(Threshold(config.push_stale_seconds, "red"),),
        ),
        timeseries(
            config,
            "Telemetry failures",
            "Failed Pushgateway pushes and failed NVML polls per second, per worker. Both are "
            "retried in the background; a steady rate means metrics are going missing.",
            "ops",
            Query(
                f"sum by (instance) (rate(vumeter_push_failures_total{job}[$__rate_interval]))",
                legend="push {{instance}}",
            ),
            Query(
                f"sum by (instance) (rate(vumeter_gpu_poll_failures_total{job}[$__rate_interval]))",
                legend="GPU poll {{instance}}",
            ),
            width=24,
            min=0,
        ),
    )
