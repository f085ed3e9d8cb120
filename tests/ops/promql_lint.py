"""PromQL checks shared by the dashboard linter and the alert-rule tests.

Queries are parsed with `promql_parser` (a Rust PromQL parser compatible with Prometheus
2.45). Grafana's variables are not PromQL, so `parse_dashboard_query` substitutes them first:
label-value variables (`$job`) only appear inside strings and parse as they are, while the
range variables become sentinel durations no real query uses, so a range can be traced back
to the variable it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import promql_parser as promql

# Grafana range variable -> the sentinel duration substituted for it before parsing.
RANGE_SENTINELS = {
    "$__rate_interval": timedelta(seconds=7717),
    "$__range": timedelta(seconds=8819),
    "$__interval": timedelta(seconds=9929),
}

# Functions that read counters correctly: they handle resets and turn totals into rates.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
# Per-second functions whose window must adapt to the scrape interval.
RATE_FUNCTIONS = frozenset({"rate", "irate"})
# Series types that only make sense inside COUNTER_FUNCTIONS.
_COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


@dataclass
class Selector:
    """One vector selector of a query and where it sits."""

    name: str
    matchers: list[tuple[str, str, str]]  # (label, operator, value); a label may repeat
    range: timedelta | None  # the window when inside a range selector
    function: str | None  # the function applied to the range, if any

    def has(self, label: str, operator: str, value: str) -> bool:
        return (label, operator, value) in self.matchers


@dataclass
class QueryFacts:
    """What a parsed query selects, collected in one walk of its syntax tree."""

    selectors: list[Selector] = field(default_factory=list)


def substitute_grafana_variables(expr: str) -> str:
    """`expr` with Grafana's range variables replaced by their sentinel durations."""
    for variable, sentinel in sorted(RANGE_SENTINELS.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(variable, f"{int(sentinel.total_seconds())}s")
    # ${var} spelling of label variables, normalised so matchers compare simply.
    return expr.replace("${job}", "$job").replace("${dataset}", "$dataset")


def parse(expr: str) -> QueryFacts:
    """Parse `expr` (raising ValueError with the parser's reason) and collect its selectors."""
    facts = QueryFacts()
    _collect(promql.parse(expr), facts, function=None)
    return facts


def parse_dashboard_query(expr: str) -> QueryFacts:
    return parse(substitute_grafana_variables(expr))


def _collect(node: object, facts: QueryFacts, function: str | None) -> None:
    if isinstance(node, promql.VectorSelector):
        facts.selectors.append(_selector(node, None, None))
    elif isinstance(node, promql.MatrixSelector):
        facts.selectors.append(_selector(node.vector_selector, node.range, function))
    elif isinstance(node, promql.Call):
        for argument in node.args:
            _collect(argument, facts, node.func.name)
    elif isinstance(node, promql.AggregateExpr):
        _collect(node.expr, facts, None)
        if isinstance(node.param, promql.Expr):
            _collect(node.param, facts, None)
    elif isinstance(node, promql.BinaryExpr):
        _collect(node.lhs, facts, None)
        _collect(node.rhs, facts, None)
    elif isinstance(node, promql.ParenExpr | promql.UnaryExpr):
        _collect(node.expr, facts, function)
    elif isinstance(node, promql.SubqueryExpr):
        # A subquery's inner expression is evaluated as an instant vector at each step.
        _collect(node.expr, facts, None)
    elif not isinstance(node, promql.NumberLiteral | promql.StringLiteral):
        raise TypeError(f"unexpected PromQL node {type(node).__name__}: {node}")


def _selector(
    node: promql.VectorSelector, window: timedelta | None, function: str | None
) -> Selector:
    matchers = [(m.name, _operator(m.op), m.value) for m in node.matchers.matchers]
    names = [value for label, _, value in matchers if label == "__name__"]
    name = node.name or (names[0] if names else "")
    return Selector(name=name, matchers=matchers, range=window, function=function)


def matchers_of(selector: str) -> list[tuple[str, str, str]]:
    """The matchers of a bare selector such as ``job=~"vumeter.*",namespace="audio"``."""
    (parsed,) = parse(f"up{{{selector}}}").selectors
    return parsed.matchers


def missing_matchers(facts: QueryFacts, required: Sequence[tuple[str, str, str]]) -> list[str]:
    """Selectors that lack one of ``required`` (the ops configuration's selector), one
    message each; recorded series are exempt (their rules applied the selector)."""
    return [
        f'{s.name} lacks the configured selector {label}{operator}"{value}"'
        for s in facts.selectors
        if ":" not in s.name
        for label, operator, value in required
        if not s.has(label, operator, value)
    ]


def _operator(op: promql.MatchOp) -> str:
    # MatchOp values are not hashable, so no dict lookup.
    for candidate, text in (
        (promql.MatchOp.Equal, "="),
        (promql.MatchOp.NotEqual, "!="),
        (promql.MatchOp.Re, "=~"),
        (promql.MatchOp.NotRe, "!~"),
    ):
        if op == candidate:
            return text
    raise TypeError(f"unknown PromQL match operator {op!r}")


def is_counter_like(series: str) -> bool:
    """Counters and histogram components: only rate()/increase() of them means anything.

    Recorded series (with `:` in the name) already hold rates, whatever their suffix.
    """
    return ":" not in series and series.endswith(_COUNTER_SUFFIXES)


def counter_misuse(facts: QueryFacts) -> list[str]:
    """Counters read raw (not inside rate/irate/increase), one message each."""
    return [
        f"{s.name} is a counter; read it only through rate(), irate() or increase()"
        for s in facts.selectors
        if is_counter_like(s.name) and (s.range is None or s.function not in COUNTER_FUNCTIONS)
    ]


def range_variable_misuse(facts: QueryFacts) -> list[str]:
    """Range windows that are not Grafana's adaptive variables, one message each.

    rate() and irate() need `$__rate_interval` (at least four scrapes, whatever the zoom);
    increase() may also total a stat over the whole `$__range`.
    """
    rate_interval = RANGE_SENTINELS["$__rate_interval"]
    whole_range = RANGE_SENTINELS["$__range"]
    problems = []
    for s in facts.selectors:
        if s.range is None:
            continue
        allowed = {rate_interval} if s.function in RATE_FUNCTIONS else {rate_interval, whole_range}
        if s.range not in allowed:
            expected = " or ".join(
                variable for variable, sentinel in RANGE_SENTINELS.items() if sentinel in allowed
            )
            shown = next((v for v, d in RANGE_SENTINELS.items() if d == s.range), str(s.range))
            problems.append(f"{s.function}({s.name}[{shown}]): window must be {expected}")
    return problems
