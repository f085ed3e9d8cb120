"""Benchmark: the child registry against prometheus_client, side by side.

* removal: ``remove()`` of every one of 100,000 and 200,000 label sets (removal is O(1)
  amortised; before the tombstone registry it was O(n), 16 s and 71 s);
* memory per series: resident memory added per child (counter, and histogram with the
  15 default buckets), each measured in a fresh process, for vumeter at the shard
  counts of a 2-, 32- and 128-core host (``VUMETER_SHARDS``) with one and two writer
  threads, and for prometheus_client; then what a 10,000-series registry costs.

    python benches/bench_registry.py [--quick]

Prints medians and ratios; exits 0 whatever they are (this machine is noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
from time import perf_counter

import prometheus_client

import vumeter
from vumeter import _native

# The shard count vumeter picks on a host with this many cores (shard_count_for).
HOSTS = {2: 4, 32: 16, 128: 16}


def time_removal(lib: object, n: int) -> float:
    registry = lib.CollectorRegistry()  # type: ignore[attr-defined]
    counter = lib.Counter("removed", "R", ["id"], registry=registry)  # type: ignore[attr-defined]
    keys = [str(i) for i in range(n)]
    for key in keys:
        counter.labels(key).inc()
    started = perf_counter()
    for key in keys:
        counter.remove(key)
    return perf_counter() - started


def bench_removal(sizes: tuple[int, ...], repeats: int) -> None:
    print(f"{'remove() every label set':32} {'vumeter':>10} {'prometheus_client':>18} {'ratio':>8}")
    for n in sizes:
        ours = statistics.median(time_removal(vumeter, n) for _ in range(repeats))
        theirs = statistics.median(time_removal(prometheus_client, n) for _ in range(repeats))
        label = f"{n:,} label sets"
        print(f"{label:32} {ours * 1e3:8.1f}ms {theirs * 1e3:16.1f}ms {theirs / ours:7.1f}x")


PROBE = """
import gc, os, sys, threading
lib = __import__(sys.argv[1])
kind, n, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

registry = lib.CollectorRegistry()
if kind == "counter":
    metric = lib.Counter("c", "C", ["k"], registry=registry)
    write = lambda child: child.inc()
else:
    metric = lib.Histogram("h", "H", ["k"], registry=registry)
    write = lambda child: child.observe(0.3)
keys = [f"series-{i}" for i in range(n)]
children = [None] * n
gc.collect()
before = rss()
for i, key in enumerate(keys):
    children[i] = metric.labels(key)

def touch():
    for child in children:
        write(child)

for _ in range(threads):
    t = threading.Thread(target=touch)
    t.start()
    t.join()
gc.collect()
print((rss() - before) / n)
"""


def bytes_per_child(lib: str, kind: str, n: int, threads: int, shards: int | None) -> float:
    env = dict(os.environ)
    if shards is not None:
        env["VUMETER_SHARDS"] = str(shards)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), lib, kind, str(n), str(threads)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return float(out.split()[-1])


def bench_memory(n: int, repeats: int) -> None:
    def median(*args: object) -> float:
        return statistics.median(bytes_per_child(*args) for _ in range(repeats))  # type: ignore[arg-type]

    print(f"\nresident bytes per child ({n:,} children; this host: {_native.shard_count()} shards)")
    print(f"{'':46} {'counter':>10} {'histogram':>10}")
    theirs = {
        kind: median("prometheus_client", kind, n, 1, None) for kind in ("counter", "histogram")
    }
    for cores, shards in HOSTS.items():
        for threads in (1, 2):
            row = [median("vumeter", kind, n, threads, shards) for kind in ("counter", "histogram")]
            writers = f"{threads} writer{'s' * (threads > 1)}"
            label = f"vumeter, {cores}-core host ({shards} shards), {writers}"
            print(f"{label:46} {row[0]:10.0f} {row[1]:10.0f}")
    print(f"{'prometheus_client':46} {theirs['counter']:10.0f} {theirs['histogram']:10.0f}")
    ours_128 = [median("vumeter", kind, n, 1, HOSTS[128]) for kind in ("counter", "histogram")]
    print(
        f"10,000 series on a 128-core host: vumeter {ours_128[0] * 1e4 / 2**20:.1f} MiB (counters) "
        f"/ {ours_128[1] * 1e4 / 2**20:.1f} MiB (histograms); prometheus_client "
        f"{theirs['counter'] * 1e4 / 2**20:.1f} / {theirs['histogram'] * 1e4 / 2**20:.1f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        bench_removal((2_000,), 1)
        bench_memory(2_000, 1)
    else:
        bench_removal((100_000, 200_000), 3)
        bench_memory(20_000, 3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
