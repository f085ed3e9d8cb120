"""Starting worker processes (tests.multiprocess.workers) and scraping their directory,
with deadlines: a worker that hangs fails the test instead of freezing it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as client_generate_latest
from prometheus_client import multiprocess as client_multiprocess
from prometheus_client.parser import text_string_to_metric_families

import vumeter
from vumeter.multiprocess import MultiProcessCollector

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0


class Worker:
    """A running worker process."""

    def __init__(self, library: str, program: list[list[Any]], directory: Path, hold: bool):
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
        args = [sys.executable, "-m", "tests.multiprocess.workers", library, json.dumps(program)]
        if hold:
            args.append("--hold")
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.fail(f"no pid line: {line!r}")
        self.pid = int(line)

    def fail(self, why: str) -> None:
        self.process.kill()
        _out, err = self.process.communicate(timeout=DEADLINE)
        raise AssertionError(f"worker failed ({why}): {err}")

    def wait_done(self) -> None:
        """Waits until the worker has run its program (it may be holding after)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "done":
            self.fail(f"expected 'done', got {line!r}")

    def finish(self) -> None:
        """Lets a holding worker exit, and waits for it."""
        _out, err = self.process.communicate("\n", timeout=DEADLINE)
        assert self.process.returncode == 0, err

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=DEADLINE)


def run_programs(
    library: str, programs: list[list[list[Any]]], directory: Path, hold: bool = False
) -> list[Worker]:
    """Runs each program in a process of its own, one after the other (so that the
    mostrecent gauges have a defined order); with ``hold`` the processes stay alive."""
    workers = []
    for program in programs:
        worker = Worker(library, program, directory, hold)
        worker.wait_done()
        if not hold:
            worker.finish()
        workers.append(worker)
    return workers


def vumeter_scrape(directory: Path) -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return vumeter.generate_latest(registry)


def client_scrape(directory: Path) -> bytes:
    registry = CollectorRegistry()
    client_multiprocess.MultiProcessCollector(registry, path=str(directory))
    return client_generate_latest(registry)


Parsed = set[tuple[str, str, str, frozenset[tuple[str, str]], float]]


def parsed(text: bytes, pids: dict[str, str] | None = None) -> Parsed:
    """Every sample as (family, type, sample name, labels, value), with ``pid`` labels
    renamed through ``pids`` (the same program's process gets another pid per run)."""
    out: Parsed = set()
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            labels = dict(sample.labels)
            if pids is not None and "pid" in labels:
                labels["pid"] = pids[labels["pid"]]
            out.add(
                (family.name, family.type, sample.name, frozenset(labels.items()), sample.value)
            )
    return out


def run_script(
    script: str, directory: Path | None, timeout: float = DEADLINE
) -> subprocess.CompletedProcess[str]:
    """Runs ``script`` in a fresh interpreter with multi-process mode on in ``directory``
    (None: the variable unset); fails the test if it runs past ``timeout`` (a deadlock)
    or exits with an error."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if directory is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(f"the script ran past {timeout} s (deadlock?): {expired}") from None
    assert done.returncode == 0, done.stderr
    return done


def samples(text: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample's value by (sample name, labels)."""
    return {(name, labels): value for _f, _t, name, labels, value in parsed(text)}
