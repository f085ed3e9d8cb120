"""Comparing expositions: only wall-clock values may differ between two renders of the
same operations (``_created`` timestamps and exemplar timestamps); mask them."""

from __future__ import annotations

import re

_CREATED = re.compile(r"^(\S+_created(?:\{.*\})?) \S+$", re.MULTILINE)
_EXEMPLAR_TIME = re.compile(r"^(.* # \{.*\} \S+) \S+$", re.MULTILINE)


def mask_clock(text: bytes) -> str:
    masked = _CREATED.sub(r"\1 <created>", text.decode())
    return _EXEMPLAR_TIME.sub(r"\1 <time>", masked)
