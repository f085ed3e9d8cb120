"""The vumeter Performance dashboard: latency, compute, memory, queues and telemetry health.

Issue 5 asks for latency p50/p95/p99 per operation, GPU and CPU utilization, process and GPU
memory trends, queue depths and worker counts. A last row shows whether the telemetry itself
works (scrape targets up, GPU poller up, Pushgateway push age), since every other panel
depends on it.
"""

from __future__ import annotations

from grafana_builders import (
    Dashboard,
    Panel,
    Query,
    Row,
    Threshold,
    selector,
    stat,
    timeseries,
)

ALL = selector()
JOB = selector(dataset=False)
LATENCY_BUCKETS = f"job_dataset_operation_le:audio_processing_duration_seconds_bucket:rate5m{ALL}"


def dashboard() -> Dashboard:
    return Dashboard(
        uid="vumeter-performance",
        title="vumeter / Performance",
        description="Latency, resource use, queues and telemetry health of vumeter workers.",
        rows=(
            Row("Latency", _latency()),
            Row("Compute", _compute()),
            Row("Memory", _memory()),
            Row("Queues and workers", _queues()),
            Row("Telemetry health", _telemetry()),
        ),
    )


def _latency_panel(quantile: float, label: str, extra: str) -> Panel:
    thresholds = (Threshold(10, "red"),) if quantile == 0.99 else ()
    return timeseries(
        f"Latency {label} by operation",
        f"{label} processing duration per operation over 5 minutes, across the selected "
        f"datasets (recording rule job_dataset_operation_le:audio_processing_duration_seconds"
        f"_bucket:rate5m).{extra}",
        "s",
        Query(
            f"histogram_quantile({quantile}, sum by (operation, le) ({LATENCY_BUCKETS}))",
            legend="{{operation}}",
        ),
        width=8,
        min=0,
        thresholds=thresholds,
    )


def _latency() -> tuple[Panel, ...]:
    return (
        _latency_panel(0.5, "p50", ""),
        _latency_panel(0.95, "p95", ""),
        _latency_panel(
            0.99, "p99", " The red line is the 10 s threshold of VumeterHighLatencyP99."
        ),
        timeseries(
            "Operations per second by operation",
            "Timed operations finished per second, per operation; the traffic behind the "
            "latency percentiles above.",
            "ops",
            Query(
                "sum by (operation) "
                f"(rate(audio_processing_duration_seconds_count{ALL}[$__rate_interval]))",
                legend="{{operation}}",
            ),
            width=24,
            min=0,
        ),
    )


