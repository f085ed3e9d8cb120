"""One OpsConfig re-targets the whole set: a changed selector, threshold, duration, runbook
pattern or data source reaches every expression of every rule and panel it concerns."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml
from ops.config import DEFAULT, OpsConfig
from ops.generate import render_all

from tests.ops import promql_lint
from tests.ops.dashboard_lint import panels_of

CUSTOM = OpsConfig(
    selector='cluster="eu-1",job=~"audio-.*"',
    rate_window="2m",
    error_ratio=0.07,
    min_attempts_per_second=0.3,
    median_quality=0.6,
    latency_p99_seconds=4,
    gpu_memory_ratio=0.8,
    push_stale_seconds=900,
    error_logs_per_second=0.5,
    backlog_items=25,
    runbook_url="https://runbooks.example.org/vumeter/{anchor}.html",
    datasource_type="grafana-prometheus",
    **{
        field.name: f"{index + 17}m"
        for index, field in enumerate(dataclasses.fields(OpsConfig))
        if field.name.endswith("_for")
    },
)
REQUIRED = promql_lint.matchers_of(CUSTOM.selector)
DEFAULT_MATCHERS = promql_lint.matchers_of(DEFAULT.selector)


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_all(CUSTOM)


def rules_of(files: dict[str, str]) -> list[dict[str, Any]]:
    documents = [yaml.safe_load(files[path]) for path in files if path.startswith("alerts/")]
    groups = [g for d in documents for g in d["groups"]]
    operator = yaml.safe_load(files["deploy/k8s/prometheusrule.yaml"])["spec"]["groups"]
    assert operator == groups  # the PrometheusRule carries the very same rules
    return [rule for group in groups for rule in group["rules"]]


def dashboards_of(files: dict[str, str]) -> list[dict[str, Any]]:
    return [json.loads(text) for path, text in files.items() if path.startswith("dashboards/")]


def test_the_custom_config_differs_from_the_default_everywhere_it_is_tested() -> None:
    assert CUSTOM.selector != DEFAULT.selector
    assert {f.name for f in dataclasses.fields(OpsConfig) if f.name.endswith("_for")} == {
        name for name, value in vars(CUSTOM).items() if name.endswith("_for")
    }
    assert all(
        getattr(CUSTOM, f.name) != getattr(DEFAULT, f.name)
        for f in dataclasses.fields(OpsConfig)
        if f.name.endswith("_for")
    )


def test_selector_reaches_every_selector_of_every_rule(files: dict[str, str]) -> None:
    rules = rules_of(files)
    assert len(rules) == 17
    for rule in rules:
        facts = promql_lint.parse(rule["expr"])
        assert facts.selectors, rule
        assert promql_lint.missing_matchers(facts, REQUIRED) == [], rule
        for selector in facts.selectors:  # the default selector is gone entirely
            assert not any(selector.has(*matcher) for matcher in DEFAULT_MATCHERS), rule


def test_selector_reaches_every_panel_query_and_variable(files: dict[str, str]) -> None:
    recorded = {rule["record"]: rule for rule in rules_of(files) if "record" in rule}
    assert all(name.endswith("rate2m") for name in recorded)  # named after the window
    queries = 0
    for dashboard in dashboards_of(files):
        for panel in panels_of(dashboard):
            for target in panel["targets"]:
                facts = promql_lint.parse_dashboard_query(target["expr"])
                assert promql_lint.missing_matchers(facts, REQUIRED) == [], target["expr"]
                for selector in facts.selectors:
                    assert not any(selector.has(*m) for m in DEFAULT_MATCHERS), target["expr"]
                    # A recorded series comes from a rule of this configuration, which
                    # applied the selector (checked above for every rule).
                    assert ":" not in selector.name or selector.name in recorded
                queries += 1
        variables = {v["name"]: v["query"] for v in dashboard["templating"]["list"]}
        for name in ("job", "dataset"):
            selector = variables[name].removeprefix("label_values(").rsplit(",", 1)[0]
            facts = promql_lint.parse_dashboard_query(selector)
            assert promql_lint.missing_matchers(facts, REQUIRED) == [], variables[name]
    assert queries >= 40  # the panels were really looked at (46 queries today)


def test_thresholds_durations_and_runbooks_reach_their_alerts(files: dict[str, str]) -> None:
    alerts = {rule["alert"]: rule for rule in rules_of(files) if "alert" in rule}
    expected = {
        "VumeterHighErrorRatio": ("> 0.07", ">= 0.3", "threshold 7 %"),
        "VumeterHighLatencyP99": ("> 4\n", ">= 0.3", "above 4 s"),
        "VumeterLowQualityScore": ("< 0.6", ">= 0.01", "below 0.6"),
        "VumeterGPUMemoryHigh": ("> 0.8", "", "more than 80 %"),
        "VumeterPushStale": ("> 900", "", ""),
        "VumeterErrorLogBurst": ("> 0.5", "[2m]", "more than 0.5 messages"),
        "VumeterQueueBacklogGrowing": ("> 25", "", ""),
    }
    for name, (threshold, guard, text) in expected.items():
        rule = alerts[name]
        assert threshold in rule["expr"], (name, rule["expr"])
        assert guard in rule["expr"], (name, rule["expr"])
        assert text in rule["annotations"]["description"], (name, rule["annotations"])
    for field in dataclasses.fields(OpsConfig):
        if field.name.endswith("_for"):
            value = getattr(CUSTOM, field.name)
            assert value in {rule["for"] for rule in alerts.values()}, field.name
    assert len({rule["for"] for rule in alerts.values()}) == len(alerts)  # each its own
    for name, rule in alerts.items():
        assert rule["annotations"]["runbook_url"] == (
            f"https://runbooks.example.org/vumeter/{name.lower()}.html"
        )
    assert "[2m]" in alerts["VumeterHighErrorRatio"]["expr"]


def test_thresholds_and_the_data_source_reach_the_panels(files: dict[str, str]) -> None:
    steps: dict[str, list[float]] = {}
    for dashboard in dashboards_of(files):
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["query"] == "grafana-prometheus"
        for panel in panels_of(dashboard):
            assert panel["datasource"]["type"] == "grafana-prometheus"
            assert all(t["datasource"]["type"] == "grafana-prometheus" for t in panel["targets"])
            thresholds = panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]
            steps.setdefault(panel["title"], []).extend(step["value"] for step in thresholds)
    assert steps["Error ratio"] == [0.07]
    assert steps["Error ratio by dataset"] == [0.07]
    assert steps["Median quality score"] == [0.6]
    assert steps["Median quality score by dataset"] == [0.6, 0.6]  # Overview and Quality
    assert steps["Latency p99 by operation"] == [4]
    assert steps["GPU memory used ratio"] == [0.8]
    assert steps["Time since last accepted push"] == [900]
    assert "Share of samples scoring below 0.6" in steps


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"selector": 'job=~"vumeter.*'}, "selector must be PromQL label matchers"),
        ({"error_ratio_for": "10 minutes"}, "expected a Prometheus duration"),
        ({"error_ratio": 5}, "error_ratio must lie between 0 and 1"),
        ({"latency_p99_seconds": 0}, "latency_p99_seconds must be > 0"),
        ({"median_quality": 0.55}, "median_quality must be a bucket bound"),
        ({"runbook_url": "https://example.org/runbook"}, "runbook_url must contain {anchor}"),
    ],
)
def test_bad_settings_fail_with_a_clear_error(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(DEFAULT, **changes)
