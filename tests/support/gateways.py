"""Pushgateways for the pusher tests: the real binary, and fakes that fail in chosen ways.

``running_pushgateway()`` starts Debian's ``prometheus-pushgateway`` on a free loopback
port with persistence off (Debian's default would write under /var/lib) and stops it.
``FakeGateway`` is a loopback HTTP server that answers every request with a fixed status
after a fixed delay: a gateway that is broken (500) or slow.
"""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.parser import text_string_to_metric_families

from tests.support.binaries import free_port, require_binary, wait_for_http


@dataclass(frozen=True)
class Pushgateway:
    url: str

    def sample(self, name: str, **labels: str) -> float | None:
        """The value of the gateway's series ``name`` whose labels include ``labels``."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return float(sample.value)
        return None

    def wait_for(self, name: str, expected: float | None, **labels: str) -> None:
        """Poll until the series has ``expected`` (None: until it is gone), up to 10 s."""
        deadline = time.monotonic() + 10.0
        while (seen := self.sample(name, **labels)) != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}{labels} is {seen}, expected {expected}")
            time.sleep(0.05)


@contextmanager
def running_pushgateway() -> Iterator[Pushgateway]:
    binary = require_binary("prometheus-pushgateway")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            "--persistence.file=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{url}/-/ready", timeout=20)
        except TimeoutError:
            process.kill()
            _, stderr = process.communicate(timeout=5)
            raise AssertionError(f"pushgateway did not start: {stderr.decode()}") from None
        yield Pushgateway(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a slow answer is what these tests provoke


class FakeGateway:
    """A loopback HTTP server answering every request with ``status`` after ``delay`` s."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []
        self._release = threading.Event()  # cuts delays short at shutdown
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                gateway.bodies.append(self.rfile.read(length))
                gateway.requests.append((self.command, self.path))
                gateway._release.wait(gateway.delay)
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
