"""The committed dashboards follow the conventions of well-kept mixins, and the linter bites.

The linter itself is tests/ops/dashboard_lint.py; the last tests feed it a dashboard that
breaks each rule, so a linter that silently stopped checking would fail here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.ops import metric_catalog
from tests.ops.dashboard_lint import lint_dashboard, panels_of

DASHBOARDS = sorted((metric_catalog.REPO / "dashboards").glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def lint(dashboard: dict[str, Any]) -> list[str]:
    return lint_dashboard(
        dashboard, metric_catalog.exported_series_names(), metric_catalog.labels_of
    )


def test_the_three_dashboards_exist() -> None:
    assert [path.name for path in DASHBOARDS] == [
        "vumeter-overview.json",
        "vumeter-performance.json",
        "vumeter-quality.json",
    ]
    uids = [load(path)["uid"] for path in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_dashboard_passes_the_linter(path: Path) -> None:
    dashboard = load(path)
    assert len(list(panels_of(dashboard))) >= 8
    assert lint(dashboard) == []


def overview() -> dict[str, Any]:
    return load(metric_catalog.REPO / "dashboards" / "vumeter-overview.json")


def first_timeseries(dashboard: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in panels_of(dashboard) if p["type"] == "timeseries")


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            'sum(rate(audio_samples_processed_total{job=~"$job",dataset=~"$dataset"}[5m',
            "does not parse as PromQL",
        ),
        (
            'sum(audio_samples_processed_total{job=~"$job",dataset=~"$dataset"})',
            "audio_samples_processed_total is a counter",
        ),
        (
            'histogram_quantile(0.5, sum by (le) (audio_quality_score_bucket{job=~"$job",'
            'dataset=~"$dataset"}))',
            "audio_quality_score_bucket is a counter",
        ),
        (
            'sum(rate(audio_samples_processed_total{job=~"$job",dataset=~"$dataset"}[5m]))',
            "window must be $__rate_interval",
        ),
        (
            'sum(rate(audio_samples_processed_total{job=~"$job",dataset=~"$dataset"}[$__range]))',
            "window must be $__rate_interval",
        ),
        (
            'sum(increase(audio_samples_processed_total{job=~"$job",dataset=~"$dataset"}[1h]))',
            "window must be $__rate_interval or $__range",
        ),
        (
            # Classic only: no series under the histogram's own name (native ones have one).
            'histogram_quantile(0.5, audio_snr_db{job=~"$job",dataset=~"$dataset"})',
            "audio_snr_db is not a series vumeter exports",
        ),
        (
            'sum(rate(audio_samples_processed_total{dataset=~"$dataset"}[$__rate_interval]))',
            'must be filtered with job=~"$job"',
        ),
        (
            'sum(rate(audio_samples_processed_total{job=~"$job"}[$__rate_interval]))',
            'filter it with dataset=~"$dataset"',
        ),
        (
            'sum(rate(audio_samples_processed_total{job=~"$job",dataset=~"$dataset"}'
            "[$__rate_interval]))",
            'audio_samples_processed_total lacks the configured selector job=~"vumeter.*"',
        ),
    ],
    ids=[
        "syntax",
        "raw-counter",
        "raw-bucket",
        "fixed-window",
        "rate-over-range",
        "fixed-increase",
        "unknown-series",
        "no-job-filter",
        "no-dataset-filter",
        "no-ops-selector",
    ],
)
def test_linter_reports_a_broken_query(expr: str, expected: str) -> None:
    dashboard = overview()
    first_timeseries(dashboard)["targets"][0]["expr"] = expr
    problems = lint(dashboard)
    assert any(expected in problem for problem in problems), problems


def test_linter_reports_missing_units_descriptions_and_datasources() -> None:
    dashboard = overview()
    panel = first_timeseries(dashboard)
    panel["description"] = " "
    del panel["fieldConfig"]["defaults"]["unit"]
    panel["datasource"] = {"type": "prometheus", "uid": "my-prometheus"}
    other = next(p for p in panels_of(dashboard) if p is not panel)
    other["fieldConfig"]["defaults"]["unit"] = "bytez"
    problems = "\n".join(lint(dashboard))
    assert "needs a description" in problems
    assert "needs a unit" in problems
    assert "unit 'bytez' is not one of" in problems
    assert "datasource must be" in problems


@pytest.mark.parametrize("variable", ["datasource", "job", "dataset"])
def test_linter_reports_a_missing_variable(variable: str) -> None:
    dashboard = overview()
    dashboard["templating"]["list"] = [
        v for v in dashboard["templating"]["list"] if v["name"] != variable
    ]
    assert any(f"`{variable}` variable" in problem for problem in lint(dashboard))


def test_linter_reports_a_job_variable_without_the_ops_selector() -> None:
    dashboard = copy.deepcopy(overview())
    for variable in dashboard["templating"]["list"]:
        if variable["name"] == "job":
            variable["query"] = "label_values(audio_samples_processed_total, job)"
    assert any(
        problem.startswith("the `job` variable: audio_samples_processed_total lacks")
        for problem in lint(dashboard)
    )


def test_linter_reports_a_single_value_dataset_variable() -> None:
    dashboard = copy.deepcopy(overview())
    for variable in dashboard["templating"]["list"]:
        if variable["name"] == "dataset":
            variable["multi"] = False
    assert "the `dataset` variable must be multi-value with an All option" in lint(dashboard)


def test_every_recording_rule_is_read_by_a_dashboard() -> None:
    # Recording rules cost Prometheus work on every evaluation; one no panel reads is waste.
    queries = " ".join(
        target["expr"]
        for path in DASHBOARDS
        for panel in panels_of(load(path))
        for target in panel["targets"]
    )
    unused = [name for name in metric_catalog.recorded_names() if name not in queries]
    assert unused == []