def _compute() -> tuple[Panel, ...]:
    return (
        timeseries(
            "CPU utilization",
            "CPU time the worker process uses per second of wall time: 100 % is one fully "
            "busy core, so multi-threaded workers can exceed it.",
            "percentunit",
            Query(
                f"sum by (instance) (rate(process_cpu_seconds_total{JOB}[$__rate_interval]))",
                legend="{{instance}}",
            ),
            min=0,
        ),
        timeseries(
            "GPU utilization",
            "Share of time each GPU was busy running kernels during NVML's last sample period.",
            "percentunit",
            Query(
                f"max by (instance, gpu_id) (gpu_utilization_ratio{JOB})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            min=0,
            max=1,
        ),
        timeseries(
            "GPU temperature",
            "GPU core temperature; most data-centre GPUs throttle their clocks above 85 °C.",
            "celsius",
            Query(
                f"max by (instance, gpu_id) (gpu_temperature_celsius{JOB})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            thresholds=(Threshold(85, "red"),),
        ),
        timeseries(
            "GPU power draw",
            "Power each GPU draws; a GPU at full utilization but low power is often starved "
            "for input.",
            "watt",
            Query(
                f"max by (instance, gpu_id) (gpu_power_watts{JOB})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            min=0,
        ),
    )


def _memory() -> tuple[Panel, ...]:
    return (
        timeseries(
            "Process resident memory",
            "Resident set size of each worker process; a steady climb suggests a leak.",
            "bytes",
            Query(
                f"sum by (instance) (process_resident_memory_bytes{JOB})",
                legend="{{instance}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
            "GPU memory used and total",
            "Memory in use on each GPU and its total capacity.",
            "bytes",
            Query(
                f"max by (instance, gpu_id) (gpu_memory_usage_bytes{JOB})",
                legend="used {{instance}} GPU {{gpu_id}}",
            ),
            Query(
                f"max by (instance, gpu_id) (gpu_memory_total_bytes{JOB})",
                legend="total {{instance}} GPU {{gpu_id}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
            "GPU memory used ratio",
            "Share of each GPU's memory in use, both gauges reduced to the same labels before "
            "dividing. The red line is the 90 % threshold of VumeterGPUMemoryHigh.",
            "percentunit",
            Query(
                f"max by (job, instance, gpu_id) (gpu_memory_usage_bytes{JOB})"
                " / on (job, instance, gpu_id) "
                f"max by (job, instance, gpu_id) (gpu_memory_total_bytes{JOB})",
                legend="{{instance}} GPU {{gpu_id}}",
            ),
            width=8,
            min=0,
            max=1,
            thresholds=(Threshold(0.9, "red"),),
        ),
    )


def _queues() -> tuple[Panel, ...]:
    return (
        timeseries(
            "Queue depth",
            "Items waiting in each processing queue; a steady climb means samples arrive "
            "faster than they are processed (VumeterQueueBacklogGrowing).",
            "short",
            Query(
                f"sum by (queue_name) (audio_processing_queue_size{JOB})",
                legend="{{queue_name}}",
            ),
            min=0,
        ),
        timeseries(
            "Active workers",
            "Workers currently processing, by worker type.",
            "short",
            Query(
                f"sum by (worker_type) (audio_processing_active_workers{JOB})",
                legend="{{worker_type}}",
            ),
            min=0,
        ),
    )


def _telemetry() -> tuple[Panel, ...]:
    up_down = {"0": "down", "1": "up"}
    return (
        stat(
            "Scrape targets up",
            "Whether Prometheus' last scrape of each worker succeeded (VumeterWorkerDown fires "
            "after 5 minutes down). Workers that only push through the Pushgateway do not "
            "appear here.",
            "none",
            Query(f"up{JOB}", legend="{{instance}}"),
            width=8,
            base_color="red",
            thresholds=(Threshold(1, "green"),),
            value_text=up_down,
        ),
        stat(
            "GPU monitor up",
            "Whether each worker's NVML poller succeeded on its last poll "
            "(VumeterGPUMonitorDown fires after 5 minutes down).",
            "none",
            Query(f"vumeter_gpu_monitor_up{JOB}", legend="{{instance}}"),
            width=8,
            base_color="red",
            thresholds=(Threshold(1, "green"),),
            value_text=up_down,
        ),
        timeseries(
            "Time since last accepted push",
            "Seconds since the Pushgateway last accepted a push from each batch-job group. "
            "The red line is the 10-minute threshold of VumeterPushStale.",
            "s",
            Query(
                f"time() - max by (job, instance) (push_time_seconds{JOB})",
                legend="{{job}} {{instance}}",
            ),
            width=8,
            min=0,
            thresholds=(Threshold(600, "red"),),
        ),
        timeseries(
            "Telemetry failures",
            "Failed Pushgateway pushes and failed NVML polls per second, per worker. Both are "
            "retried in the background; a steady rate means metrics are going missing.",
            "ops",
            Query(
                f"sum by (instance) (rate(vumeter_push_failures_total{JOB}[$__rate_interval]))",
                legend="push {{instance}}",
            ),
            Query(
                f"sum by (instance) (rate(vumeter_gpu_poll_failures_total{JOB}[$__rate_interval]))",
                legend="GPU poll {{instance}}",
            ),
            width=24,
            min=0,
        ),
    )
