"""``vumeter top``: the live full-screen view, or one plain-text snapshot.

The live view runs on the alternate screen: the poller threads wake the main thread through
a pipe after every poll, the main thread redraws, reads keys (``q`` quits, ``p`` pauses and
resumes) and redraws on a resize. However it ends (``q``, Ctrl-C, SIGTERM, the caller's
``stop``), the alternate screen is left, the cursor shown and the terminal's settings put
back. When standard output is not a terminal, or with ``--once``, one snapshot is printed.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import TextIO

from rich.console import Console
from rich.live import Live

from vumeter.top.endpoint import Endpoint, Poller
from vumeter.top.held_logs import held_back
from vumeter.top.keys import KeyReader
from vumeter.top.options import TopOptions
from vumeter.top.panels import render_view
from vumeter.top.view import View, build_view

__all__ = ["print_snapshot", "run_live", "run_top"]

_SNAPSHOT_WIDTH = 120
# How often (seconds) the loop checks the caller's stop() while no poll or key wakes it.
_TICK = 0.5


def run_top(options: TopOptions) -> int:
    """Run ``vumeter top``; return the exit status."""
    if options.once or not sys.stdout.isatty() or not sys.stdin.isatty():
        return print_snapshot(options)
    return run_live(options)


def _endpoints(options: TopOptions) -> list[Endpoint]:
    return [Endpoint(url, window=options.window, timeout=options.timeout) for url in options.urls]


def print_snapshot(options: TopOptions, out: TextIO | None = None) -> int:
    """Poll every endpoint twice, ``interval`` apart, and print one plain-text view: rates
    over that interval, distributions since each worker started. Exit status 1 when no
    endpoint answered."""
    out = sys.stdout if out is None else out
    endpoints = _endpoints(options)
    with ThreadPoolExecutor(len(endpoints), thread_name_prefix="vumeter-top-poll") as pool:
        list(pool.map(Endpoint.poll, endpoints))
        time.sleep(options.interval)  # the interval the rates are measured over
        list(pool.map(Endpoint.poll, endpoints))
    view = build_view([e.state() for e in endpoints], distributions="since_start")
    width = _snapshot_width()
    console = Console(
        file=out, width=width, color_system=None, force_terminal=False, highlight=False
    )
    console.print(render_view(view, width=width, interval=options.interval, keys=False))
    return 0 if any(e.state().up for e in endpoints) else 1


def _snapshot_width() -> int:
    try:
        return max(60, int(os.environ.get("COLUMNS", _SNAPSHOT_WIDTH)))
    except ValueError:
        return _SNAPSHOT_WIDTH


class _Terminate(Exception):
    """SIGTERM, raised in the main thread so that the terminal is restored on the way out."""


@contextlib.contextmanager
def _signals(wake: Callable[[], None], terminate_on_sigterm: bool) -> Iterator[None]:
    def terminate(signum: int, frame: FrameType | None) -> None:
        raise _Terminate

    def resized(signum: int, frame: FrameType | None) -> None:
        wake()

    previous = {signal.SIGWINCH: signal.signal(signal.SIGWINCH, resized)}
    if terminate_on_sigterm:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_live(
    options: TopOptions,
    *,
    stop: Callable[[], bool] | None = None,
    console: Console | None = None,
) -> int:
    """The full-screen view until ``q``, Ctrl-C, SIGTERM or ``stop()`` returning true
    (checked at least every half second). Must run in the main thread.

    With ``stop``, the caller owns SIGINT and SIGTERM (its handlers stay, and ``stop()``
    says when they fired); without it, Ctrl-C and SIGTERM end the view. Log lines meant
    for the terminal are held back until the screen is restored."""
    console = Console() if console is None else console
    endpoints = _endpoints(options)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)

    def wake() -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe wakes the loop anyway
            os.write(wake_write, b".")

    poller = Poller(endpoints, options.interval, on_poll=wake)
    try:
        with (
            _signals(wake, terminate_on_sigterm=stop is None),
            held_back(),
            KeyReader() as keys,
            Live(console=console, screen=True, auto_refresh=False, transient=True) as live,
        ):
            poller.start()
            _loop(live, console, keys, wake_read, endpoints, options, stop)
    except (KeyboardInterrupt, _Terminate):
        pass  # a clean exit: the context managers above restored the terminal
    finally:
        poller.stop()
        os.close(wake_read)
        os.close(wake_write)
    return 0


def _loop(
    live: Live,
    console: Console,
    keys: KeyReader,
    wake_read: int,
    endpoints: Sequence[Endpoint],
    options: TopOptions,
    stop: Callable[[], bool] | None,
) -> None:
    paused = False
    frozen: View | None = None
    dirty = True  # redraw after a poll, a key or a resize, not on every tick
    while stop is None or not stop():
        if dirty:
            if not paused or frozen is None:
                frozen = build_view([e.state() for e in endpoints])
            live.update(
                render_view(
                    frozen,
                    width=console.width,
                    height=console.height,
                    interval=options.interval,
                    paused=paused,
                ),
                refresh=True,
            )
            dirty = False
        readable, _, _ = select.select([keys.fileno(), wake_read], [], [], _TICK)
        if wake_read in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            dirty = True
        if keys.fileno() in readable:
            pressed = keys.read()
            if not pressed:
                return  # standard input closed
            for key in pressed.lower():
                if key == "q":
                    return
                if key == "p":
                    paused = not paused
                    dirty = True
