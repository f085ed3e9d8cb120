"""The vumeter Quality dashboard: TOPSIS scores, SNR/PESQ/STOI, dataset comparison, exclusions.

TOPSIS score trends, the SNR/PESQ/STOI breakdown, a dataset comparison and excluded samples
by reason. Trends read the bucket rates the recording rules keep; comparisons aggregate over
the whole time range.
"""

from __future__ import annotations

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as models

from ops.config import OpsConfig
from ops.dashboards.layout import Row, build
from ops.dashboards.panels import Query, Threshold, bargauge_panel, filters, timeseries
from ops.promql import duration_text, number
from ops.rules.recording import recorded_buckets

__all__ = ["FILE", "quality"]

FILE = "vumeter-quality.json"

_Panels = tuple[Builder[models.Panel], ...]
_MEANS = (
    ("audio_quality_score", "TOPSIS"),
    ("audio_stoi_score", "STOI"),
    ("audio_pesq_score", "PESQ"),
)


def quality(config: OpsConfig) -> models.Dashboard:
    return build(
        config,
        "vumeter-quality",
        "vumeter / Quality",
        "Audio quality of vumeter's output: TOPSIS scores, SNR, PESQ, STOI, exclusions.",
        (
            Row("TOPSIS quality score", _topsis(config)),
            Row("Quality metrics breakdown", _breakdown(config)),
            Row("Dataset comparison (time range)", _comparison(config)),
            Row("Excluded samples", _exclusions(config)),
        ),
    )


def _quantile_from_recorded(config: OpsConfig, quantile: float, histogram: str) -> Query:
    """A per-dataset quantile of ``histogram`` from its recorded bucket rates."""
    recorded = f"{recorded_buckets(config, histogram)}{filters(config, recorded=True)}"
    return Query(
        f"histogram_quantile({quantile}, sum by (dataset, le) ({recorded}))", legend="{{dataset}}"
    )


def _topsis(config: OpsConfig) -> _Panels:
    threshold = number(config.median_quality)
    window = duration_text(config.rate_window)
    # An `le` matcher compares text: vumeter writes bounds within (0, 1) as Python's repr
    # does, like prometheus_client ("0.5"), and the live test proves this one matches.
    at_most = filters(config, f'le="{config.median_quality!r}"')
    return (
        timeseries(
            config,
            "Median quality score by dataset",
            f"Median TOPSIS closeness score (0 worst, 1 best) per dataset over {window}. The "
            f"red line is the {threshold} threshold of VumeterLowQualityScore.",
            "none",
            _quantile_from_recorded(config, 0.5, "audio_quality_score"),
            width=8,
            min=0,
            max=1,
            thresholds=(Threshold(config.median_quality, "green"),),
            base_color="red",
        ),
        timeseries(
            config,
            "Worst-decile quality score by dataset",
            f"10th percentile of the TOPSIS score per dataset over {window}: how bad the "
            "weakest tenth of the output is, which the median hides.",
            "none",
            _quantile_from_recorded(config, 0.1, "audio_quality_score"),
            width=8,
            min=0,
            max=1,
        ),
        timeseries(
            config,
            f"Share of samples scoring below {threshold}",
            f"Fraction of scored samples per dataset whose TOPSIS score is at most {threshold}.",
            "percentunit",
            Query(
                "sum by (dataset) "
                f"(rate(audio_quality_score_bucket{at_most}[$__rate_interval]))"
                " / sum by (dataset) "
                f"(rate(audio_quality_score_count{filters(config)}[$__rate_interval]))",
                legend="{{dataset}}",
            ),
            width=8,
            min=0,
            max=1,
        ),
        _native_quality_panel(config),
    )


def _native_quality_panel(config: OpsConfig) -> Builder[models.Panel]:
    """The median and 10th percentile from the native histogram, for a Prometheus that
    scrapes native histograms (docs/native-histograms.md); empty where it does not."""
    selector = f"audio_quality_score{filters(config)}"
    return timeseries(
        config,
        "Median and worst-decile quality score by dataset (native histogram)",
        "The median and 10th percentile of the TOPSIS score from the native histogram "
        "buckets, over $__rate_interval. Has data only where Prometheus scrapes native "
        "histograms (scrape_native_histograms).",
        "none",
        *(
            Query(
                f"histogram_quantile({q}, sum by (dataset) (rate({selector}[$__rate_interval])))",
                legend=f"{{{{dataset}}}} {label}",
            )
            for q, label in ((0.5, "median"), (0.1, "p10"))
        ),
        width=24,
        min=0,
        max=1,
    )


