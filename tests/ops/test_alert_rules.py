"""The alerting and recording rules in alerts/: valid, documented, and proven by promtool.

`promtool check rules` only proves rules parse: the plain first drafts of three of these
alerts (docs/alerts.md) passed it and were all wrong. So besides running the unit tests, this
module swaps each defective expression (and each guard's removal) back into a copy of the
rules and checks that the unit tests catch it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops.config import DEFAULT

from tests.ops import metric_catalog, promql_lint, rule_files
from tests.support.binaries import require_binary


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_promtool_check_rules_accepts_the_rule_files() -> None:
    result = promtool("check", "rules", *map(str, rule_files.RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout  # alerting
    assert "SUCCESS: 6 rules found" in result.stdout  # recording


def test_promtool_unit_tests_pass() -> None:
    assert len(rule_files.UNIT_TESTS) >= 6
    result = promtool("test", "rules", *map(str, rule_files.UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(rule_files.UNIT_TESTS)


@pytest.mark.parametrize("rule", rule_files.alerting_rules(), ids=lambda rule: rule["alert"])
def test_alert_is_labelled_annotated_and_has_a_runbook_section(rule: rule_files.Rule) -> None:
    assert re.fullmatch(r"Vumeter[A-Z][A-Za-z0-9]+", rule["alert"])
    assert rule["labels"]["severity"] in ("critical", "warning")
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert len(annotations["description"]) > len(annotations["summary"])
    assert annotations["runbook_url"] == DEFAULT.runbook(rule["alert"])
    assert annotations["runbook_url"].endswith("docs/alerts.md#" + rule["alert"].lower())
    assert rule["alert"].lower() in runbook_anchors()
    assert rule.get("for", "0s") not in ("0s", "0m"), "every alert needs a `for` to be pending"


def runbook_anchors() -> set[str]:
    """The anchors GitHub generates for the headings of docs/alerts.md."""
    anchors = set()
    for line in rule_files.RUNBOOK.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize(
    "rule", rule_files.all_rules(), ids=lambda rule: rule.get("alert") or rule["record"]
)
def test_rule_expression_names_only_exported_series(rule: rule_files.Rule) -> None:
    facts = promql_lint.parse(rule["expr"])
    exported = metric_catalog.exported_series_names()
    assert [s.name for s in facts.selectors if s.name not in exported] == []
    assert promql_lint.counter_misuse(facts) == []
    assert promql_lint.missing_matchers(facts, promql_lint.matchers_of(DEFAULT.selector)) == []


def unit_test_cases() -> list[dict[str, Any]]:
    return [case for path in rule_files.UNIT_TESTS for case in rule_files.load_yaml(path)["tests"]]


@pytest.mark.parametrize("rule", rule_files.alerting_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_tested_firing_pending_and_silent(rule: rule_files.Rule) -> None:
    name = rule["alert"]
    fires = pending = silent = False
    for case in unit_test_cases():
        checks = [c for c in case.get("alert_rule_test", []) if c["alertname"] == name]
        fired_here = any(c["exp_alerts"] for c in checks)
        fires |= fired_here
        silent |= not fired_here and any(not c["exp_alerts"] for c in checks)
        for expr_test in case.get("promql_expr_test", []):
            pending |= f'alertname="{name}"' in expr_test["expr"] and any(
                'alertstate="pending"' in sample["labels"] for sample in expr_test["exp_samples"]
            )
    assert fires, f"no unit test where {name} fires"
    assert pending, f"no unit test where {name} is pending inside its `for`"
    assert silent, f"no near-miss unit test where {name} stays silent"


# Defective expressions the unit tests must reject: (alert, what is swapped in, test file).
# The first three are the plain first drafts (docs/specification.md), verbatim.
DEFECTS = {
    "plain-error-rate": (
        "VumeterHighErrorRatio",
        "rate(audio_processing_errors_total[5m]) > 0.05",
        "processing",
    ),
    "plain-quality-median": (
        "VumeterLowQualityScore",
        "histogram_quantile(0.5, audio_quality_score) < 0.5",
        "quality",
    ),
    "plain-gpu-division": (
        "VumeterGPUMemoryHigh",
        "gpu_memory_usage_bytes / gpu_memory_total_bytes > 0.9",
        "gpu",
    ),
    "error-ratio-without-traffic-guard": (
        "VumeterHighErrorRatio",
        'sum by (job, dataset) (rate(audio_samples_processed_total{status="error"}[5m]))'
        " / sum by (job, dataset) (rate(audio_samples_processed_total[5m])) > 0.05",
        "processing",
    ),
    "stalled-with-and-instead-of-unless": (
        "VumeterProcessingStalled",
        "sum by (job, instance) (audio_processing_queue_size) > 0 and on (job, instance)"
        " sum by (job, instance) (rate(audio_samples_processed_total[5m])) == 0",
        "processing",
    ),
    "quality-without-traffic-guard": (
        "VumeterLowQualityScore",
        "histogram_quantile(0.5, sum by (job, dataset, le)"
        " (rate(audio_quality_score_bucket[15m]))) < 0.5",
        "quality",
    ),
    "error-logs-case-sensitive": (
        "VumeterErrorLogBurst",
        'sum by (job, instance) (rate(vumeter_log_messages_total{level="ERROR"}[5m])) > 0.2',
        "telemetry",
    ),
}


@pytest.mark.parametrize("defect", DEFECTS, ids=str)
def test_unit_tests_catch_a_defective_expression(defect: str, tmp_path: Path) -> None:
    alert, bad_expr, test_file = DEFECTS[defect]
    document = rule_files.load_yaml(rule_files.ALERTING_RULES)
    rules = [r for g in document["groups"] for r in g["rules"] if r.get("alert") == alert]
    assert len(rules) == 1
    rules[0]["expr"] = bad_expr
    (tmp_path / "tests").mkdir()
    (tmp_path / rule_files.ALERTING_RULES.name).write_text(
        yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
    )
    unit_test = rule_files.ALERTS_DIR / "tests" / f"{test_file}.test.yaml"
    shutil.copy(unit_test, tmp_path / "tests" / unit_test.name)

    checked = promtool("check", "rules", rule_files.ALERTING_RULES.name, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # the syntax is fine...
    tested = promtool("test", "rules", f"tests/{unit_test.name}", cwd=tmp_path)
    assert tested.returncode != 0, f"the unit tests accepted {bad_expr!r}"  # ...the behaviour not
    assert "FAILED" in tested.stdout + tested.stderr
