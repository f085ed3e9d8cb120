"""Log lines meant for the terminal wait while the full-screen view runs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from vumeter.top.held_logs import held_back


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal() -> Iterator[_Terminal]:
    stream = _Terminal()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_lines_are_held_and_written_after_the_view(terminal: _Terminal) -> None:
    log = logging.getLogger("vumeter.test.held")
    with held_back():
        log.warning("first")
        log.warning("second")
        assert terminal.getvalue() == ""
    assert terminal.getvalue() == "first\nsecond\n"
    log.warning("after")
    assert terminal.getvalue().endswith("after\n")


def test_only_the_last_lines_are_kept(terminal: _Terminal) -> None:
    log = logging.getLogger("vumeter.test.held")
    with held_back(limit=2):
        for number in range(5):
            log.warning("line %d", number)
    assert terminal.getvalue() == "(3 earlier log lines were dropped)\nline 3\nline 4\n"


def test_a_handler_writing_elsewhere_is_left_alone() -> None:
    stream = io.StringIO()  # not a terminal: a file or a pipe
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        with held_back():
            logging.getLogger("vumeter.test.held").warning("straight through")
            assert "straight through" in stream.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)
