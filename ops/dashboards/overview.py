"""The vumeter Overview dashboard: throughput, errors and quality at a glance.

Samples processed by dataset, the processing rate, error rates by type and severity, and
the quality score distribution. Thresholds drawn on panels are the alerts' (from the
configuration), so a line crossing them explains a firing alert.
"""

from __future__ import annotations

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as models

from ops.config import OpsConfig
from ops.dashboards.layout import Row, build
from ops.dashboards.panels import (
    Query,
    Threshold,
    bargauge_panel,
    filters,
    heatmap_panel,
    stat_panel,
    timeseries,
)
from ops.promql import duration_text, number, percent
from ops.rules.recording import error_ratio_record, recorded_buckets

__all__ = ["FILE", "overview"]

FILE = "vumeter-overview.json"

_Panels = tuple[Builder[models.Panel], ...]


def overview(config: OpsConfig) -> models.Dashboard:
    return build(
        config,
        "vumeter-overview",
        "vumeter / Overview",
        "Throughput, errors and quality of vumeter audio-processing workers.",
        (
            Row("Totals in the time range", _totals(config)),
            Row("Throughput", _throughput(config)),
            Row("Errors", _errors(config)),
            Row("Quality", _quality(config)),
        ),
    )


def _totals(config: OpsConfig) -> _Panels:
    every = filters(config)
    errors = filters(config, 'status="error"')
    return (
        stat_panel(
            config,
            "Samples processed",
            "Audio samples finished in the selected time range, successful or not.",
            "short",
            Query(f"sum(increase(audio_samples_processed_total{every}[$__range]))", instant=True),
            width=6,
            height=4,
        ),
        stat_panel(
            config,
            "Error ratio",
            "Share of the samples finished in the time range that ended in an error. "
            f"VumeterHighErrorRatio fires above {percent(config.error_ratio)} sustained over "
            f"{duration_text(config.error_ratio_for)}.",
            "percentunit",
            Query(
                # `or vector(0)`: a time range without errors shows 0 %, not "No data".
                f"(sum(increase(audio_samples_processed_total{errors}[$__range])) or vector(0))"
                f" / sum(increase(audio_samples_processed_total{every}[$__range]))",
                instant=True,
            ),
            width=6,
            height=4,
            thresholds=(Threshold(config.error_ratio, "red"),),
        ),
        stat_panel(
            config,
            "Median quality score",
            "Median TOPSIS quality score (0 worst, 1 best) of the samples scored in the time "
            f"range. VumeterLowQualityScore fires below {number(config.median_quality)}.",
            "none",
            Query(
                "histogram_quantile(0.5, sum by (le) "
                f"(increase(audio_quality_score_bucket{every}[$__range])))",
                instant=True,
            ),
            width=6,
            height=4,
            min=0,
            max=1,
            thresholds=(Threshold(config.median_quality, "green"),),
            base_color="red",
        ),
        stat_panel(
            config,
            "Samples excluded",
            "Samples excluded from processing (too short, too noisy, unreadable, ...) in the "
            "time range; the Quality dashboard breaks them down by reason.",
            "short",
            Query(f"sum(increase(audio_samples_excluded_total{every}[$__range]))", instant=True),
            width=6,
            height=4,
        ),
    )


def _throughput(config: OpsConfig) -> _Panels:
    every = filters(config)
    return (
        bargauge_panel(
            config,
            "Samples processed by dataset",
            "Audio samples finished per dataset in the selected time range, successful or not.",
            "short",
            Query(
                f"sum by (dataset) (increase(audio_samples_processed_total{every}[$__range]))",
                legend="{{dataset}}",
                instant=True,
            ),
            width=8,
        ),
        timeseries(
            config,
            "Processing rate by dataset",
            "Samples finished per second, per dataset, successful or not.",
            "ops",
            Query(
                f"sum by (dataset) (rate(audio_samples_processed_total{every}[$__rate_interval]))",
                legend="{{dataset}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
            config,
            "Processing rate by processor and status",
            "Samples finished per second by processor (pipeline stage), split into success "
            "and error.",
            "ops",
            Query(
                "sum by (processor, status) "
                f"(rate(audio_samples_processed_total{every}[$__rate_interval]))",
                legend="{{processor}} {{status}}",
            ),
            width=8,
            min=0,
        ),
    )


def _errors(config: OpsConfig) -> _Panels:
    record = error_ratio_record(config)
    return (
        timeseries(
            config,
            "Error ratio by dataset",
            f"Share of attempts that ended in an error over {duration_text(config.rate_window)}, "
            "per job and "
            f"dataset (recording rule {record}). The red line is the "
            f"{percent(config.error_ratio)} threshold of VumeterHighErrorRatio.",
            "percentunit",
            Query(f"{record}{filters(config, recorded=True)}", legend="{{job}} {{dataset}}"),
            min=0,
            thresholds=(Threshold(config.error_ratio, "red"),),
        ),
        timeseries(
            config,
            "Errors by type and severity",
            "Processing errors per second by exception type and severity, across the "
            "selected datasets.",
            "ops",
            Query(
                "sum by (error_type, severity) "
                f"(rate(audio_processing_errors_total{filters(config)}[$__rate_interval]))",
                legend="{{error_type}} ({{severity}})",
            ),
            min=0,
        ),
    )


def _quality(config: OpsConfig) -> _Panels:
    recorded = recorded_buckets(config, "audio_quality_score")
    return (
        heatmap_panel(
            config,
            "Quality score distribution",
            "How many samples per second land in each TOPSIS quality score bucket (0 worst, "
            "1 best); a band sliding down means quality is dropping.",
            "none",
            Query(
                "sum by (le) "
                f"(rate(audio_quality_score_bucket{filters(config)}[$__rate_interval]))",
                legend="{{le}}",
            ),
        ),
        timeseries(
            config,
            "Median quality score by dataset",
            "Median TOPSIS quality score per dataset over "
            f"{duration_text(config.rate_window)} (recording rule {recorded}). The red line is "
            f"the {number(config.median_quality)} threshold of "
            "VumeterLowQualityScore.",
            "none",
            Query(
                "histogram_quantile(0.5, sum by (dataset, le) "
                f"({recorded}{filters(config, recorded=True)}))",
                legend="{{dataset}}",
            ),
            min=0,
            max=1,
            thresholds=(Threshold(config.median_quality, "green"),),
            base_color="red",
        ),
    )
