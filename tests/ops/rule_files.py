"""Loading alerts/*.rules.yml and their promtool unit tests, for the tests in tests/ops."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.ops.metric_catalog import REPO

ALERTS_DIR = REPO / "alerts"
ALERTING_RULES = ALERTS_DIR / "vumeter-alerts.rules.yml"
RECORDING_RULES = ALERTS_DIR / "vumeter-recording.rules.yml"
RULE_FILES = (ALERTING_RULES, RECORDING_RULES)
UNIT_TESTS = tuple(sorted((ALERTS_DIR / "tests").glob("*.test.yaml")))
RUNBOOK = REPO / "docs" / "alerts.md"

Rule = dict[str, Any]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alerting_rules() -> list[Rule]:
    """Every alerting rule, in file order."""
    document = load_yaml(ALERTING_RULES)
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def all_rules() -> list[Rule]:
    return [
        rule
        for path in RULE_FILES
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
    ]


def without_for(document: Any) -> Any:
    """A copy of a rules document whose alerts fire on their first true evaluation.

    Only the live test uses this: the real `for` durations (2 to 30 minutes) are longer than
    a test should run, while the expressions, which are what it proves against real data,
    stay exactly as committed.
    """
    relaxed = copy.deepcopy(document)
    for group in relaxed["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    return relaxed
