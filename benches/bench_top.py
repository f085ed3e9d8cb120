"""Benchmark: what ``vumeter top`` costs while it polls a 10,000-series endpoint every second.

A separate process serves the audio catalog, with enough datasets and operations for
``--series`` series, through vumeter's own server while a thread keeps observing values. This
process runs top's real poll loop against it (the endpoint's polling thread, reset
correction, the window, the view and a full render to a terminal console that writes to
/dev/null) for ``--seconds`` and reports the CPU seconds it used per wall second; the goal
is under 0.10 (a tenth of one core). Then it times one poll's parse side by side: vumeter's
native parser against prometheus_client's text and OpenMetrics parsers, on the same body.

    python benches/bench_top.py [--series N] [--seconds S] [--interval S] [--quick]
                                [--max-cpu-share X]

Exits 1 when ``--max-cpu-share`` is given and the loop used more.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families
from rich.console import Console

from vumeter.audio import AudioProcessingMetrics
from vumeter.server import serve as serve_metrics
from vumeter.top.endpoint import Endpoint, Poller
from vumeter.top.panels import render_view
from vumeter.top.parse import parse_exposition
from vumeter.top.view import build_view

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ("generate", "mix", "enhance", "measure", "score", "decode", "resample", "vad")
PROCESSORS = ("generate", "mix", "enhance", "measure", "score")
TEXT = "text/plain; version=0.0.4"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def _fill(registry: CollectorRegistry, series: int) -> tuple[AudioProcessingMetrics, int]:
    """Create the audio catalog with enough datasets for about ``series`` series; returns
    it and the number of datasets."""
    metrics = AudioProcessingMetrics(registry)
    # Per dataset (counted in the text format): 8 operations x 18 latency series, 10
    # counter series, four histograms of measures, an error counter: about 225 series.
    datasets = max(1, series // 225)
    for number in range(datasets):
        dataset = f"dataset{number:03d}"
        for operation in OPERATIONS:
            metrics.processing_duration.labels(dataset, operation).observe(0.02)
        for processor in PROCESSORS:
            for status in ("success", "error"):
                metrics.samples_processed.labels(dataset, processor, status).inc()
        for histogram in (metrics.quality_score, metrics.snr_db, metrics.stoi_score):
            histogram.labels(dataset).observe(0.5)
        metrics.pesq_score.labels(dataset).observe(3.0)
        metrics.errors.labels(dataset, "AudioDecodeError", "error").inc()
    metrics.queue_size.labels("input").set(3)
    metrics.active_workers.labels("pipeline").set(2)
    return metrics, datasets


def serve(port: int, series: int) -> None:
    """The endpoint process: serve the catalog and keep its values moving until killed."""
    registry = CollectorRegistry()
    metrics, datasets = _fill(registry, series)
    handle = serve_metrics("127.0.0.1", port, registry=registry)
    print(f"serving {datasets} datasets on {handle.url}", flush=True)
    step = 0
    while True:  # until the benchmark terminates this process
        time.sleep(0.01)
        step += 1
        dataset = f"dataset{step % datasets:03d}"
        metrics.processing_duration.labels(dataset, OPERATIONS[step % 8]).observe(0.001 * step % 2)
        metrics.samples_processed.labels(dataset, "measure", "success").inc()
        metrics.quality_score.labels(dataset).observe((step % 100) / 100)


def _count_series(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


@contextlib.contextmanager
def _endpoint(series: int) -> Iterator[str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--series", str(series)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("serving"):
            raise RuntimeError(f"the endpoint process did not start: {line!r}")
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes the pipe


def poll_loop_cpu(url: str, seconds: float, interval: float) -> tuple[float, int]:
    """Run top's poll loop for ``seconds``; CPU seconds per wall second, and polls done."""
    endpoint = Endpoint(url, window=60.0, timeout=max(1.0, interval))
    polls = 0
    polled = threading.Event()

    def on_poll() -> None:
        nonlocal polls
        polls += 1
        polled.set()

    with open(os.devnull, "w") as sink:
        console = Console(file=sink, width=160, height=60, force_terminal=True)
        poller = Poller([endpoint], interval, on_poll)
        cpu_start, wall_start = time.process_time(), time.monotonic()
        poller.start()
        deadline = wall_start + seconds
        while time.monotonic() < deadline:
            if polled.wait(timeout=max(0.0, deadline - time.monotonic())):
                polled.clear()
                view = build_view([endpoint.state()])
                console.print(render_view(view, width=160, height=60, interval=interval))
        poller.stop()
        cpu, wall = time.process_time() - cpu_start, time.monotonic() - wall_start
    if endpoint.state().up is not True:
        raise RuntimeError(f"polls failed: {endpoint.state().error}")
    return cpu / wall, polls


def _median_ms(function: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def parse_costs(url: str, rounds: int) -> None:
    bodies = {}
    for name, accept in (("text", TEXT), ("openmetrics", OPENMETRICS)):
        request = urllib.request.Request(url, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=10) as response:
            bodies[name] = response.read().decode()
    native_text = _median_ms(lambda: parse_exposition(bodies["text"], TEXT), rounds)
    native_om = _median_ms(lambda: parse_exposition(bodies["openmetrics"], OPENMETRICS), rounds)
    client_text = _median_ms(lambda: list(text_families(bodies["text"])), rounds)
    try:
        client_om: float | None = _median_ms(
            lambda: list(openmetrics_families(bodies["openmetrics"])), rounds
        )
    except ValueError:
        client_om = None  # its stricter rules refuse the histogram with negative bounds
    print(f"parse one poll (median of {rounds}):")
    print(
        f"  text 0.0.4   vumeter {native_text:7.2f} ms   prometheus_client {client_text:7.1f} ms"
        f"   ratio {client_text / native_text:5.1f}x"
    )
    if client_om is None:
        print(f"  OpenMetrics  vumeter {native_om:7.2f} ms   prometheus_client refuses the body")
    else:
        print(
            f"  OpenMetrics  vumeter {native_om:7.2f} ms   prometheus_client {client_om:7.1f} ms"
            f"   ratio {client_om / native_om:5.1f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="small and short (smoke test)")
    parser.add_argument("--max-cpu-share", type=float, default=None)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.series)
        return 0
    if args.quick:
        args.series, args.seconds, args.rounds = 1_000, 3.0, 3
    with _endpoint(args.series) as url:
        series = _count_series(url)
        share, polls = poll_loop_cpu(url, args.seconds, args.interval)
        print(
            f"vumeter top, one endpoint of {series:,} series (text format count), "
            f"polled every {args.interval:g} s for {args.seconds:g} s ({polls} polls, "
            "OpenMetrics as served):"
        )
        print(f"  CPU {share:.3f} s per wall second ({share:.1%} of one core; goal < 10%)")
        parse_costs(url, args.rounds)
    if args.max_cpu_share is not None and share > args.max_cpu_share:
        print(f"FAIL: {share:.3f} > {args.max_cpu_share}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
