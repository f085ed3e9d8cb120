"""The Grafana dashboards, built with grafana-foundation-sdk from an OpsConfig: Overview
(throughput, errors, quality), Performance (latency, resources, queues, telemetry health) and
Quality (scores, measures, datasets, exclusions)."""

from __future__ import annotations

from ops.config import OpsConfig
from ops.dashboards import overview, performance, quality
from ops.dashboards.layout import to_json

__all__ = ["render_dashboards"]


def render_dashboards(config: OpsConfig) -> dict[str, str]:
    """File name in dashboards/ -> the dashboard's JSON text."""
    return {
        overview.FILE: to_json(overview.overview(config)),
        performance.FILE: to_json(performance.performance(config)),
        quality.FILE: to_json(quality.quality(config)),
    }
