"""``vumeter top`` in a real terminal: tmux runs it against the demo, the test reads the
screen, presses keys, and checks the terminal is given back as it was.

tmux is a Debian package that ``make test`` installs when it is missing; under CI=true a
missing tmux fails the test instead of skipping it. Every wait polls the screen against a
deadline; nothing sleeps a fixed time and then asserts.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.binaries import free_port, require_binary
from tests.top.servers import REPO_ROOT, running_demo

PROMPT = "top-test$ "
DATASETS = ("librispeech", "vctk", "commonvoice")
DEADLINE = 60.0


class Pane:
    """A tmux server of its own (its own socket) with one 200x60 shell pane."""

    def __init__(self, socket: Path) -> None:
        self.tmux = require_binary("tmux")
        self.socket = socket
        shell = f"env -i PATH=/usr/bin:/bin TERM=xterm-256color PS1={shlex.quote(PROMPT)} "
        shell += "HOME=/tmp bash --norc --noprofile -i"
        self._run("new-session", "-d", "-s", "top", "-x", "200", "-y", "60", shell)
        self.wait_for(lambda screen: screen.rstrip().endswith(PROMPT.rstrip()), "a prompt")

    def _run(self, *arguments: str) -> str:
        done = subprocess.run(
            [self.tmux, "-S", str(self.socket), *arguments],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "top")

    def flag(self, name: str) -> str:
        return self._run("display-message", "-p", "-t", "top", f"#{{{name}}}").strip()

    def type(self, text: str, enter: bool = True) -> None:
        self._run("send-keys", "-t", "top", "-l", text)
        if enter:
            self._run("send-keys", "-t", "top", "Enter")

    def resize(self, columns: int, lines: int) -> None:
        self._run("resize-window", "-t", "top", "-x", str(columns), "-y", str(lines))

    def key(self, name: str) -> None:
        self._run("send-keys", "-t", "top", name)

    def wait_for(self, check: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the pane never showed {what}:\n{screen}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(
            [self.tmux, "-S", str(self.socket), "kill-server"],
            capture_output=True,
            timeout=30,
            check=False,
        )


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    pane = Pane(tmp_path / "tmux.sock")
    yield pane
    pane.close()


def _rate(screen: str, dataset: str) -> float | None:
    """The success rate of ``dataset``'s measure stage on the screen, per second."""
    match = re.search(rf"{dataset}\s+measure\s+([\d.]+)/s", screen)
    return float(match.group(1)) if match else None


def _panels_with_numbers(screen: str) -> bool:
    rates = [_rate(screen, dataset) for dataset in DATASETS]
    return (
        all(rate is not None and rate > 0 for rate in rates)
        and re.search(r"enhance\s+\S+/s\s+[\d.]+ (ms|µs|s)\s", screen) is not None
        and all(re.search(rf"{d}\s+[ ▁▂▃▄▅▆▇█]+\s+\d+\s+0\.\d\d\s", screen) for d in DATASETS)
    )


def _top_command(url: str) -> str:
    # `st""atus` prints as `status`, so the typed command line never matches the output;
    # bash skips the echo if top died of the signal instead of exiting.
    top = f"{shlex.quote(sys.executable)} -m vumeter.cli top {url} --interval 0.5"
    return f'cd {shlex.quote(str(REPO_ROOT))} && {top}; echo st""atus=$?'


def _exit_status(screen: str) -> bool:
    return re.search(r"^status=\d+", screen, re.MULTILINE) is not None


def test_top_shows_the_demo_and_gives_the_terminal_back(pane: Pane) -> None:
    with running_demo() as url:
        pane.type(_top_command(url))
        screen = pane.wait_for(_panels_with_numbers, "the demo's datasets with rates")
        assert pane.flag("alternate_on") == "1"
        assert f"● {url}  up" in screen
        assert "readyz: ready" in screen
        assert "GPU monitoring down" in screen  # the demo runs without NVML here
        assert re.search(r"workers\s+pipeline\s+2", screen), screen
        # Plausible numbers: the demo feeds 6 samples/s over three datasets.
        for dataset in DATASETS:
            rate = _rate(screen, dataset)
            assert rate is not None
            assert 0 < rate < 30, screen
        assert re.search(r"(error ratio|librispeech)\s", screen)

        # A narrower terminal stacks the panels: throughput's title alone on its line.
        pane.resize(100, 60)
        pane.wait_for(
            lambda s: re.search(r"^╭─ throughput[^╮]*╮$", s, re.MULTILINE) is not None,
            "the panels stacked for 100 columns",
        )
        pane.resize(200, 60)
        pane.wait_for(
            lambda s: re.search(r"^╭─ throughput.*╮ ╭─ errors", s, re.MULTILINE) is not None,
            "the panels side by side again",
        )

        pane.type("p", enter=False)
        pane.wait_for(lambda s: "PAUSED" in s, "PAUSED")
        pane.type("p", enter=False)
        pane.wait_for(lambda s: "PAUSED" not in s and _panels_with_numbers(s), "resumed")

        pane.type("q", enter=False)
        screen = pane.wait_for(_exit_status, "the exit status")
    assert re.search(r"^status=0$", screen, re.MULTILINE), screen
    assert pane.flag("alternate_on") == "0"  # the alternate screen was left
    assert pane.flag("cursor_flag") == "1"  # the cursor is visible again
    assert "throughput" not in screen  # the view is gone with the alternate screen
    # Keys echo and lines are read whole again: the terminal's settings were restored.
    pane.type("echo restored-$((40 + 2))")
    pane.wait_for(lambda s: "echo restored-$((40 + 2))" in s and "\nrestored-42" in s, "echo")


def test_ctrl_c_exits_cleanly_and_restores_the_terminal(pane: Pane) -> None:
    with running_demo() as url:
        pane.type(_top_command(url))
        pane.wait_for(lambda s: "throughput" in s and pane.flag("alternate_on") == "1", "top")
        pane.key("C-c")
        screen = pane.wait_for(_exit_status, "the exit status")
    assert re.search(r"^status=0$", screen, re.MULTILINE), screen
    assert "Traceback" not in screen
    assert pane.flag("alternate_on") == "0"
    assert pane.flag("cursor_flag") == "1"
    pane.type("echo restored-$((40 + 2))")
    pane.wait_for(lambda s: "\nrestored-42" in s, "echo")


def test_demo_top_runs_the_view_in_place_of_the_progress_bar(pane: Pane) -> None:
    port = free_port()
    demo = (
        f"{shlex.quote(sys.executable)} -m vumeter.cli demo --top --port {port} --rate 6 "
        "--batch-size 3 --gpu-poll-interval 0 --grace-period 0 --seed 5"
    )
    pane.type(f'cd {shlex.quote(str(REPO_ROOT))} && {demo}; echo st""atus=$?')
    screen = pane.wait_for(_panels_with_numbers, "the demo's own view")
    assert f"● http://127.0.0.1:{port}/metrics  up" in screen
    assert pane.flag("alternate_on") == "1"
    pane.type("q", enter=False)
    screen = pane.wait_for(_exit_status, "the exit status")
    assert re.search(r"^status=0$", screen, re.MULTILINE), screen
    assert pane.flag("alternate_on") == "0"
    assert "(q was pressed in the view)" in " ".join(screen.split())
    assert "vumeter demo: 3 datasets" in screen  # the banner, kept below the view
