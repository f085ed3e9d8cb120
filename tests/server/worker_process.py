"""A small instrumented worker, run as a subprocess by the SIGTERM and load tests.

It serves through ``vumeter.server`` exactly as a real worker would: ``serve()`` in a background
thread with signal handlers (``--mode thread``), or ``MetricsServer`` in asyncio
(``--mode asyncio``). ``--busy-threads`` Python threads spin on pure-Python work so that they
hold the GIL, the worst case for the server thread. It prints ``{"port": N}`` once listening,
and ``worker finally ran`` when it unwinds, which proves exit went through ``SystemExit``.

For the connection-limit tests: ``--nofile`` lowers the open-file limit, ``--header-timeout``
sets the server's, ``--log`` sends INFO logs to standard error, and ``--exhaust-fds S`` opens
files until none is left, for S seconds, as a worker leaking descriptors would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from vumeter import CollectorRegistry, Counter, Histogram
from vumeter.server import HealthChecks, MetricsServer, ServerLimits, serve

DATASETS = ("librispeech", "commonvoice", "vctk", "musan")


class SlowCollector:
    """Makes every scrape take ``seconds``: a request that is in flight during the drain.
    Prints ``{"collecting": true}`` when a collect starts, so a test knows it is in flight."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def collect(self) -> Iterator[Metric]:
        print(json.dumps({"collecting": True}), flush=True)
        time.sleep(self.seconds)
        yield GaugeMetricFamily("slow_collector_done", "Set when the slow collect finished", 1)


def build_registry(slow_metrics: float) -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    processed = Counter(
        "audio_samples_processed_total",
        "Processed audio samples",
        ["dataset", "processor", "status"],
        registry=registry,
    )
    duration = Histogram(
        "audio_processing_duration_seconds",
        "Processing time",
        ["dataset", "operation"],
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        registry=registry,
    )
    if slow_metrics > 0:
        registry.register(SlowCollector(slow_metrics))
    return registry, processed, duration


def busy_work(processed: Counter, duration: Histogram, stop: threading.Event) -> None:
    """Pure-Python arithmetic (holds the GIL) with a metric update per 'sample'."""
    index = 0
    while not stop.is_set():
        dataset = DATASETS[index % len(DATASETS)]
        began = time.perf_counter()
        total = 0
        for value in range(20_000):
            total += value * value % 7
        duration.labels(dataset, "enhance").observe(time.perf_counter() - began)
        processed.labels(dataset, "enhance", "success").inc()
        index += 1


def exhaust_fds(seconds: float) -> None:
    """Hold every free file descriptor for ``seconds``, then give them back."""
    held = []
    with contextlib.suppress(OSError):
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    print(json.dumps({"exhausted": len(held)}), flush=True)
    time.sleep(seconds)
    for fd in held:
        os.close(fd)
    print(json.dumps({"released": len(held)}), flush=True)


def limits_of(options: argparse.Namespace) -> ServerLimits:
    if options.header_timeout is None:
        return ServerLimits()
    return ServerLimits(header_timeout=options.header_timeout)


def run_thread_mode(options: argparse.Namespace) -> None:
    registry, processed, duration = build_registry(options.slow_metrics)
    checks = HealthChecks()
    checks.mark_started()
    handle = serve(
        host="127.0.0.1",
        port=0,
        registry=registry,
        checks=checks,
        grace_period=options.grace,
        shutdown_timeout=options.shutdown_timeout,
        install_signal_handlers=True,
        limits=limits_of(options),
    )
    stop = threading.Event()
    for _ in range(max(options.busy_threads - 1, 0)):
        threading.Thread(target=busy_work, args=(processed, duration, stop), daemon=True).start()
    print(json.dumps({"port": handle.port}), flush=True)
    try:
        if options.exhaust_fds is not None:
            exhaust_fds(options.exhaust_fds)
        if options.busy_threads > 0:
            busy_work(processed, duration, stop)  # the main thread works too, like a real worker
        else:
            while True:
                time.sleep(0.05)
    finally:
        stop.set()
        print("worker finally ran", flush=True)


async def run_asyncio_mode(options: argparse.Namespace) -> None:
    registry, _, _ = build_registry(options.slow_metrics)
    checks = HealthChecks()
    checks.mark_started()
    server = MetricsServer(
        "127.0.0.1",
        0,
        registry,
        checks,
        grace_period=options.grace,
        shutdown_timeout=options.shutdown_timeout,
        limits=limits_of(options),
    )
    await server.start()
    server.install_signal_handlers()
    print(json.dumps({"port": server.port}), flush=True)
    try:
        await server.wait_closed()
    finally:
        print("worker finally ran", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("thread", "asyncio"), default="thread")
    parser.add_argument("--grace", type=float, default=1.0)
    parser.add_argument("--shutdown-timeout", type=float, default=5.0)
    parser.add_argument("--slow-metrics", type=float, default=0.0)
    parser.add_argument("--busy-threads", type=int, default=0)
    parser.add_argument(
        "--switch-interval", type=float, default=None, help="sys.setswitchinterval, seconds"
    )
    parser.add_argument("--nofile", type=int, default=None, help="RLIMIT_NOFILE to run under")
    parser.add_argument("--header-timeout", type=float, default=None)
    parser.add_argument("--log", action="store_true", help="INFO logs to standard error")
    parser.add_argument("--exhaust-fds", type=float, default=None, metavar="SECONDS")
    options = parser.parse_args()
    if options.nofile is not None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (options.nofile, options.nofile))
    if options.log:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    if options.switch_interval is not None:
        sys.setswitchinterval(options.switch_interval)
    if options.mode == "thread":
        run_thread_mode(options)
    else:
        asyncio.run(run_asyncio_mode(options))


if __name__ == "__main__":
    main()
