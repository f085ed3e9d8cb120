"""YAML for the generated rules: the rule files Prometheus loads and the Kubernetes
PrometheusRule that carries the same groups for the Prometheus Operator.

PromQL is written as ``|`` blocks and long annotations folded (``>-``), so the files read as
if written by hand; each rule's comment sits above it. Rendering checks that the
text parses back to exactly the rules it was made from.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, Final

import yaml

from ops.rules.model import Group

__all__ = ["prometheus_rule", "rule_file"]

_WIDTH = 96  # folded annotations wrap here; comments too
_FOLD_AFTER = 60  # single-line strings longer than this are folded


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as ``|`` blocks; long prose as placeholders that
    :func:`_dump` replaces by ``>-`` blocks folded between words."""

    folded: list[str]


def _represent_str(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if len(value) > _FOLD_AFTER and " " in value and "  " not in value:
        dumper.folded.append(value)
        value = f"__folded_{len(dumper.folded) - 1}__"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)

# A word, or a whole Go template action ({{ $value | humanizePercentage }}): never split.
_WORDS: Final = re.compile(r"\{\{.*?\}\}\S*|\S+")
_PLACEHOLDER: Final = re.compile(r"^(?P<indent> *)(?P<key>[^:]+: )__folded_(?P<index>\d+)__$")


def _dump(document: Any, width: int = _WIDTH) -> str:
    folded: list[str] = []

    class Dumper(_Dumper):
        pass

    Dumper.folded = folded
    text: str = yaml.dump(document, Dumper=Dumper, sort_keys=False, width=width, allow_unicode=True)
    lines = []
    for line in text.splitlines():
        match = _PLACEHOLDER.match(line)
        if match is None:
            lines.append(line)
            continue
        indent = match["indent"] + "  "
        lines.append(f"{match['indent']}{match['key']}>-")
        lines += _fold(folded[int(match["index"])], indent, width)
    return "\n".join(lines) + "\n"


def _fold(text: str, indent: str, width: int) -> list[str]:
    """``text`` as the lines of a folded block (YAML joins them with one space)."""
    lines: list[str] = []
    line = ""
    for word in _WORDS.findall(text):
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(indent + line)
    return lines


def _comment(text: str, indent: str) -> list[str]:
    return [
        f"{indent}# {line}"
        for line in textwrap.wrap(text, _WIDTH - len(indent) - 2, break_on_hyphens=False)
    ]


def _groups(groups: list[Group], indent: str) -> list[str]:
    lines = [f"{indent}groups:"]
    for group_index, group in enumerate(groups):
        if group_index:
            lines.append("")
        lines += [f"{indent}  - name: {group.name}", f"{indent}    rules:"]
        item = indent + "      "
        for rule_index, rule in enumerate(group.rules):
            if rule_index:
                lines.append("")
            body = _dump(rule.body, _WIDTH - len(item) - 2).splitlines()
            if rule.comment:
                lines += _comment(rule.comment, item)
            lines.append(f"{item}- {body[0]}")
            lines += [f"{item}  {line}" for line in body[1:]]
    return lines


def _checked(text: str, expected: Any, path: list[str]) -> str:
    document = yaml.safe_load(text)
    for key in path:
        document = document[key]
    if document != expected:
        raise AssertionError("the rendered YAML does not parse back to the rules it came from")
    return text


def rule_file(groups: list[Group], header: str) -> str:
    """A Prometheus rule file: ``header`` as a comment, then the groups."""
    lines = _comment_block(header)
    lines += _groups(groups, "")
    return _checked("\n".join(lines) + "\n", [g.as_dict() for g in groups], ["groups"])


def prometheus_rule(groups: list[Group], header: str, name: str = "vumeter") -> str:
    """A Prometheus Operator ``PrometheusRule`` holding ``groups``."""
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": "vumeter",
                "app.kubernetes.io/part-of": "vumeter",
            },
        },
    }
    lines = _comment_block(header) + _dump(resource).splitlines() + ["spec:"]
    lines += _groups(groups, "  ")
    return _checked("\n".join(lines) + "\n", [g.as_dict() for g in groups], ["spec", "groups"])


def _comment_block(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        if lines:
            lines.append("#")
        lines += _comment(" ".join(paragraph.split()), "")
    return lines
