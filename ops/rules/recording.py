"""The recording rules the dashboards share.

Histogram bucket rates fan out to one series per bucket x dataset x operation x instance,
and several panels on three dashboards read the same aggregates: recording them once per
evaluation keeps dashboards fast on large fleets. Names follow level:metric:operations
(the level lists the labels kept, the metric drops ``_total``, the operations say what was
applied, the window included). Every rule keeps ``job`` and ``dataset`` so dashboards can
still filter on ``$job`` and ``$dataset``. The alerts use raw expressions, not these records,
so each alert is self-contained and its promtool tests do not depend on evaluation order
across groups.
"""

from __future__ import annotations

from ops.config import OpsConfig
from ops.promql import selector
from ops.rules.model import Group, Rule

__all__ = ["QUALITY_HISTOGRAMS", "error_ratio_record", "recorded_buckets", "recording_groups"]

# The histograms whose per-dataset bucket rates are recorded for quantile panels.
QUALITY_HISTOGRAMS = ("audio_quality_score", "audio_snr_db", "audio_pesq_score", "audio_stoi_score")


def error_ratio_record(config: OpsConfig) -> str:
    return f"job_dataset:audio_samples_processed_errors:ratio_rate{config.rate_window}"


def recorded_buckets(config: OpsConfig, histogram: str) -> str:
    """The recorded per-dataset bucket rate of ``histogram`` (latency: per operation too)."""
    level = (
        "job_dataset_operation_le"
        if histogram == "audio_processing_duration_seconds"
        else "job_dataset_le"
    )
    return f"{level}:{histogram}_bucket:rate{config.rate_window}"


def recording_groups(config: OpsConfig) -> list[Group]:
    window = config.rate_window
    processed = selector(config, "audio_samples_processed_total")
    failed = selector(config, "audio_samples_processed_total", 'status="error"')
    attempts = f"sum by (job, dataset) (rate({processed}[{window}]))"
    latency = "audio_processing_duration_seconds"
    rules = [
        Rule(
            {
                "record": error_ratio_record(config),
                "expr": "(\n"
                f"  sum by (job, dataset) (rate({failed}[{window}]))\n"
                "  or\n"
                f"  {attempts} * 0\n"
                ")\n"
                "/\n"
                f"{attempts}\n",
            },
            comment="Share of attempts that ended in an error, per dataset: errors / attempts, "
            "in [0, 1]. The `or ... * 0` arm yields 0 rather than no data for datasets that "
            "never failed.",
        ),
        Rule(
            {
                "record": recorded_buckets(config, latency),
                "expr": "sum by (job, dataset, operation, le) (\n"
                f"  rate({selector(config, latency + '_bucket')}[{window}])\n"
                ")\n",
            },
            comment="Bucket rates that latency and quality quantile panels aggregate further "
            "by `le`.",
        ),
    ]
    rules += [
        Rule(
            {
                "record": recorded_buckets(config, histogram),
                "expr": "sum by (job, dataset, le) "
                f"(rate({selector(config, histogram + '_bucket')}[{window}]))",
            }
        )
        for histogram in QUALITY_HISTOGRAMS
    ]
    return [Group("vumeter-recording", tuple(rules))]
