"""A linter for vumeter's Grafana dashboards: the conventions of well-kept monitoring mixins.

`lint_dashboard` returns one message per problem (empty when the dashboard is clean):

- a `$datasource` variable of type datasource, and `job` and `dataset` multi-value query
  variables with an "All" option; every panel and query reads from `${datasource}`;
- a description and a known unit on every panel;
- every query parses as PromQL, reads counters only through rate()/irate()/increase(),
  uses `$__rate_interval` for rate windows (or `$__range` for totals), filters every selector
  on `$job` (and on `$dataset` where the metric has a dataset label) and on the ops
  configuration's selector (recorded series: their rules applied it), and names only series
  vumeter exports (tests/ops/metric_catalog.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from ops.config import DEFAULT

from tests.ops import promql_lint

Json = dict[str, Any]

# Grafana unit ids the dashboards may use; a typo would silently fall back to no unit.
KNOWN_UNITS = frozenset(
    {"short", "none", "percent", "percentunit", "s", "ms", "bytes", "ops", "celsius", "watt", "dB"}
)
# `label_values(<selector>, <label>)`: the variable query syntax of Grafana's Prometheus source.
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")
_DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}


def lint_dashboard(
    dashboard: Json,
    exported: Collection[str],
    labels_of: Any = lambda name: None,
    required: Sequence[tuple[str, str, str]] | None = None,
) -> list[str]:
    """Every convention `dashboard` breaks. `exported`: the series names queries may name;
    `labels_of(name)`: the labels of a series (a set) or None when unknown; `required`: the
    matchers every selector of a raw series must carry (default: the ops configuration's)."""
    if required is None:
        required = promql_lint.matchers_of(DEFAULT.selector)
    problems = list(_variable_problems(dashboard, exported, required))
    titles: set[str] = set()
    for panel in panels_of(dashboard):
        where = f"panel {panel.get('title')!r}"
        if panel.get("title") in titles:
            problems.append(f"{where}: title used twice on this dashboard")
        titles.add(panel.get("title", ""))
        problems += [f"{where}: {problem}" for problem in _panel_problems(panel)]
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            problems += [
                f"{where}, query {target.get('refId')} `{expr}`: {problem}"
                for problem in query_problems(expr, exported, labels_of, required)
            ]
            if target.get("datasource") != _DATASOURCE_REF:
                problems.append(
                    f"{where}, query {target.get('refId')}: datasource must be "
                    f"{_DATASOURCE_REF}, got {target.get('datasource')}"
                )
    return problems


def panels_of(dashboard: Json) -> Iterator[Json]:
    """Every panel that shows data (rows are containers, not panels), nested ones included."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from (p for p in panel.get("panels", []) if p.get("type") != "row")
        else:
            yield panel


def query_problems(
    expr: str,
    exported: Collection[str],
    labels_of: Any,
    required: Sequence[tuple[str, str, str]] = (),
) -> list[str]:
    """The conventions one dashboard query breaks."""
    try:
        facts = promql_lint.parse_dashboard_query(expr)
    except ValueError as error:
        return [f"does not parse as PromQL: {error}"]
    problems = promql_lint.counter_misuse(facts) + promql_lint.range_variable_misuse(facts)
    problems += promql_lint.missing_matchers(facts, required)
    for selector in facts.selectors:
        if selector.name not in exported:
            problems.append(f"{selector.name} is not a series vumeter exports")
        if not selector.has("job", "=~", "$job"):
            problems.append(f'{selector.name} must be filtered with job=~"$job"')
        labels = labels_of(selector.name)
        if labels and "dataset" in labels and not selector.has("dataset", "=~", "$dataset"):
            problems.append(
                f'{selector.name} has a dataset label: filter it with dataset=~"$dataset"'
            )
    return problems


def _panel_problems(panel: Json) -> list[str]:
    problems = []
    if not str(panel.get("description", "")).strip():
        problems.append("needs a description")
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    if not unit:
        problems.append("needs a unit in fieldConfig.defaults.unit ('none' if dimensionless)")
    elif unit not in KNOWN_UNITS:
        problems.append(f"unit {unit!r} is not one of {sorted(KNOWN_UNITS)}")
    if panel.get("datasource") != _DATASOURCE_REF:
        problems.append(f"datasource must be {_DATASOURCE_REF}, got {panel.get('datasource')}")
    if not panel.get("targets"):
        problems.append("has no queries")
    return problems


def _variable_problems(
    dashboard: Json, exported: Collection[str], required: Sequence[tuple[str, str, str]]
) -> Iterator[str]:
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    datasource = variables.get("datasource")
    if datasource is None or datasource.get("type") != "datasource":
        yield "needs a `datasource` variable of type datasource"
    elif datasource.get("query") != "prometheus":
        yield "the `datasource` variable must list Prometheus data sources"
    for name in ("job", "dataset"):
        variable = variables.get(name)
        if variable is None:
            yield f"needs a `{name}` variable"
            continue
        if not (variable.get("multi") and variable.get("includeAll")):
            yield f"the `{name}` variable must be multi-value with an All option"
        if variable.get("datasource") != _DATASOURCE_REF:
            yield f"the `{name}` variable must read from ${{datasource}}"
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else str(query)
        match = _LABEL_VALUES.match(query)
        if match is None or match["label"] != name:
            yield f"the `{name}` variable must be label_values(<selector>, {name}), got {query!r}"
            continue
        try:
            facts = promql_lint.parse_dashboard_query(match["selector"])
        except ValueError as error:
            yield f"the `{name}` variable's selector does not parse: {error}"
            continue
        for selector in facts.selectors:
            if selector.name not in exported:
                yield f"the `{name}` variable reads {selector.name}, not a series vumeter exports"
        for problem in promql_lint.missing_matchers(facts, required):
            yield f"the `{name}` variable: {problem}"
