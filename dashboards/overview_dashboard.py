"""The vumeter Overview dashboard: throughput, errors and quality at a glance.

Issue 5 asks for samples processed by dataset, the processing rate, error rates by type and
severity, and the quality score distribution. Thresholds drawn on panels match the alerts in
alerts/vumeter-alerts.rules.yml, so a line crossing them explains a firing alert.
"""

from __future__ import annotations

from grafana_builders import (
    Dashboard,
    Panel,
    Query,
    Row,
    Threshold,
    bargauge,
    heatmap,
    selector,
    stat,
    timeseries,
)

ALL = selector()
ERRORS = selector('status="error"')


def dashboard() -> Dashboard:
    return Dashboard(
        uid="vumeter-overview",
        title="vumeter / Overview",
        description="Throughput, errors and quality of vumeter audio-processing workers.",
        rows=(
            Row("Totals in the time range", _totals()),
            Row("Throughput", _throughput()),
            Row("Errors", _errors()),
            Row("Quality", _quality()),
        ),
    )


def _totals() -> tuple[Panel, ...]:
    return (
        stat(
            "Samples processed",
            "Audio samples finished in the selected time range, successful or not.",
            "short",
            Query(f"sum(increase(audio_samples_processed_total{ALL}[$__range]))", instant=True),
            width=6,
            height=4,
        ),
        stat(
            "Error ratio",
            "Share of the samples finished in the time range that ended in an error. "
            "VumeterHighErrorRatio fires above 5 % sustained over 10 minutes.",
            "percentunit",
            Query(
                # `or vector(0)`: a time range without errors shows 0 %, not "No data".
                f"(sum(increase(audio_samples_processed_total{ERRORS}[$__range])) or vector(0))"
                f" / sum(increase(audio_samples_processed_total{ALL}[$__range]))",
                instant=True,
            ),
            width=6,
            height=4,
            thresholds=(Threshold(0.05, "red"),),
        ),
        stat(
            "Median quality score",
            "Median TOPSIS quality score (0 worst, 1 best) of the samples scored in the time "
            "range. VumeterLowQualityScore fires below 0.5.",
            "none",
            Query(
                "histogram_quantile(0.5, sum by (le) "
                f"(increase(audio_quality_score_bucket{ALL}[$__range])))",
                instant=True,
            ),
            width=6,
            height=4,
            min=0,
            max=1,
            thresholds=(Threshold(0.5, "green"),),
            base_color="red",
        ),
        stat(
            "Samples excluded",
            "Samples excluded from processing (too short, too noisy, unreadable, ...) in the "
            "time range; the Quality dashboard breaks them down by reason.",
            "short",
            Query(f"sum(increase(audio_samples_excluded_total{ALL}[$__range]))", instant=True),
            width=6,
            height=4,
        ),
    )


def _throughput() -> tuple[Panel, ...]:
    return (
        bargauge(
            "Samples processed by dataset",
            "Audio samples finished per dataset in the selected time range, successful or not.",
            "short",
            Query(
                f"sum by (dataset) (increase(audio_samples_processed_total{ALL}[$__range]))",
                legend="{{dataset}}",
                instant=True,
            ),
            width=8,
        ),
        timeseries(
            "Processing rate by dataset",
            "Samples finished per second, per dataset, successful or not.",
            "ops",
            Query(
                f"sum by (dataset) (rate(audio_samples_processed_total{ALL}[$__rate_interval]))",
                legend="{{dataset}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
            "Processing rate by processor and status",
            "Samples finished per second by processor (pipeline stage), split into success "
            "and error.",
            "ops",
            Query(
                "sum by (processor, status) "
                f"(rate(audio_samples_processed_total{ALL}[$__rate_interval]))",
                legend="{{processor}} {{status}}",
            ),
            width=8,
            min=0,
        ),
    )


def _errors() -> tuple[Panel, ...]:
    return (
        timeseries(
            "Error ratio by dataset",
            "Share of attempts that ended in an error over 5 minutes, per job and dataset "
            "(recording rule job_dataset:audio_samples_processed_errors:ratio_rate5m). The red "
            "line is the 5 % threshold of VumeterHighErrorRatio.",
            "percentunit",
            Query(
                f"job_dataset:audio_samples_processed_errors:ratio_rate5m{ALL}",
                legend="{{job}} {{dataset}}",
            ),
            min=0,
            thresholds=(Threshold(0.05, "red"),),
        ),
        timeseries(
            "Errors by type and severity",
            "Processing errors per second by exception type and severity, across the "
            "selected datasets.",
            "ops",
            Query(
                "sum by (error_type, severity) "
                f"(rate(audio_processing_errors_total{ALL}[$__rate_interval]))",
                legend="{{error_type}} ({{severity}})",
            ),
            min=0,
        ),
    )


def _quality() -> tuple[Panel, ...]:
    return (
        heatmap(
            "Quality score distribution",
            "How many samples per second land in each TOPSIS quality score bucket (0 worst, "
            "1 best); a band sliding down means quality is dropping.",
            "none",
            Query(
                f"sum by (le) (rate(audio_quality_score_bucket{ALL}[$__rate_interval]))",
                legend="{{le}}",
            ),
        ),
        timeseries(
            "Median quality score by dataset",
            "Median TOPSIS quality score per dataset over 5 minutes (recording rule "
            "job_dataset_le:audio_quality_score_bucket:rate5m). The red line is the 0.5 "
            "threshold of VumeterLowQualityScore.",
            "none",
            Query(
                "histogram_quantile(0.5, sum by (dataset, le) "
                f"(job_dataset_le:audio_quality_score_bucket:rate5m{ALL}))",
                legend="{{dataset}}",
            ),
            min=0,
            max=1,
            thresholds=(Threshold(0.5, "green"),),
            base_color="red",
        ),
    )
