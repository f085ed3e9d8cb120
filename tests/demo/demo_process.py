"""``Demo``: a ``vumeter demo`` subprocess on a free loopback port, as the end-to-end tests
of the demo run it (threads or ``--processes``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.binaries import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
# Kept light for a shared 2-core machine: few, short clips.
LIGHT_LOAD = ["--rate", "6", "--batch-size", "3", "--gpu-poll-interval", "0", "--seed", "3"]


class Demo:
    """A ``vumeter demo`` subprocess on a free loopback port; ``env`` adds variables,
    ``unset`` names variables of this process it must not inherit."""

    def __init__(
        self, *arguments: str, env: Mapping[str, str] | None = None, unset: Sequence[str] = ()
    ) -> None:
        inherited = {key: value for key, value in os.environ.items() if key not in unset}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vumeter.cli", "demo", "--port", str(self.port), *arguments],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**inherited, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for /readyz to answer 200: served, warmed up, started."""
        deadline = time.monotonic() + timeout
        while self.status("/readyz") != 200:
            if time.monotonic() > deadline or self.process.poll() is not None:
                if self.process.poll() is None:
                    self.process.kill()
                out, err = self.process.communicate(timeout=30)
                raise AssertionError(f"the demo did not become ready:\n{out}\n{err}")
            time.sleep(0.1)

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()  # an unclosed error response leaks its socket
            return error.code
        except (urllib.error.URLError, ConnectionError):
            return 0  # not listening (yet, or any more)

    def scrape(self, accept: str | None = None) -> str:
        headers = {} if accept is None else {"Accept": accept}
        request = urllib.request.Request(f"{self.url}/metrics", headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read().decode()

    def total(self, name: str, text: str | None = None, **labels: str) -> float:
        """``name`` summed over the series that carry ``labels``, in ``text`` (default: a
        scrape now)."""
        total = 0.0
        for family in text_string_to_metric_families(self.scrape() if text is None else text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total

    def wait_for(self, name: str, minimum: float, timeout: float = 30.0, **labels: str) -> None:
        deadline = time.monotonic() + timeout
        while (seen := self.total(name, **labels)) < minimum:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}{labels} stayed at {seen}, expected >= {minimum}")
            time.sleep(0.2)

    def finish(self, timeout: float = 60.0) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            # Worker processes of --processes hold the pipes until they notice that the
            # main process is gone, and drain.
            self.process.communicate(timeout=60)
