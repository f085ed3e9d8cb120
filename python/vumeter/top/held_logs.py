"""Log lines held back while a full-screen view owns the terminal.

A log handler writing to the terminal during the view would scribble over it. While
:func:`held_back` is active, every ``logging.StreamHandler`` of the root logger whose stream
is a terminal writes to a bounded buffer instead; afterwards, with the screen restored, the
lines held (the last ``limit``, and how many earlier ones were dropped) are written to the
terminal they were meant for.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections import deque
from collections.abc import Iterator
from typing import TextIO

__all__ = ["held_back"]


class _Held(io.TextIOBase):
    def __init__(self, limit: int) -> None:
        self.lines: deque[str] = deque(maxlen=limit)
        self.dropped = 0
        self.partial = ""

    def write(self, text: str) -> int:
        self.partial += text
        *complete, self.partial = self.partial.split("\n")
        for line in complete:
            if len(self.lines) == self.lines.maxlen:
                self.dropped += 1
            self.lines.append(line)
        return len(text)

    def writable(self) -> bool:
        return True


def _on_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def held_back(limit: int = 1000) -> Iterator[None]:
    swapped: list[tuple[logging.StreamHandler[TextIO], TextIO, _Held]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and _on_terminal(handler.stream):
            held = _Held(limit)
            original = handler.setStream(held)
            if original is not None:
                swapped.append((handler, original, held))
    try:
        yield
    finally:
        for handler, original, held in swapped:
            handler.setStream(original)
            if held.dropped:
                original.write(f"({held.dropped} earlier log lines were dropped)\n")
            for line in held.lines:
                original.write(line + "\n")
            if held.partial:
                original.write(held.partial)
            original.flush()
