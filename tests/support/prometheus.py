"""Debian's real Prometheus for a test: started on a free loopback port with the test's
configuration, its log in the test's temporary directory, stopped when the block ends."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.binaries import free_port, require_binary, wait_for_http

_STOP_TIMEOUT_S = 10.0


@contextlib.contextmanager
def running_prometheus(
    tmp_path: Path, config: str, *flags: str, ready_timeout: float = 90.0
) -> Iterator[str]:
    """Prometheus with ``config`` (YAML text) and the extra command-line ``flags``,
    for the block; yields its base URL once it answers ``/-/ready``. A missing binary
    fails the test under CI and skips it elsewhere (``require_binary``)."""
    binary = require_binary("prometheus")
    port = free_port()
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(config, encoding="utf-8")
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                *flags,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_http(f"{base}/-/ready", timeout=ready_timeout)
            except TimeoutError as error:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"{error}\n{tail}")
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_TIMEOUT_S)
