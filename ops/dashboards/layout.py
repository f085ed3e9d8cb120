"""A dashboard from rows of panels: the variables, links and settings all three share, panel
ids, and the JSON text Grafana loads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as models

from ops.config import OpsConfig
from ops.dashboards.panels import DATASOURCE_VARIABLE, datasource, filters

__all__ = ["VARIABLE_SOURCE_METRIC", "Row", "build", "to_json"]

# The metric the `job` and `dataset` variables list values of: every vumeter worker that
# processes audio exports it, scraped directly or pushed through the Pushgateway.
VARIABLE_SOURCE_METRIC = "audio_samples_processed_total"


@dataclass(frozen=True)
class Row:
    title: str
    panels: Sequence[Builder[models.Panel]]


def _variables(config: OpsConfig) -> list[Builder[models.VariableModel]]:
    source = datasource(config)
    jobs = f"label_values({VARIABLE_SOURCE_METRIC}{{{config.selector}}}, job)"
    datasets = f"label_values({VARIABLE_SOURCE_METRIC}{filters(config, dataset=False)}, dataset)"
    variables: list[Builder[models.VariableModel]] = [
        dashboard.DatasourceVariable(DATASOURCE_VARIABLE)
        .label("Data source")
        .type(config.datasource_type)
    ]
    for name, label, query in (("job", "Job", jobs), ("dataset", "Dataset", datasets)):
        variables.append(
            dashboard.QueryVariable(name)
            .label(label)
            .datasource(source)
            .query(query)
            .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True)
            .include_all(True)
            # ".+" rather than every value joined with "|": stays short on large fleets and
            # matches values that appear after the dashboard loaded.
            .all_value(".+")
            .current(models.VariableOption(selected=True, text=["All"], value=["$__all"]))
            .sort(models.VariableSort.ALPHABETICAL_ASC)
        )
    return variables


def build(
    config: OpsConfig, uid: str, title: str, description: str, rows: Sequence[Row]
) -> models.Dashboard:
    """The dashboard: rows laid out on the 24-column grid, panels numbered from 1."""
    builder = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(list(config.dashboard_tags))
        .editable()
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .refresh(config.dashboard_refresh)
        .time(config.dashboard_time_from, "now")
        .timezone("")
        .version(1)
        .variables(_variables(config))
        .link(
            dashboard.DashboardLink("vumeter dashboards")
            .type(models.DashboardLinkType.DASHBOARDS)
            .tags(list(config.dashboard_tags))
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    next_id = 1
    for row in rows:
        builder.with_row(dashboard.Row(row.title).id(next_id).collapsed(False))
        next_id += 1
        for panel in row.panels:
            builder.with_panel(panel.id(next_id))  # type: ignore[attr-defined]
            next_id += 1
    return builder.build()


def to_json(board: models.Dashboard) -> str:
    """The dashboard as committed: indented, keys sorted, one trailing newline."""
    encoded = JSONEncoder(sort_keys=True).encode(board)
    return json.dumps(json.loads(encoded), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
