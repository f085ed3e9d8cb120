"""Typed builders that turn vumeter dashboard definitions into Grafana dashboard JSON.

The dashboards are plain Python data (no third-party dashboard library): each definition
module (overview_dashboard.py, performance_dashboard.py, quality_dashboard.py) describes rows
of panels with these dataclasses, and `render_dashboard` lays them out on Grafana's 24-column
grid and fills in the conventions every panel shares:

- the `$datasource` variable as every panel's and query's data source, so one JSON works
  against any Prometheus;
- `job` and `dataset` multi-value variables with an "All" option;
- a unit and a description on every panel (tests/ops/test_dashboard_lint.py enforces both).

The JSON targets Grafana 10 (schemaVersion 39); older Grafana versions migrate it on load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Json = dict[str, Any]

# Every panel and query reads from the dashboard's data-source variable.
DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}

GRID_WIDTH = 24
SCHEMA_VERSION = 39

# Metric the `job` and `dataset` variables list label values from: every vumeter worker that
# processes audio exports it, whether scraped directly or pushed through the Pushgateway.
VARIABLE_SOURCE_METRIC = "audio_samples_processed_total"

PanelKind = Literal["timeseries", "stat", "bargauge", "heatmap"]


def selector(*extra: str, dataset: bool = True) -> str:
    """A label selector filtered on the dashboard's variables, e.g. `{job=~"$job",dataset=~...}`.

    `dataset=False` leaves out the dataset matcher for metrics without a dataset label (queues,
    workers, GPU and process metrics).
    """
    matchers = ['job=~"$job"']
    if dataset:
        matchers.append('dataset=~"$dataset"')
    matchers.extend(extra)
    return "{" + ",".join(matchers) + "}"


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel.

    `legend` is Grafana's legend template (`{{dataset}}`); `instant` evaluates once at the end
    of the time range (for totals over `$__range` shown as stats or bars).
    """

    expr: str
    legend: str = "__auto"
    instant: bool = False


@dataclass(frozen=True)
class Threshold:
    """A coloured step from `value` upward; drawn as a line on time series panels."""

    value: float
    color: str


@dataclass(frozen=True)
class Panel:
    """A Grafana panel: what it shows (`queries`), how to read it (`unit`, `description`)."""

    kind: PanelKind
    title: str
    description: str
    unit: str
    queries: tuple[Query, ...]
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None
    thresholds: tuple[Threshold, ...] = ()
    # Colour below the first threshold: "green" when high values are bad, "red" when low are.
    base_color: str = "green"
    # Text shown instead of a value, e.g. {"0": "down", "1": "up"} for 0/1 gauges.
    value_text: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError(f"panel {self.title!r} needs a description")
        if not self.unit:
            raise ValueError(f"panel {self.title!r} needs a unit (use 'none' if dimensionless)")
        if not self.queries:
            raise ValueError(f"panel {self.title!r} needs at least one query")
        if not 1 <= self.width <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width must be 1..{GRID_WIDTH}")


def timeseries(title: str, description: str, unit: str, *queries: Query, **kw: Any) -> Panel:
    return Panel("timeseries", title, description, unit, queries, **kw)


def stat(title: str, description: str, unit: str, *queries: Query, **kw: Any) -> Panel:
    return Panel("stat", title, description, unit, queries, **kw)


def bargauge(title: str, description: str, unit: str, *queries: Query, **kw: Any) -> Panel:
    return Panel("bargauge", title, description, unit, queries, **kw)


def heatmap(title: str, description: str, unit: str, *queries: Query, **kw: Any) -> Panel:
    return Panel("heatmap", title, description, unit, queries, **kw)


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ("vumeter",)


def render_dashboard(dashboard: Dashboard) -> Json:
    """The Grafana JSON model of `dashboard`, panels laid out row by row."""
    panels: list[Json] = []
    next_id = 1
    y = 0
    for row in dashboard.rows:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        x = 0
        row_height = 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:  # wrap to a new line of panels
                x, y, row_height = 0, y + row_height, 0
            panels.append(_render_panel(panel, next_id, x, y))
            next_id += 1
            x += panel.width
            row_height = max(row_height, panel.height)
        y += row_height
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "editable": True,
        "graphTooltip": 1,  # shared crosshair across panels
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "",
        "version": 1,
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "title": "vumeter dashboards",
                "tags": ["vumeter"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {"list": _variables()},
        "panels": panels,
    }


def _variables() -> list[Json]:
    job_query = f"label_values({VARIABLE_SOURCE_METRIC}, job)"
    dataset_query = f'label_values({VARIABLE_SOURCE_METRIC}{{job=~"$job"}}, dataset)'
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
        },
        _label_variable("job", "Job", job_query),
        _label_variable("dataset", "Dataset", dataset_query),
    ]


def _label_variable(name: str, label: str, query: str) -> Json:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        # A plain string: the form every Grafana version since 7 reads (newer ones migrate it).
        "definition": query,
        "query": query,
        "refresh": 2,  # reload the values when the time range changes
        "multi": True,
        "includeAll": True,
        # ".+" rather than Grafana's default of every value joined with "|": stays short on
        # large fleets and matches values that appear after the dashboard loaded.
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
    }


def _render_panel(panel: Panel, panel_id: int, x: int, y: int) -> Json:
    defaults: Json = {"unit": panel.unit}
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    steps: list[Json] = [{"color": panel.base_color, "value": None}]
    steps += [{"color": step.color, "value": step.value} for step in panel.thresholds]
    defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    if panel.value_text:
        defaults["mappings"] = [
            {
                "type": "value",
                "options": {
                    value: {"text": text, "index": index}
                    for index, (value, text) in enumerate(panel.value_text.items())
                },
            }
        ]
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "thresholdsStyle": {"mode": "line" if panel.thresholds else "off"},
        }
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": _panel_options(panel),
        "targets": [
            _render_query(panel, query, index) for index, query in enumerate(panel.queries)
        ],
    }


def _panel_options(panel: Panel) -> Json:
    if panel.kind == "timeseries":
        return {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["mean", "max", "lastNotNull"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if panel.kind == "heatmap":
        return {
            "calculate": False,  # the buckets are Prometheus histogram buckets already
            "yAxis": {"unit": panel.unit, "axisPlacement": "left"},
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Spectral", "scale": "exponential"},
            "tooltip": {"show": True, "yHistogram": True},
            "legend": {"show": True},
        }
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.kind == "bargauge":
        return {
            "reduceOptions": reduce,
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
        }
    return {
        "reduceOptions": reduce,
        "colorMode": "value",
        "graphMode": "area",
        "textMode": "auto",
        "justifyMode": "auto",
        "orientation": "auto",
    }


def _render_query(panel: Panel, query: Query, index: int) -> Json:
    target: Json = {
        "datasource": DATASOURCE,
        "refId": chr(ord("A") + index),
        "expr": query.expr,
        "legendFormat": query.legend,
        "range": not query.instant,
        "instant": query.instant,
    }
    if panel.kind == "heatmap":
        target["format"] = "heatmap"
    return target
