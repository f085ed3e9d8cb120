"""Benchmark: does a big scrape stall the process? ``/livez`` latency while another
client scrapes a registry with one family of 200,000 series in a loop.

The vumeter server runs in its own process with the registry (one counter family of
``--series`` label sets; ``--busy-threads`` adds threads running pure Python, as a busy
worker has, which makes every probe wait for the GIL too); a second process scrapes
``/metrics`` back to back for ``--seconds``; this
process probes ``/livez`` every ``--interval`` seconds, first without scrapes, then
during them. A render that holds the GIL for the whole family stalls the event loop
that answers ``/livez`` for as long as the render takes (some 500 ms per scrape of
200,000 series before renders released the GIL by series count).

    python -m benches.bench_scrape_stall [--series N] [--seconds S] [--gzip] [--max-p99-ms X]

Goal: ``/livez`` p99 under 20 ms while the scrapes run (exit 1 with ``--max-p99-ms``
when above it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import select
import subprocess
import sys
from collections.abc import Iterator

from benches.bench_server import LatencyStats, probe

GOAL_P99_MS = 20.0

# The server under test: a registry with one big family, served by vumeter.server.
_SERVER = """
import json, sys, threading
from prometheus_client import CollectorRegistry
import vumeter, vumeter.server

series, busy = int(sys.argv[1]), int(sys.argv[2])
registry = CollectorRegistry()
requests = vumeter.Counter("requests", "Requests.", ["route", "tenant"], registry=registry)
for i in range(series):
    requests.labels(f"/api/v1/item/{i % 1000}", f"tenant-{i}").inc(i)

def spin():
    n = 0
    while True:
        n += 1

for _ in range(busy):
    threading.Thread(target=spin, daemon=True).start()
handle = vumeter.server.serve("127.0.0.1", 0, registry)
print(json.dumps({"port": handle.port}), flush=True)
sys.stdin.read()
"""

# The scraper: GETs /metrics back to back until the time is up, then prints a summary.
_SCRAPER = """
import json, statistics, sys, time, urllib.request
url, seconds, encoding = sys.argv[1], float(sys.argv[2]), sys.argv[3]
request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
durations, size = [], 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        size = len(response.read())
    durations.append(time.perf_counter() - began)
print(json.dumps({"scrapes": len(durations), "median": statistics.median(durations),
                  "max": max(durations), "bytes": size}))
"""


@contextlib.contextmanager
def server(series: int, busy_threads: int) -> Iterator[str]:
    command = [sys.executable, "-c", _SERVER, str(series), str(busy_threads)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        if not ready:
            raise TimeoutError("the server did not report its port within 120 s")
        yield f"http://127.0.0.1:{json.loads(process.stdout.readline())['port']}"
    finally:
        process.kill()
        process.communicate()


async def measure(
    url: str, seconds: float, interval: float, encoding: str = "identity"
) -> tuple[LatencyStats, LatencyStats, dict[str, float]]:
    probes = max(int(seconds / interval), 10)
    idle = await probe(url + "/livez", probes // 2, interval, "/livez, no scrapes")
    scraper = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SCRAPER,
        url + "/metrics",
        str(seconds),
        encoding,
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(0.5)  # the first scrape is under way
    busy = await probe(url + "/livez", probes, interval, "/livez, scrapes running")
    out, _ = await scraper.communicate()
    return idle, busy, json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--series", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to scrape")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between probes")
    parser.add_argument("--busy-threads", type=int, default=0)
    parser.add_argument(
        "--gzip", action="store_true", help="scrape with Accept-Encoding: gzip, as Prometheus does"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    parser.add_argument("--max-p99-ms", type=float, default=None)
    args = parser.parse_args(argv)
    series, seconds = (20_000, 2.0) if args.quick else (args.series, args.seconds)
    with server(series, args.busy_threads) as url:
        encoding = "gzip" if args.gzip else "identity"
        idle, busy, scrapes = asyncio.run(measure(url, seconds, args.interval, encoding))
    print(
        f"{series} series in one family, {args.busy_threads} busy thread(s) in the server; "
        f"{scrapes['scrapes']:.0f} scrapes ({encoding}) of {scrapes['bytes'] / 1e6:.1f} MB, "
        f"median {scrapes['median'] * 1e3:.0f} ms, max {scrapes['max'] * 1e3:.0f} ms"
    )
    print(idle.line())
    print(busy.line())
    verdict = "met" if busy.p99_ms < GOAL_P99_MS else "NOT MET"
    print(f"/livez p99 during scrapes {busy.p99_ms:.1f} ms; goal < {GOAL_P99_MS:g} ms: {verdict}")
    if args.max_p99_ms is not None and busy.p99_ms > args.max_p99_ms:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
