"""A small Dockerfile reader for the static checks (no Docker engine is needed or assumed)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ...
    arguments: str  # the rest of the logical line, continuations joined

    def exec_form(self) -> list[str]:
        """The JSON-array (exec) form's words; raises ValueError for the shell form."""
        words = json.loads(self.arguments)
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{self.keyword} is not in exec form: {self.arguments}")
        return words


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        if not found:
            raise AssertionError(f"stage {self.name or self.base} has no {keyword}")
        return found[-1]


def instructions(path: Path) -> list[Instruction]:
    """Logical instructions: comments dropped, backslash continuations joined."""
    result: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        keyword, _, arguments = logical.partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def stages(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults, and the build stages in order."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            words = shlex.split(instruction.arguments)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            found.append(Stage(words[0], name))
        elif not found:
            if instruction.keyword == "ARG":
                key, _, value = instruction.arguments.partition("=")
                global_args[key] = value
        else:
            found[-1].instructions.append(instruction)
    return global_args, found


def stage_args(stage: Stage) -> dict[str, str]:
    """The stage's ARG defaults."""
    values = {}
    for instruction in stage.all("ARG"):
        key, _, value = instruction.arguments.partition("=")
        values[key] = value
    return values


def expand(text: str, variables: dict[str, str]) -> str:
    for key, value in variables.items():
        text = text.replace("${" + key + "}", value).replace("$" + key, value)
    return text
