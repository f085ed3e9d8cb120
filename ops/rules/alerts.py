"""The alerting rules: five groups, eleven alerts, each with a ``severity`` label
(critical: act now; warning: act within hours) and ``summary``, ``description`` and
``runbook_url`` annotations (docs/alerts.md has a section per alert).

Thresholds, ``for`` durations, windows and the selector come from the configuration; the
promtool unit tests in alerts/tests/ pin the shipped values' boundaries.
"""

from __future__ import annotations

from typing import Any

from ops.config import OpsConfig
from ops.promql import duration_text, number, percent, selector, sum_durations
from ops.rules.model import Group, Rule

__all__ = ["alert_groups"]

VALUE_PERCENT = "{{ $value | humanizePercentage }}"
VALUE_DURATION = "{{ $value | humanizeDuration }}"
VALUE = "{{ $value }}"


def value_printf(format_: str) -> str:
    return f'{{{{ $value | printf "{format_}" }}}}'


def label(name: str) -> str:
    return f"{{{{ $labels.{name} }}}}"


def _alert(
    config: OpsConfig,
    name: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    comment: str = "",
) -> Rule:
    body: dict[str, Any] = {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": config.runbook(name),
        },
    }
    return Rule(body, comment)


def alert_groups(config: OpsConfig) -> list[Group]:
    return [
        Group("vumeter-availability", _availability(config)),
        Group("vumeter-processing", _processing(config)),
        Group("vumeter-quality", _quality(config)),
        Group("vumeter-gpu", _gpu(config)),
        Group("vumeter-telemetry", _telemetry(config)),
    ]


def _availability(config: OpsConfig) -> tuple[Rule, ...]:
    up = selector(config, "up")
    return (
        _alert(
            config,
            "VumeterWorkerDown",
            f"{up} == 0",
            config.worker_down_for,
            "critical",
            f"vumeter worker {label('instance')} is down",
            f"Prometheus has failed every scrape of {label('instance')} (job {label('job')}) "
            f"for {duration_text(config.worker_down_for)}: the worker or its /metrics endpoint "
            "is unreachable, so none of its metrics or alerts can be trusted.",
        ),
        _alert(
            config,
            "VumeterWorkersAbsent",
            f"absent({up})",
            config.workers_absent_for,
            "critical",
            "No vumeter worker targets are being scraped",
            f"No scrape target selected by {{{config.selector}}} has existed for "
            f"{duration_text(config.workers_absent_for)}. Service discovery or the scrape "
            "configuration has lost every worker.",
            comment="`up == 0` cannot fire for a target Prometheus no longer knows about "
            "(service discovery lost it, the scrape job was deleted); absent() covers that case.",
        ),
    )


