"""Bounded load test: the benchmark's phases, smaller, against a worker whose threads hold the GIL.

benches/bench_server.py is the full measurement (``make benchmark``); this runs its client code
once as a test so that it cannot rot, and checks what must hold on any machine: liveness probes
answer within the kubelet's default 1 s timeout, and every request under load gets a 200.
"""

from __future__ import annotations

import asyncio

from benches.bench_server import load, probe

from .conftest import StartWorker

KUBELET_DEFAULT_TIMEOUT_MS = 1000.0


async def test_liveness_and_load_while_workers_hold_the_gil(start_worker: StartWorker) -> None:
    worker = start_worker("--grace", "0", "--busy-threads", "2")

    # Liveness as the kubelet sees it: one probe at a time, a new connection each.
    probes = await probe(worker.url + "/livez", 40, 0.02, "probe /livez")
    # Load: thousands of requests at concurrency 50, plus scrapes, all at once.
    livez, metrics = await asyncio.gather(
        load(worker.url + "/livez", 2000, 50, "load /livez c=50"),
        load(worker.url + "/metrics", 300, 10, "load /metrics c=10"),
    )
    print("\n" + "\n".join(stats.line() for stats in (probes, livez, metrics)))

    assert (probes.count, probes.errors) == (40, 0)
    assert probes.p99_ms < KUBELET_DEFAULT_TIMEOUT_MS
    assert (livez.count, livez.errors) == (2000, 0)
    assert (metrics.count, metrics.errors) == (300, 0)
