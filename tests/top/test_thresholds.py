"""The thresholds ``vumeter top`` marks are the alert rules' own: read from the rule file."""

from __future__ import annotations

from typing import Any

import promql_parser
import pytest

from tests.ops.rule_files import alerting_rules
from vumeter.top import thresholds


def _comparisons(node: Any) -> dict[str, float]:
    """Every ``<expression> <comparison> <number>`` in a PromQL tree: operator -> number."""
    found: dict[str, float] = {}
    if isinstance(node, promql_parser.BinaryExpr):
        if isinstance(node.rhs, promql_parser.NumberLiteral):
            found[str(node.op)] = node.rhs.val
        found.update(_comparisons(node.lhs))
        if not isinstance(node.rhs, promql_parser.NumberLiteral):
            found.update(_comparisons(node.rhs))
    elif isinstance(node, promql_parser.ParenExpr):
        found.update(_comparisons(node.expr))
    return found


def _alert_comparisons(name: str) -> dict[str, float]:
    (rule,) = [rule for rule in alerting_rules() if rule["alert"] == name]
    return _comparisons(promql_parser.parse(rule["expr"]))


@pytest.mark.parametrize(
    ("alert", "operator", "constant"),
    [
        ("VumeterHighErrorRatio", ">", thresholds.ERROR_RATIO),
        ("VumeterHighErrorRatio", ">=", thresholds.ERROR_RATIO_MIN_ATTEMPTS_PER_SECOND),
        ("VumeterLowQualityScore", "<", thresholds.LOW_QUALITY_MEDIAN),
        ("VumeterGPUMemoryHigh", ">", thresholds.GPU_MEMORY_RATIO),
    ],
)
def test_threshold_matches_the_alert_rule(alert: str, operator: str, constant: float) -> None:
    comparisons = _alert_comparisons(alert)
    assert operator in comparisons, f"{alert} has no '{operator} <number>': {comparisons}"
    assert comparisons[operator] == constant


def test_the_comparison_finder_sees_every_comparison() -> None:
    # Guards the guard: the finder must reach both arms of an `and`.
    tree = promql_parser.parse("(a / b) > 0.05 and on (job) c >= 0.1")
    assert _comparisons(tree) == {">": 0.05, ">=": 0.1}