def _processing(config: OpsConfig) -> tuple[Rule, ...]:
    window = config.rate_window
    processed = selector(config, "audio_samples_processed_total")
    failed = selector(config, "audio_samples_processed_total", 'status="error"')
    queue = selector(config, "audio_processing_queue_size")
    duration_buckets = selector(config, "audio_processing_duration_seconds_bucket")
    duration_count = selector(config, "audio_processing_duration_seconds_count")
    attempts = f"sum by (job, dataset) (rate({processed}[{window}]))"
    guard = number(config.min_attempts_per_second)
    return (
        _alert(
            config,
            "VumeterHighErrorRatio",
            "(\n"
            f"  sum by (job, dataset) (rate({failed}[{window}]))\n"
            "  /\n"
            f"  {attempts}\n"
            f") > {number(config.error_ratio)}\n"
            "and on (job, dataset)\n"
            f"{attempts} >= {guard}\n",
            config.error_ratio_for,
            "warning",
            f"{VALUE_PERCENT} of {label('dataset')} samples fail in {label('job')}",
            f"{VALUE_PERCENT} of the audio samples of dataset {label('dataset')} processed by "
            f"job {label('job')} ended in an error over the last "
            f"{duration_text(window)} (threshold {percent(config.error_ratio)}, sustained for "
            f"{duration_text(config.error_ratio_for)}).",
            comment="The share of attempts that failed, not a rate of errors per second: "
            f"`rate(audio_processing_errors_total[{window}]) > {number(config.error_ratio)}` "
            "fires on busy workers with a tiny error share and stays silent on quiet ones "
            f"failing every sample. The `and` arm (at least {guard} attempts/s) keeps a single "
            "failure on an idle dataset from paging.",
        ),
        _alert(
            config,
            "VumeterProcessingStalled",
            f"sum by (job, instance) ({queue}) > 0\n"
            "unless on (job, instance)\n"
            f"sum by (job, instance) (rate({processed}[{window}])) > 0\n",
            config.stalled_for,
            "critical",
            f"vumeter worker {label('instance')} stopped processing its queue",
            f"{label('instance')} (job {label('job')}) has {VALUE} queued items but has not "
            "finished a single sample, successfully or not, for "
            f"{duration_text(sum_durations(window, config.stalled_for))}.",
            comment="`unless ... > 0` rather than `and ... == 0`: a worker that has never "
            "finished a sample has no audio_samples_processed_total series at all, and `and` "
            "would drop it silently.",
        ),
        _alert(
            config,
            "VumeterQueueBacklogGrowing",
            f"deriv({queue}[{config.backlog_window}]) * 60 > "
            f"{number(config.backlog_growth_per_minute)}\n"
            "and\n"
            f"{queue} > {number(config.backlog_items)}\n",
            config.backlog_for,
            "warning",
            f"Queue {label('queue_name')} on {label('instance')} grows by "
            f"{value_printf('%.1f')} items/min",
            f"The {label('queue_name')} queue of {label('instance')} (job {label('job')}) has "
            f"grown by {value_printf('%.1f')} items per minute for "
            f"{duration_text(sum_durations(config.backlog_window, config.backlog_for))}: "
            "samples arrive faster than the workers finish them.",
            comment=f"deriv() fits a line through {duration_text(config.backlog_window)} of the "
            "gauge; `* 60` turns its per-second slope into items per minute. The size guard "
            "ignores small queues that fill and drain.",
        ),
        _alert(
            config,
            "VumeterHighLatencyP99",
            "histogram_quantile(0.99,\n"
            "  sum by (job, dataset, operation, le) (\n"
            f"    rate({duration_buckets}[{window}])\n"
            "  )\n"
            f") > {number(config.latency_p99_seconds)}\n"
            "and on (job, dataset, operation)\n"
            f"sum by (job, dataset, operation) (rate({duration_count}[{window}]))\n"
            f"  >= {guard}\n",
            config.latency_for,
            "warning",
            f"p99 latency of {label('operation')} on {label('dataset')} is {VALUE_DURATION}",
            f"The 99th percentile duration of operation {label('operation')} on dataset "
            f"{label('dataset')} (job {label('job')}) has been above "
            f"{number(config.latency_p99_seconds)} s for {duration_text(config.latency_for)}; "
            f"it is {VALUE_DURATION}.",
        ),
    )


def _quality(config: OpsConfig) -> tuple[Rule, ...]:
    window = config.quality_window
    buckets = selector(config, "audio_quality_score_bucket")
    count = selector(config, "audio_quality_score_count")
    guard = number(config.min_scores_per_second)
    threshold = number(config.median_quality)
    return (
        _alert(
            config,
            "VumeterLowQualityScore",
            "histogram_quantile(0.5,\n"
            f"  sum by (job, dataset, le) (rate({buckets}[{window}]))\n"
            f") < {threshold}\n"
            "and on (job, dataset)\n"
            f"sum by (job, dataset) (rate({count}[{window}])) >= {guard}\n",
            config.low_quality_for,
            "warning",
            f"Median quality score of {label('dataset')} is {value_printf('%.2f')}",
            f"The median TOPSIS quality score of dataset {label('dataset')} (job "
            f"{label('job')}) over {duration_text(window, adjective=True)} windows has stayed "
            f"below {threshold} for {duration_text(config.low_quality_for)}; it is "
            f"{value_printf('%.2f')}.",
            comment="A histogram exposes only _bucket, _sum and _count series, so "
            f"`histogram_quantile(0.5, audio_quality_score) < {threshold}` selects nothing and "
            "can never fire. The median comes from bucket rates summed by `le`; the `and` arm "
            f"requires at least {guard} scored samples/s.",
        ),
    )


