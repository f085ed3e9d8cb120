"""Comparing expositions: only wall-clock values may differ between two renders of the
same operations (``_created`` timestamps and exemplar timestamps); mask them."""

from __future__ import annotations

import re

_CREATED = re.compile(r"^(\S+_created(?:\{.*\})?) \S+$", re.MULTILINE)
_EXEMPLAR_TIME = re.compile(r"^(.* # \{.*\} \S+) \S+$", re.MULTILINE)


def mask_clock(text: bytes) -> str:
    masked = _CREATED.sub(r"\1 <created>", text.decode())
    return _EXEMPLAR_TIME.sub(r"\1 <time>", masked)


def bucket_state(h: object) -> tuple[list[int], float | None]:
    """A histogram without labels as a user sees it: its cumulative bucket counts and
    its ``_sum`` (None when the family exposes none), read from ``collect()``."""
    [metric] = h.collect()  # type: ignore[attr-defined]
    cumulative = [int(s.value) for s in metric.samples if s.name.endswith("_bucket")]
    sums = [s.value for s in metric.samples if s.name.endswith("_sum")]
    return cumulative, sums[0] if sums else None
