"""Debian's real Prometheus for a test: started on a free loopback port with the test's
configuration, its log in the test's temporary directory, stopped when the block ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.binaries import free_port, require_binary, wait_for_http
from tests.support.running import log_tail, running


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
    command = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *flags,
    ]
    with running("prometheus", command, tmp_path) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{base}/-/ready", timeout=ready_timeout)
        except TimeoutError as error:
            pytest.fail(f"{error}\n{log_tail(process.log_path)}")
        yield base
