"""``OpsConfig``: the one place the alerts, recording rules and dashboards take settings from.

Kept the way kubernetes-mixin keeps its ``_config``: every rule and panel is written against
these fields, never against a literal, so re-targeting the whole set (other job names, a
namespace, stricter thresholds) is one change here and one ``python -m ops.generate``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Final

import promql_parser

from vumeter.audio import QUALITY_SCORE_BUCKETS

__all__ = ["DEFAULT", "OpsConfig", "duration_seconds"]

_DURATION: Final = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(duration: str) -> int:
    """A Prometheus duration of one unit (``"5m"``) in seconds."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"expected a Prometheus duration such as 5m or 2h, got {duration!r}")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


@dataclass(frozen=True)
class OpsConfig:
    """Settings of vumeter's alerts, recording rules and dashboards (defaults: the shipped set)."""

    # Label matchers that pick vumeter's series out of everything Prometheus scrapes. Added to
    # every selector of every rule and panel (and to the dashboards' job variable). The demo
    # is scraped as job="vumeter-demo", MetricsCollector pushes as job="vumeter".
    selector: str = 'job=~"vumeter.*"'

    # Window of the rates that alerts and recording rules compute (the recorded series are
    # named after it: ..._rate5m).
    rate_window: str = "5m"

    # VumeterWorkerDown, VumeterWorkersAbsent
    worker_down_for: str = "5m"
    workers_absent_for: str = "10m"
    # VumeterHighErrorRatio: share of attempts that failed, with a minimum-traffic guard.
    error_ratio: float = 0.05
    error_ratio_for: str = "10m"
    min_attempts_per_second: float = 0.1
    # VumeterProcessingStalled
    stalled_for: str = "10m"
    # VumeterQueueBacklogGrowing
    backlog_items: float = 10
    backlog_growth_per_minute: float = 1
    backlog_window: str = "15m"
    backlog_for: str = "15m"
    # VumeterHighLatencyP99 (the same traffic guard as the error ratio)
    latency_p99_seconds: float = 10
    latency_for: str = "15m"
    # VumeterLowQualityScore: median TOPSIS score, with its own traffic guard. The threshold
    # must be a bucket bound of audio_quality_score (the Quality dashboard counts at most it).
    median_quality: float = 0.5
    quality_window: str = "15m"
    min_scores_per_second: float = 0.01
    low_quality_for: str = "30m"
    # VumeterGPUMemoryHigh, VumeterGPUMonitorDown; the temperature is drawn on a panel only.
    gpu_memory_ratio: float = 0.9
    gpu_memory_for: str = "5m"
    gpu_monitor_down_for: str = "5m"
    gpu_temperature_celsius: float = 85
    # VumeterPushStale: seconds since the Pushgateway last accepted a push.
    push_stale_seconds: float = 600
    push_stale_for: str = "5m"
    # VumeterErrorLogBurst: log records at level error or above, per second.
    error_logs_per_second: float = 0.2
    error_log_burst_for: str = "2m"

    # Every alert's runbook_url: ``{anchor}`` is the alert's name in lower case, the anchor
    # of its section in docs/alerts.md.
    runbook_url: str = "https://github.com/vumeter/vumeter/blob/main/docs/alerts.md#{anchor}"

    # Grafana: the data-source type every panel reads through the `datasource` variable.
    datasource_type: str = "prometheus"
    dashboard_tags: tuple[str, ...] = ("vumeter",)
    dashboard_refresh: str = "30s"
    dashboard_time_from: str = "now-6h"

    def __post_init__(self) -> None:
        try:
            promql_parser.parse(f"up{{{self.selector}}}")
        except ValueError as error:
            raise ValueError(
                f'selector must be PromQL label matchers such as job=~"vumeter.*", got '
                f"{self.selector!r}: {error}"
            ) from None
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name.endswith(("_for", "_window")):
                duration_seconds(value)
            elif isinstance(value, float | int) and not value > 0:
                raise ValueError(f"{field.name} must be > 0, got {value!r}")
        for ratio in ("error_ratio", "gpu_memory_ratio", "median_quality"):
            if not 0 < getattr(self, ratio) < 1:
                raise ValueError(f"{ratio} must lie between 0 and 1, got {getattr(self, ratio)!r}")
        if self.median_quality not in QUALITY_SCORE_BUCKETS:
            raise ValueError(
                f"median_quality must be a bucket bound of audio_quality_score "
                f"{QUALITY_SCORE_BUCKETS}, got {self.median_quality!r}"
            )
        if "{anchor}" not in self.runbook_url:
            raise ValueError(f"runbook_url must contain {{anchor}}, got {self.runbook_url!r}")

    def runbook(self, alert: str) -> str:
        return self.runbook_url.format(anchor=alert.lower())


DEFAULT: Final = OpsConfig()
"""The configuration of the files committed in this repository."""
