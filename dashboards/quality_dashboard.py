"""The vumeter Quality dashboard: TOPSIS scores, SNR/PESQ/STOI, dataset comparison, exclusions.

Issue 5 asks for TOPSIS score trends, the SNR/PESQ/STOI breakdown, a dataset comparison and
excluded samples by reason. Trends read the 5-minute bucket rates the recording rules keep
(alerts/vumeter-recording.rules.yml); comparisons aggregate over the whole time range.
"""

from __future__ import annotations

from grafana_builders import (
    Dashboard,
    Panel,
    Query,
    Row,
    Threshold,
    bargauge,
    selector,
    timeseries,
)

ALL = selector()
# An `le` matcher compares text: vumeter exposes bucket bounds as prometheus_client writes
# them ("0.5", "1.0"), and the live test proves this one matches.
AT_MOST_HALF = selector('le="0.5"')


def dashboard() -> Dashboard:
    return Dashboard(
        uid="vumeter-quality",
        title="vumeter / Quality",
        description="Audio quality of vumeter's output: TOPSIS scores, SNR, PESQ, STOI, "
        "exclusions.",
        rows=(
            Row("TOPSIS quality score", _topsis()),
            Row("Quality metrics breakdown", _breakdown()),
            Row("Dataset comparison (time range)", _comparison()),
            Row("Excluded samples", _exclusions()),
        ),
    )


def _quantile_from_recorded(quantile: float, histogram: str) -> Query:
    """A per-dataset quantile of `histogram` from its recorded 5-minute bucket rates."""
    recorded = f"job_dataset_le:{histogram}_bucket:rate5m{ALL}"
    return Query(
        f"histogram_quantile({quantile}, sum by (dataset, le) ({recorded}))",
        legend="{{dataset}}",
    )


def _topsis() -> tuple[Panel, ...]:
    return (
        timeseries(
            "Median quality score by dataset",
            "Median TOPSIS closeness score (0 worst, 1 best) per dataset over 5 minutes. The "
            "red line is the 0.5 threshold of VumeterLowQualityScore.",
            "none",
            _quantile_from_recorded(0.5, "audio_quality_score"),
            width=8,
            min=0,
            max=1,
            thresholds=(Threshold(0.5, "green"),),
            base_color="red",
        ),
        timeseries(
            "Worst-decile quality score by dataset",
            "10th percentile of the TOPSIS score per dataset over 5 minutes: how bad the "
            "weakest tenth of the output is, which the median hides.",
            "none",
            _quantile_from_recorded(0.1, "audio_quality_score"),
            width=8,
            min=0,
            max=1,
        ),
        timeseries(
            "Share of samples scoring below 0.5",
            "Fraction of scored samples per dataset whose TOPSIS score is at most 0.5.",
            "percentunit",
            Query(
                "sum by (dataset) "
                f"(rate(audio_quality_score_bucket{AT_MOST_HALF}[$__rate_interval]))"
                " / sum by (dataset) "
                f"(rate(audio_quality_score_count{ALL}[$__rate_interval]))",
                legend="{{dataset}}",
            ),
            width=8,
            min=0,
            max=1,
        ),
    )


def _breakdown() -> tuple[Panel, ...]:
    return (
        timeseries(
            "Median SNR by dataset",
            "Median signal-to-noise ratio of processed samples per dataset over 5 minutes, in "
            "decibels; higher is cleaner.",
            "dB",
            _quantile_from_recorded(0.5, "audio_snr_db"),
            width=8,
        ),
        timeseries(
            "Median PESQ by dataset",
            "Median PESQ score (MOS-LQO, 1.0 bad to 4.5 excellent) per dataset over 5 minutes. "
            "Only samples with a clean reference are scored, so some datasets have none.",
            "none",
            _quantile_from_recorded(0.5, "audio_pesq_score"),
            width=8,
            min=1,
            max=4.5,
        ),
        timeseries(
            "Median STOI by dataset",
            "Median short-time objective intelligibility (0 to 1, higher is more intelligible) "
            "per dataset over 5 minutes.",
            "none",
            _quantile_from_recorded(0.5, "audio_stoi_score"),
            width=8,
            min=0,
            max=1,
        ),
        timeseries(
            "Mean quality metrics",
            "Mean TOPSIS score, STOI and PESQ across the selected datasets, from each "
            "histogram's sum and count; means move with outliers that medians ignore.",
            "none",
            *(_mean(histogram, label) for histogram, label in _MEANS),
            width=24,
        ),
    )


_MEANS = (
    ("audio_quality_score", "TOPSIS"),
    ("audio_stoi_score", "STOI"),
    ("audio_pesq_score", "PESQ"),
)


def _mean(histogram: str, label: str) -> Query:
    return Query(
        f"sum(rate({histogram}_sum{ALL}[$__rate_interval]))"
        f" / sum(rate({histogram}_count{ALL}[$__rate_interval]))",
        legend=label,
    )


def _comparison() -> tuple[Panel, ...]:
    def median_over_range(histogram: str) -> Query:
        return Query(
            "histogram_quantile(0.5, sum by (dataset, le) "
            f"(increase({histogram}_bucket{ALL}[$__range])))",
            legend="{{dataset}}",
            instant=True,
        )

    return (
        bargauge(
            "Median quality score per dataset",
            "Median TOPSIS score of each dataset over the whole time range, to rank datasets.",
            "none",
            median_over_range("audio_quality_score"),
            width=6,
            min=0,
            max=1,
            thresholds=(Threshold(0.5, "green"),),
            base_color="red",
        ),
        bargauge(
            "Median SNR per dataset",
            "Median signal-to-noise ratio of each dataset over the whole time range.",
            "dB",
            median_over_range("audio_snr_db"),
            width=6,
        ),
        bargauge(
            "Median STOI per dataset",
            "Median STOI of each dataset over the whole time range.",
            "none",
            median_over_range("audio_stoi_score"),
            width=6,
            min=0,
            max=1,
        ),
        bargauge(
            "Samples scored per dataset",
            "Samples that received a quality score per dataset in the time range; a small "
            "count makes the medians beside it less reliable.",
            "short",
            Query(
                f"sum by (dataset) (increase(audio_quality_score_count{ALL}[$__range]))",
                legend="{{dataset}}",
                instant=True,
            ),
            width=6,
        ),
    )


def _exclusions() -> tuple[Panel, ...]:
    excluded = f"sum by (dataset) (rate(audio_samples_excluded_total{ALL}[$__rate_interval]))"
    processed = f"sum by (dataset) (rate(audio_samples_processed_total{ALL}[$__rate_interval]))"
    return (
        timeseries(
            "Excluded samples by reason",
            "Samples excluded per second, by exclusion reason, across the selected datasets.",
            "ops",
            Query(
                f"sum by (reason) (rate(audio_samples_excluded_total{ALL}[$__rate_interval]))",
                legend="{{reason}}",
            ),
            width=8,
            min=0,
        ),
        timeseries(
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
        bargauge(
            "Excluded samples per dataset and reason",
            "Samples excluded in the time range, per dataset and reason.",
            "short",
            Query(
                f"sum by (dataset, reason) (increase(audio_samples_excluded_total{ALL}[$__range]))",
                legend="{{dataset}}: {{reason}}",
                instant=True,
            ),
            width=8,
        ),
    )
