"""The shape of a generated rule group: plain dicts as Prometheus reads them, plus a comment
per rule that the rule files carry (the reason an expression is written the way it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Group", "Rule"]


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule: ``body`` is what Prometheus reads."""

    body: dict[str, Any]
    comment: str = ""


@dataclass(frozen=True)
class Group:
    name: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rules": [rule.body for rule in self.rules]}
