"""The conventions every vumeter panel follows, over grafana-foundation-sdk's builders.

* Every panel and query reads from the ``$datasource`` variable (any Prometheus).
* Every panel has a description (hover the title) and a unit; a panel without one does not
  build.
* Thresholds that mirror an alert are drawn as red lines on time series.
* Selectors are filtered on the configuration's selector and on the ``$job`` (and, for
  metrics with a dataset label, ``$dataset``) variables: :func:`filters`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from grafana_foundation_sdk.builders import bargauge, common, dashboard, heatmap, prometheus, stat
from grafana_foundation_sdk.builders import timeseries as timeseries_panel
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import heatmap as heatmap_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

from ops.config import OpsConfig

__all__ = [
    "UP_DOWN",
    "Query",
    "Threshold",
    "bargauge_panel",
    "datasource",
    "filters",
    "heatmap_panel",
    "stat_panel",
    "timeseries",
]

DATASOURCE_VARIABLE: Final = "datasource"
UP_DOWN: Final = {"0": "down", "1": "up"}


def datasource(config: OpsConfig) -> models.DataSourceRef:
    return models.DataSourceRef(type_val=config.datasource_type, uid=f"${{{DATASOURCE_VARIABLE}}}")


def filters(config: OpsConfig, *extra: str, dataset: bool = True, recorded: bool = False) -> str:
    """``{<selector>,job=~"$job",dataset=~"$dataset",<extra>}`` (no dataset for metrics
    without a dataset label: queues, workers, GPU and process metrics).

    ``recorded``: for a series of the recording rules, which applied the selector already
    (and kept only job and dataset, so a selector on other labels would match nothing).
    """
    matchers = [] if recorded else [config.selector]
    matchers.append('job=~"$job"')
    if dataset:
        matchers.append('dataset=~"$dataset"')
    matchers.extend(extra)
    return "{" + ",".join(matchers) + "}"


@dataclass(frozen=True)
class Query:
    """One PromQL query: ``legend`` is Grafana's legend template; ``instant`` evaluates once
    at the end of the time range (totals over ``$__range`` as stats or bars)."""

    expr: str
    legend: str = "__auto"
    instant: bool = False


@dataclass(frozen=True)
class Threshold:
    """A coloured step from ``value`` upward; drawn as a line on time series panels."""

    value: float
    color: str


PanelBuilder = timeseries_panel.Panel | stat.Panel | bargauge.Panel | heatmap.Panel


@dataclass(frozen=True)
class _Common:
    config: OpsConfig
    title: str
    description: str
    unit: str
    queries: Sequence[Query]
    width: int
    height: int
    min: float | None
    max: float | None
    thresholds: Sequence[Threshold]
    base_color: str
    value_text: dict[str, str] | None
    heatmap: bool = False

    def apply(self, panel: PanelBuilder) -> PanelBuilder:
        if not self.description.strip():
            raise ValueError(f"panel {self.title!r} needs a description")
        if not self.unit:
            raise ValueError(f"panel {self.title!r} needs a unit (use 'none' if dimensionless)")
        if not self.queries:
            raise ValueError(f"panel {self.title!r} needs at least one query")
        source = datasource(self.config)
        panel.title(self.title).description(self.description).unit(self.unit)
        panel.datasource(source).span(self.width).height(self.height)
        if self.min is not None:
            panel.min(self.min)
        if self.max is not None:
            panel.max(self.max)
        steps = [models.Threshold(value=None, color=self.base_color)]
        steps += [models.Threshold(value=step.value, color=step.color) for step in self.thresholds]
        panel.thresholds(
            dashboard.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE).steps(steps)
        )
        if self.value_text:
            panel.mappings(
                [
                    models.ValueMap(
                        options={
                            value: models.ValueMappingResult(text=text, index=index)
                            for index, (value, text) in enumerate(self.value_text.items())
                        }
                    )
                ]
            )
        for index, query in enumerate(self.queries):
            target = (
                prometheus.Dataquery()
                .expr(query.expr)
                .legend_format(query.legend)
                .ref_id(chr(ord("A") + index))
                .datasource(source)
            )
            target = target.instant() if query.instant else target.range()
            if self.heatmap:
                target.format(prometheus_models.PromQueryFormat.HEATMAP)
            panel.with_target(target)
        return panel


def timeseries(
    config: OpsConfig,
    title: str,
    description: str,
    unit: str,
    *queries: Query,
    width: int = 12,
    height: int = 8,
    min: float | None = None,
    max: float | None = None,
    thresholds: Sequence[Threshold] = (),
    base_color: str = "green",
) -> Builder[models.Panel]:
    common_ = _Common(
        config, title, description, unit, queries, width, height, min, max, thresholds,
        base_color, None,
    )  # fmt: skip
    panel = timeseries_panel.Panel()
    common_.apply(panel)
    mode = (
        common_models.GraphTresholdsStyleMode.LINE
        if thresholds
        else common_models.GraphTresholdsStyleMode.OFF
    )
    panel.draw_style(common_models.GraphDrawStyle.LINE).line_width(1).fill_opacity(10)
    panel.show_points(common_models.VisibilityMode.NEVER).span_nulls(False)
    panel.thresholds_style(common.GraphThresholdsStyleConfig().mode(mode))
    panel.legend(
        common.VizLegendOptions()
        .display_mode(common_models.LegendDisplayMode.TABLE)
        .placement(common_models.LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(["mean", "max", "lastNotNull"])
    )
    panel.tooltip(
        common.VizTooltipOptions()
        .mode(common_models.TooltipDisplayMode.MULTI)
        .sort(common_models.SortOrder.DESCENDING)
    )
    return panel


def _last_value() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def stat_panel(
    config: OpsConfig,
    title: str,
    description: str,
    unit: str,
    *queries: Query,
    width: int = 12,
    height: int = 8,
    min: float | None = None,
    max: float | None = None,
    thresholds: Sequence[Threshold] = (),
    base_color: str = "green",
    value_text: dict[str, str] | None = None,
) -> Builder[models.Panel]:
    panel = stat.Panel()
    _Common(
        config, title, description, unit, queries, width, height, min, max, thresholds,
        base_color, value_text,
    ).apply(panel)  # fmt: skip
    panel.reduce_options(_last_value()).color_mode(common_models.BigValueColorMode.VALUE)
    panel.graph_mode(common_models.BigValueGraphMode.AREA)
    panel.text_mode(common_models.BigValueTextMode.AUTO)
    panel.justify_mode(common_models.BigValueJustifyMode.AUTO)
    panel.orientation(common_models.VizOrientation.AUTO)
    return panel


def bargauge_panel(
    config: OpsConfig,
    title: str,
    description: str,
    unit: str,
    *queries: Query,
    width: int = 12,
    height: int = 8,
    min: float | None = None,
    max: float | None = None,
    thresholds: Sequence[Threshold] = (),
    base_color: str = "green",
) -> Builder[models.Panel]:
    panel = bargauge.Panel()
    _Common(
        config, title, description, unit, queries, width, height, min, max, thresholds,
        base_color, None,
    ).apply(panel)  # fmt: skip
    panel.reduce_options(_last_value()).orientation(common_models.VizOrientation.HORIZONTAL)
    panel.display_mode(common_models.BarGaugeDisplayMode.GRADIENT).show_unfilled(True)
    return panel


def heatmap_panel(
    config: OpsConfig,
    title: str,
    description: str,
    unit: str,
    *queries: Query,
    width: int = 12,
    height: int = 8,
) -> Builder[models.Panel]:
    panel = heatmap.Panel()
    _Common(
        config, title, description, unit, queries, width, height, None, None, (), "green",
        None, heatmap=True,
    ).apply(panel)  # fmt: skip
    # The buckets are Prometheus histogram buckets already: nothing to calculate.
    panel.calculate(False).cell_gap(1)
    panel.y_axis(heatmap.YAxisConfig().unit(unit))
    panel.color(
        heatmap.HeatmapColorOptions()
        .mode(heatmap_models.HeatmapColorMode.SCHEME)
        .scheme("Spectral")
        .scale(heatmap_models.HeatmapColorScale.EXPONENTIAL)
    )
    panel.show_tooltip().show_y_histogram().show_legend()
    return panel
