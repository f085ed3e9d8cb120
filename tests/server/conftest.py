"""Fixtures for the server tests: a real server on a free loopback port, stopped afterwards."""

from __future__ import annotations

import json
import select
import subprocess
import sys
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

    def wait_exit(self, timeout: float) -> tuple[int, str]:
        """Exit status and the rest of stdout, once the worker has exited."""
        stdout, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """Run worker_process.py with the given options; it is killed at teardown if still alive."""
    processes: list[subprocess.Popen[str]] = []

    def start(*options: str) -> WorkerProcess:
        process = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), *options],
            stdout=subprocess.PIPE,
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
