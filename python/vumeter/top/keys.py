"""Single key presses from the terminal, and the terminal's settings put back afterwards.

:class:`KeyReader` switches the terminal to cbreak mode (keys arrive one at a time, not
echoed) and restores the saved settings on exit, however the view ends. Signal keys stay
on: Ctrl-C still sends SIGINT, which the view turns into a clean exit.
"""

from __future__ import annotations

import os
import sys
import termios
import tty
from types import TracebackType
from typing import Any, TextIO

__all__ = ["KeyReader"]


class KeyReader:
    """A context manager over a terminal input stream (default: standard input)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stdin if stream is None else stream
        self._fd = self._stream.fileno()
        self._saved: list[Any] | None = None

    def fileno(self) -> int:
        return self._fd

    def __enter__(self) -> KeyReader:
        if os.isatty(self._fd):
            self._saved = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self) -> str:
        """The keys waiting (call when :meth:`fileno` is readable); empty at end of input."""
        return os.read(self._fd, 256).decode("utf-8", errors="replace")
