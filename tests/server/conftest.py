"""Fixtures for the server tests: a real server on a free loopback port, stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import queue
import select
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vumeter import CollectorRegistry
from vumeter.server import ServerHandle, serve

StartServer = Callable[..., ServerHandle]
WORKER_SCRIPT = Path(__file__).with_name("worker_process.py")


@pytest.fixture
def start_server(registry: CollectorRegistry) -> Iterator[StartServer]:
    """Start ``serve(...)`` on 127.0.0.1 with a free port; every server is stopped at teardown."""
    handles: list[ServerHandle] = []

    def start(**options: Any) -> ServerHandle:
        options.setdefault("host", "127.0.0.1")
        options.setdefault("port", 0)
        options.setdefault("registry", registry)
        options.setdefault("grace_period", 0.0)
        handle = serve(**options)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop(timeout=15)


class WorkerProcess:
    """``worker_process.py`` running in a subprocess, listening on ``url``."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._lines: queue.Queue[str] | None = None

    def read_line(self, timeout: float) -> dict[str, Any]:
        """The worker's next JSON line on standard output.

        Read by a thread through the buffered stream: ``select`` on the pipe would miss lines
        the stream has buffered already (the port line's read may have taken them too).
        """
        if self._lines is None:
            self._lines = queue.Queue()
            threading.Thread(target=self._read_lines, args=(self._lines,), daemon=True).start()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"the worker printed nothing within {timeout} s") from None
        if not line:
            raise EOFError("the worker closed its standard output")
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    def _read_lines(self, lines: queue.Queue[str]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            lines.put(line)
        lines.put("")

    def wait_exit(self, timeout: float) -> tuple[int, str]:
        """Exit status and the rest of stdout, once the worker has exited."""
        if self._lines is None:
            stdout, _ = self.process.communicate(timeout=timeout)
            return self.process.returncode, stdout
        code = self.process.wait(timeout)
        rest = []
        while line := self._lines.get(timeout=timeout):  # the reader thread owns stdout
            rest.append(line)
        return code, "".join(rest)


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """Run worker_process.py with the given options; it is killed at teardown if still alive."""
    processes: list[subprocess.Popen[str]] = []

    def start(*options: str, stderr: Path | None = None) -> WorkerProcess:
        with open(stderr, "w") if stderr is not None else contextlib.nullcontext() as log:
            process = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT), *options],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        processes.append(process)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            raise RuntimeError(f"worker {options} did not report its port within 30 s")
        return WorkerProcess(process, int(json.loads(line)["port"]))

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
