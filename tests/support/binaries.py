"""Helpers for tests that start real binaries (Prometheus, promtool, Pushgateway, Alertmanager).

In CI (``CI=true``) a missing binary is a failure, never a skip: CI installs them through
``make test``, so a missing one means the set-up is broken. Elsewhere the test is skipped
with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.error
import urllib.request

import pytest

_DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "prometheus-pushgateway": "prometheus-pushgateway",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """Return the path of ``name``; fail under CI=true, skip elsewhere, when it is missing."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = _DEBIAN_PACKAGE.get(name, name)
    message = f"{name} is not on PATH; install it with `apt-get install {package}` (make test does)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers 2xx, or raise TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
        except urllib.error.HTTPError as error:
            # An HTTPError is also the open response: close it, or its socket leaks (a
            # ResourceWarning, an error under filterwarnings=error) while the server starts.
            error.close()
            last_error = error
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            last_error = error
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s (last error: {last_error})")
