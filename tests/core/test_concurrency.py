"""Threaded stress: exact totals, and scrapes taken while writers run are
self-consistent (cumulative buckets never decrease, +Inf equals _count, counts only
grow from one scrape to the next)."""

from __future__ import annotations

import threading

import numpy as np
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import vumeter
from vumeter import Counter, Gauge, Histogram

THREADS = 8
ROUNDS = 2_000
BATCH = np.linspace(0.0, 1.0, 50)  # 50 values; sum is exactly 25.0


def _check_scrape(text: bytes, last_count: dict[tuple[str, ...], float]) -> None:
    for family in text_string_to_metric_families(text.decode()):
        if family.type != "histogram":
            continue
        series: dict[tuple[str, ...], list[tuple[float, float]]] = {}
        counts: dict[tuple[str, ...], float] = {}
        for sample in family.samples:
            key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            flat = tuple(f"{k}={v}" for k, v in key)
            if sample.name.endswith("_bucket"):
                series.setdefault(flat, []).append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_count"):
                counts[flat] = sample.value
        for flat, buckets in series.items():
            values = [v for _, v in sorted(buckets)]
            assert values == sorted(values), f"cumulative buckets decreased: {values}"
            assert values[-1] == counts[flat], "+Inf bucket differs from _count"
            assert counts[flat] >= last_count.get(flat, 0.0), "count went backwards"
            last_count[flat] = counts[flat]


def test_mixed_writers_and_concurrent_scrapes() -> None:
    registry = CollectorRegistry()
    hist = Histogram("stress_seconds", "S", ["worker"], registry=registry, buckets=[0.1, 0.5, 0.9])
    shared = Histogram(
        "shared_score", "S", registry=registry, buckets=[i / 10 for i in range(1, 11)]
    )
    counter = Counter("stress_events", "E", ["kind"], registry=registry)
    gauge = Gauge("stress_inflight", "G", registry=registry)
    start = threading.Barrier(THREADS + 1)
    done = threading.Event()
    scrape_errors: list[BaseException] = []

    def writer(index: int) -> None:
        own = hist.labels(str(index % 2))
        start.wait()
        for i in range(ROUNDS):
            gauge.inc()
            own.observe((i % 10) / 10)
            shared.observe_many(BATCH)
            counter.labels("even" if i % 2 == 0 else "odd").inc()
            counter.labels("all").inc(0.5)
            gauge.dec()

    def scraper() -> None:
        last: dict[tuple[str, ...], float] = {}
        start.wait()
        try:
            while not done.is_set():
                _check_scrape(vumeter.generate_latest(registry), last)
        except BaseException as error:  # reported by the main thread
            scrape_errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    watcher = threading.Thread(target=scraper)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    watcher.join(timeout=30)
    assert not scrape_errors, scrape_errors[0]

    value = registry.get_sample_value
    assert value("stress_seconds_count", {"worker": "0"}) == THREADS / 2 * ROUNDS
    assert value("stress_seconds_count", {"worker": "1"}) == THREADS / 2 * ROUNDS
    assert value("shared_score_count") == THREADS * ROUNDS * len(BATCH)
    assert value("shared_score_sum") == THREADS * ROUNDS * 25.0
    assert value("stress_events_total", {"kind": "even"}) == THREADS * ROUNDS / 2
    assert value("stress_events_total", {"kind": "all"}) == THREADS * ROUNDS * 0.5
    assert value("stress_inflight") == 0.0
    _check_scrape(vumeter.generate_latest(registry), {})


def test_racing_labels_calls_share_one_child() -> None:
    registry = CollectorRegistry()
    counter = Counter("raced", "R", ["id"], registry=registry)
    start = threading.Barrier(THREADS)
    seen: list[object] = []

    def worker() -> None:
        start.wait()
        for i in range(500):
            child = counter.labels(str(i % 50))
            child.inc()
            if i % 50 == 0:
                seen.append(child)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len({id(child) for child in seen}) == 1
    for i in range(50):
        assert registry.get_sample_value("raced_total", {"id": str(i)}) == THREADS * 10
