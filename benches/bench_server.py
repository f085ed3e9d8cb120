"""Benchmark: the metrics server's latency while a worker keeps the CPU and the GIL busy.

Liveness must keep answering while workers are busy: measured as the p99 of ``/livez`` under
a busy demo, and in a bounded load test at concurrency 50. The server runs in
its own process, as in production, with busy worker threads; this process is the client:

* ``probe``: one ``/livez`` request at a time, as a kubelet does, while the workers run;
* ``probe under scrape load``: the same probes while ``--concurrency`` clients hammer
  ``/metrics``;
* ``load /livez`` and ``load /metrics``: ``--requests`` requests at ``--concurrency``.

    python benches/bench_server.py [--target demo|worker] [--workers N] [--processes P]
                                   [--requests N] [--concurrency C] [--probes N]
                                   [--max-probe-p99-ms X]

``--target demo`` runs ``vumeter demo`` (the synthetic audio pipeline: numpy DSP, TOPSIS);
``--target worker`` runs tests/server/worker_process.py, whose threads spin in pure Python and
so hold the GIL all the time, the worst case. ``--processes P`` (demo only) runs the demo's
workers in P processes of ``--workers`` threads each, so that they no longer share the
server's interpreter lock: compare ``--workers 4`` with ``--processes 4 --workers 1``.
Prints p50/p99/max per phase; with ``--max-probe-p99-ms`` it exits 1 when a probe p99 is
above it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
WORKER_SCRIPT = ROOT / "tests" / "server" / "worker_process.py"


@dataclass(frozen=True)
class LatencyStats:
    """Latencies of one phase, in milliseconds; ``errors`` counts non-200s and failures."""

    name: str
    count: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def from_samples(
        cls, name: str, latencies: list[float], errors: int, seconds: float
    ) -> LatencyStats:
        ordered = sorted(latencies) or [math.nan]

        def percentile(fraction: float) -> float:
            return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)] * 1e3

        return cls(
            name,
            len(latencies),
            errors,
            seconds,
            percentile(0.5),
            percentile(0.99),
            ordered[-1] * 1e3,
        )

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"  {self.name:<28} {self.count:6d} req {self.rate:8.0f}/s  p50 {self.p50_ms:7.2f} ms"
            f"  p99 {self.p99_ms:7.2f} ms  max {self.max_ms:7.2f} ms  errors {self.errors}"
        )


async def _timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, bool]:
    began = time.perf_counter()
    try:
        async with session.get(url) as response:
            await response.read()
            ok = response.status == 200
    except aiohttp.ClientError:
        ok = False
    return time.perf_counter() - began, ok


async def probe(url: str, count: int, interval: float, name: str = "probe") -> LatencyStats:
    """``count`` sequential GETs of ``url``, ``interval`` seconds apart, on a fresh connection
    each (kubelet probes do not reuse connections)."""
    latencies: list[float] = []
    errors = 0
    began = time.perf_counter()
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(count):
            latency, ok = await _timed_get(session, url)
            latencies.append(latency)
            errors += not ok
            await asyncio.sleep(interval)
    return LatencyStats.from_samples(name, latencies, errors, time.perf_counter() - began)


async def load(url: str, total: int, concurrency: int, name: str = "load") -> LatencyStats:
    """``total`` GETs of ``url`` from ``concurrency`` clients in a closed loop (keep-alive)."""
    latencies: list[float] = []
    errors = 0
    remaining = total

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            latency, ok = await _timed_get(session, url)
            latencies.append(latency)
            errors += not ok

    began = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return LatencyStats.from_samples(name, latencies, errors, time.perf_counter() - began)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(url: str, process: subprocess.Popen[str], timeout: float) -> None:
    """Until ``/readyz`` answers 200: the demo has warmed up (in every worker process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the target exited with status {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/readyz", timeout=2):
            return  # urlopen raises for a 503
        time.sleep(0.1)
    raise TimeoutError(f"the target was not ready at {url} within {timeout} s")


# Runs the demo's console entry point after setting the GIL switch interval, which the demo
# has no option for.
_DEMO_WITH_SWITCH_INTERVAL = (
    "import sys; sys.setswitchinterval(float(sys.argv.pop(1))); "
    "from vumeter.cli import main; sys.exit(main())"
)


@contextlib.contextmanager
def start_target(
    target: str, workers: int, switch_interval: float, processes: int = 0
) -> Iterator[str]:
    """Run the server under test in a subprocess; yield its base URL; stop it with SIGTERM."""
    if target == "demo":
        port = free_port()
        command = [sys.executable, "-c", _DEMO_WITH_SWITCH_INTERVAL, str(switch_interval)]
        command += ["demo", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        command += ["--processes", str(processes)]
        command += ["--duration", "0", "--rate", "0", "--grace-period", "0"]
        command += ["--gpu-poll-interval", "0"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, text=True)
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(url, process, timeout=180)
    else:
        command = [sys.executable, str(WORKER_SCRIPT), "--grace", "0"]
        command += ["--busy-threads", str(workers), "--switch-interval", str(switch_interval)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        if not ready:
            process.kill()
            raise TimeoutError("the worker did not report its port within 30 s")
        url = f"http://127.0.0.1:{json.loads(process.stdout.readline())['port']}"
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


async def samples_processed(url: str) -> float:
    """The target's ``audio_samples_processed_total``, summed: how much work its workers did."""
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "audio_samples_processed_total"
    )


async def measure(
    url: str, requests: int, concurrency: int, probes: int, interval: float
) -> tuple[list[LatencyStats], float]:
    """Every phase against a running target at ``url``; also the workers' samples per second."""
    began, processed_before = time.perf_counter(), await samples_processed(url)
    results = [await probe(url + "/livez", probes, interval, "probe /livez (busy)")]
    scrape = asyncio.ensure_future(load(url + "/metrics", requests, concurrency))
    results.append(await probe(url + "/livez", probes, interval, "probe /livez (busy+load)"))
    await scrape
    results.append(
        await load(url + "/livez", requests, concurrency, f"load /livez c={concurrency}")
    )
    results.append(
        await load(url + "/metrics", requests, concurrency, f"load /metrics c={concurrency}")
    )
    processed = await samples_processed(url) - processed_before
    return results, processed / (time.perf_counter() - began)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("demo", "worker"), default="demo")
    parser.add_argument(
        "--workers", type=int, default=4, help="busy worker threads (per process with --processes)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="demo only: worker processes of --workers threads each; 0: threads of the server",
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per load phase")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--probes", type=int, default=200, help="probes per probe phase")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between probes")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.005,
        help="the target's sys.setswitchinterval (Python's default: 0.005 s)",
    )
    parser.add_argument("--max-probe-p99-ms", type=float, default=None)
    args = parser.parse_args(argv)
    if args.target == "demo" and args.workers < 1:
        parser.error("--target demo needs --workers >= 1")
    if args.processes and args.target != "demo":
        parser.error("--processes needs --target demo")
    with start_target(args.target, args.workers, args.switch_interval, args.processes) as url:
        time.sleep(1.0)  # let the workers get going
        results, throughput = asyncio.run(
            measure(url, args.requests, args.concurrency, args.probes, args.interval)
        )
    busy = (
        f"{args.processes} worker processes x {args.workers} threads"
        if args.processes
        else f"{args.workers} busy workers"
    )
    print(
        f"server latency, target {args.target}, {busy}, "
        f"switch interval {args.switch_interval * 1e3:g} ms, "
        f"workers processed {throughput:.0f} samples/s meanwhile"
    )
    for result in results:
        print(result.line())
    failed = [r for r in results if r.errors]
    if failed:
        print(f"errors in: {', '.join(r.name for r in failed)}", file=sys.stderr)
        return 1
    worst = max(r.p99_ms for r in results if r.name.startswith("probe"))
    if args.max_probe_p99_ms is not None and worst > args.max_probe_p99_ms:
        print(f"probe p99 {worst:.1f} ms is above {args.max_probe_p99_ms} ms", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
