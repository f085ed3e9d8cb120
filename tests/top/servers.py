"""Loopback endpoints for the ``vumeter top`` tests: a scripted fake, and the real demo."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.binaries import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class ScriptedEndpoint:
    """Answers ``/metrics`` with the next of ``bodies`` (the last one once they run out)
    and ``/readyz`` with ``readiness`` (status, JSON body), or 404 when that is None."""

    def __init__(
        self,
        bodies: Sequence[str],
        content_type: str = "text/plain; version=0.0.4; charset=utf-8",
        readiness: tuple[int, str] | None = (200, '{"status": "pass", "message": "all good"}'),
        port: int = 0,
    ) -> None:
        self.bodies = list(bodies)
        self.content_type = content_type
        self.readiness = readiness
        self.requests = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body = endpoint.bodies[min(endpoint.requests, len(endpoint.bodies) - 1)]
                    endpoint.requests += 1
                    self._answer(200, endpoint.content_type, body)
                elif self.path == "/readyz" and endpoint.readiness is not None:
                    status, text = endpoint.readiness
                    self._answer(status, "application/json", text)
                else:
                    self._answer(404, "text/plain", "not found")

            def _answer(self, status: int, content_type: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/metrics"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def running_demo(*arguments: str, timeout: float = 60.0) -> Iterator[str]:
    """A ``vumeter demo`` subprocess on a free loopback port, light on CPU; yields its
    ``/metrics`` URL once ``/readyz`` passes, and stops it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "vumeter.cli", "demo", "--port", str(port),
            "--rate", "6", "--batch-size", "3", "--gpu-poll-interval", "0", "--seed", "5",
            "--grace-period", "0", *arguments,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, err = process.communicate(timeout=10)
                raise AssertionError(f"the demo did not become ready:\n{err}")
            time.sleep(0.1)
        yield f"{url}/metrics"
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return int(response.status) == 200
    except urllib.error.HTTPError as error:
        error.close()
        return False
    except (urllib.error.URLError, ConnectionError):
        return False