def _gpu(config: OpsConfig) -> tuple[Rule, ...]:
    used = selector(config, "gpu_memory_usage_bytes")
    total = selector(config, "gpu_memory_total_bytes")
    return (
        _alert(
            config,
            "VumeterGPUMemoryHigh",
            f"max by (job, instance, gpu_id) ({used})\n"
            "/ on (job, instance, gpu_id)\n"
            f"max by (job, instance, gpu_id) ({total})\n"
            f"> {number(config.gpu_memory_ratio)}\n",
            config.gpu_memory_for,
            "critical",
            f"GPU {label('gpu_id')} on {label('instance')} is {VALUE_PERCENT} full",
            f"GPU {label('gpu_id')} of {label('instance')} (job {label('job')}) has used more "
            f"than {percent(config.gpu_memory_ratio)} of its memory for "
            f"{duration_text(config.gpu_memory_for)} ({VALUE_PERCENT}); the next large batch "
            "will fail with an out-of-memory error.",
            comment="`gpu_memory_usage_bytes / gpu_memory_total_bytes` matches series on all "
            "their labels: if the two gauges' label sets differ at all (a label added by "
            "relabelling or by one exporter), the division matches nothing and the alert is "
            "silently dead. Both sides are reduced to the same labels and matched on them.",
        ),
        _alert(
            config,
            "VumeterGPUMonitorDown",
            f"{selector(config, 'vumeter_gpu_monitor_up')} == 0",
            config.gpu_monitor_down_for,
            "warning",
            f"GPU monitoring on {label('instance')} is failing",
            f"The NVML poller of {label('instance')} (job {label('job')}) has reported down for "
            f"{duration_text(config.gpu_monitor_down_for)}, so the gpu_* metrics of this worker "
            "are stale or missing.",
        ),
    )


def _telemetry(config: OpsConfig) -> tuple[Rule, ...]:
    pushed = selector(config, "push_time_seconds")
    error_logs = selector(config, "vumeter_log_messages_total", 'level=~"(?i)error|critical|fatal"')
    return (
        _alert(
            config,
            "VumeterPushStale",
            f"time() - max by (job, instance) ({pushed}) > {number(config.push_stale_seconds)}\n",
            config.push_stale_for,
            "warning",
            f"Batch job {label('job')}/{label('instance')} last pushed {VALUE_DURATION} ago",
            f"The Pushgateway has not accepted metrics from job {label('job')}, instance "
            f"{label('instance')} for {VALUE_DURATION}: the job died without deleting its group, "
            "or its pushes fail.",
            comment="push_time_seconds is set by the Pushgateway on every accepted push to a "
            "group; a rejected push updates push_failure_time_seconds instead, so this also "
            "covers pushes the gateway refuses.",
        ),
        _alert(
            config,
            "VumeterErrorLogBurst",
            "sum by (job, instance) (\n"
            f"  rate({error_logs}[{config.rate_window}])\n"
            f") > {number(config.error_logs_per_second)}\n",
            config.error_log_burst_for,
            "warning",
            f"{label('instance')} logs {value_printf('%.1f')} errors per second",
            f"{label('instance')} (job {label('job')}) has logged more than "
            f"{number(config.error_logs_per_second)} messages per second at level error or "
            f"above for {duration_text(config.error_log_burst_for)} ({value_printf('%.1f')}/s).",
            comment="vumeter_log_messages_total is the log-based metric; level names are "
            'matched case-insensitively so both Python\'s "ERROR" and a lower-cased "error" '
            "count.",
        ),
    )