def _breakdown(config: OpsConfig) -> _Panels:
    window = duration_text(config.rate_window)
    return (
        timeseries(
            config,
            "Median SNR by dataset",
            f"Median signal-to-noise ratio of processed samples per dataset over {window}, in "
            "decibels; higher is cleaner.",
            "dB",
            _quantile_from_recorded(config, 0.5, "audio_snr_db"),
            width=8,
        ),
        timeseries(
            config,
            "Median PESQ by dataset",
            f"Median PESQ score (MOS-LQO, 1.0 bad to 4.5 excellent) per dataset over {window}. "
            "Only samples with a clean reference are scored, so some datasets have none.",
            "none",
            _quantile_from_recorded(config, 0.5, "audio_pesq_score"),
            width=8,
            min=1,
            max=4.5,
        ),
        timeseries(
            config,
            "Median STOI by dataset",
            "Median short-time objective intelligibility (0 to 1, higher is more intelligible) "
            f"per dataset over {window}.",
            "none",
            _quantile_from_recorded(config, 0.5, "audio_stoi_score"),
            width=8,
            min=0,
            max=1,
        ),
        timeseries(
            config,
            "Mean quality metrics",
            "Mean TOPSIS score, STOI and PESQ across the selected datasets, from each "
            "histogram's sum and count; means move with outliers that medians ignore.",
            "none",
            *(
                Query(
                    f"sum(rate({histogram}_sum{filters(config)}[$__rate_interval]))"
                    f" / sum(rate({histogram}_count{filters(config)}[$__rate_interval]))",
                    legend=label,
                )
                for histogram, label in _MEANS
            ),
            width=24,
        ),
    )


def _comparison(config: OpsConfig) -> _Panels:
    def median_over_range(histogram: str) -> Query:
        return Query(
            "histogram_quantile(0.5, sum by (dataset, le) "
            f"(increase({histogram}_bucket{filters(config)}[$__range])))",
            legend="{{dataset}}",
            instant=True,
        )

    return (
        bargauge_panel(
            config,
            "Median quality score per dataset",
            "Median TOPSIS score of each dataset over the whole time range, to rank datasets.",
            "none",
            median_over_range("audio_quality_score"),
            width=6,
            min=0,
            max=1,
            thresholds=(Threshold(config.median_quality, "green"),),
            base_color="red",
        ),
        bargauge_panel(
            config,
            "Median SNR per dataset",
            "Median signal-to-noise ratio of each dataset over the whole time range.",
            "dB",
            median_over_range("audio_snr_db"),
            width=6,
        ),
        bargauge_panel(
            config,
            "Median STOI per dataset",
            "Median STOI of each dataset over the whole time range.",
            "none",
            median_over_range("audio_stoi_score"),
            width=6,
            min=0,
            max=1,
        ),
        bargauge_panel(
            config,
            "Samples scored per dataset",
            "Samples that received a quality score per dataset in the time range; a small "
            "count makes the medians beside it less reliable.",
            "short",
            Query(
                "sum by (dataset) "
                f"(increase(audio_quality_score_count{filters(config)}[$__range]))",
                legend="{{dataset}}",
                instant=True,
            ),
            width=6,
        ),
    )


def _exclusions(config: OpsConfig) -> _Panels:
    every = filters(config)
    excluded = f"sum by (dataset) (rate(audio_samples_excluded_total{every}[$__rate_interval]))"
    processed = f"sum by (dataset) (rate(audio_samples_processed_total{every}[$__rate_interval]))"
    return (
        timeseries(
            config,
            "Excluded samples by reason",
            "Samples excluded per second, by exclusion reason, across the selected datasets.",
            "ops",
            Query(
                f"sum by (reason) (rate(audio_samples_excluded_total{every}[$__rate_interval]))",
                legend="{{reason}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
            config,
            "Exclusion ratio by dataset",
            "Excluded samples as a share of all samples seen (excluded plus processed), per "
            "dataset.",
            "percentunit",
            # `or ... * 0`: a dataset whose every sample was excluded still gets a ratio (1).
            Query(
                f"{excluded} / ({excluded} + ({processed} or {excluded} * 0))",
                legend="{{dataset}}",
            ),
            width=8,
            min=0,
            max=1,
        ),
        bargauge_panel(
            config,
            "Excluded samples per dataset and reason",
            "Samples excluded in the time range, per dataset and reason.",
            "short",
            Query(
                "sum by (dataset, reason) "
                f"(increase(audio_samples_excluded_total{every}[$__range]))",
                legend="{{dataset}}: {{reason}}",
                instant=True,
            ),
            width=8,
        ),
    )
