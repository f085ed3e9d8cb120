"""Big renders let the rest of the process run.

A render of many series releases the GIL (whatever the number of families), and takes
each family's children lock only for a bounded slice of children, so other threads keep
running Python, and keep creating label sets in the family being rendered, while a
scrape of 150,000 series is in progress. The criteria are generous on purpose: progress
in the first half of a render that takes tens of milliseconds, in one of three tries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

import vumeter

SERIES = 150_000
TRIES = 3


@pytest.fixture(scope="module")
def big() -> tuple[CollectorRegistry, vumeter.Counter]:
    registry = CollectorRegistry()
    counter = vumeter.Counter("big_events", "Events", ["series", "zone"], registry=registry)
    for i in range(SERIES):
        counter.labels(str(i), "eu-west-1").inc(i)
    return registry, counter


def _render(registry: CollectorRegistry, counter: vumeter.Counter) -> None:
    text = vumeter.generate_latest(registry)
    assert text.count(b"\nbig_events_total{") == SERIES


def _collect(registry: CollectorRegistry, counter: vumeter.Counter) -> None:
    """prometheus_client's exporters and get_sample_value go through collect()."""
    (metric,) = counter.collect()
    assert len(metric.samples) == 2 * SERIES


def _timed(work: Callable[[], None], during: Callable[[], None]) -> tuple[float, float]:
    """Starts ``during`` in a thread, does ``work``, and returns when the work began and
    ended."""
    helper = threading.Thread(target=during)
    helper.start()
    start = time.perf_counter()
    work()
    end = time.perf_counter()
    helper.join(timeout=30)
    assert not helper.is_alive()
    return start, end


@pytest.mark.parametrize("work", [_render, _collect])
def test_another_thread_runs_python_during_a_big_render(
    big: tuple[CollectorRegistry, vumeter.Counter],
    work: Callable[[CollectorRegistry, vumeter.Counter], None],
) -> None:
    attempts = []
    for _ in range(TRIES):
        woke: list[float] = []

        def sleeper(woke: list[float] = woke) -> None:
            time.sleep(0.002)  # then it needs the GIL again to record the time
            woke.append(time.perf_counter())

        start, end = _timed(lambda: work(*big), sleeper)
        attempts.append((end - start, woke[0] - start))
        if woke[0] - start < (end - start) / 2:
            break
    else:
        pytest.fail(f"no Python ran during the first half of the work: {attempts}")
    work_time, _ = attempts[-1]
    assert work_time > 0.01, "the work must be long enough for the check to mean anything"


def test_labels_elsewhere_do_not_wait_for_a_big_render(
    big: tuple[CollectorRegistry, vumeter.Counter],
) -> None:
    """New label sets in the family being rendered, during the first half of the
    render: each labels() call waits at most for about one slice of it (a tenth of the
    render is the generous limit), not for the rest of it."""
    registry, counter = big
    attempts = []
    for attempt in range(TRIES):
        calls: list[tuple[float, float]] = []
        done = threading.Event()

        def creator(
            calls: list[tuple[float, float]] = calls,
            attempt: int = attempt,
            done: threading.Event = done,
        ) -> None:
            i = 0
            while not done.is_set() and i < 100_000:
                started = time.perf_counter()
                counter.labels(f"new-{attempt}-{i}", "us-east-1").inc()
                calls.append((started, time.perf_counter() - started))
                i += 1

        helper = threading.Thread(target=creator)
        helper.start()
        start = time.perf_counter()
        vumeter.generate_latest(registry)
        end = time.perf_counter()
        done.set()
        helper.join(timeout=30)
        half = (end - start) / 2
        first_half = [latency for started, latency in calls if start <= started < start + half]
        worst = max(first_half, default=end - start)
        attempts.append((end - start, len(first_half), worst))
        # Measured: about 1 ms at worst, against some 50 ms with the lock held throughout.
        if first_half and worst < (end - start) / 10:
            break
    else:
        pytest.fail(f"labels() waited for most of a render (s, calls, worst s): {attempts}")


def _distinct_series(families: Iterable[Metric]) -> int:
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for family in families:
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in seen, f"duplicate series {key}"
            seen.add(key)
    return len(seen)


LIVE = 2 * 512 + 100  # children per family: a render takes them in three slices


def test_scrapes_while_label_sets_come_and_go_are_valid() -> None:
    """Sliced renders (more series than one slice) while other threads add and remove
    label sets: every scrape parses (OpenMetrics checks each histogram's buckets against
    its count) and has no series twice."""
    registry = CollectorRegistry()
    counter = vumeter.Counter("churn", "Churn", ["k"], registry=registry)
    histogram = vumeter.Histogram("churn_seconds", "Churn", ["k"], registry=registry)
    for i in range(LIVE):
        counter.labels(str(i)).inc()
        histogram.labels(str(i)).observe(0.1)
    stop = threading.Event()

    def churn() -> None:
        i = LIVE
        while not stop.is_set():
            counter.labels(str(i)).inc()
            histogram.labels(str(i)).observe(1.0)
            counter.remove(str(i - LIVE))
            histogram.remove(str(i - LIVE))
            i += 1

    helper = threading.Thread(target=churn)
    helper.start()
    try:
        for round_ in range(12):
            text = vumeter.generate_latest(registry).decode()
            openmetrics = vumeter.generate_openmetrics(registry).decode()
            for exposition in (text, openmetrics):
                lines = exposition.splitlines()
                series = [line.rsplit(" ", 1)[0] for line in lines if line[0] != "#"]
                assert len(series) == len(set(series)), "a series appears twice"
            if round_ < 2:  # the parsers are slow: a full check of two rounds
                assert _distinct_series(parse_text(text)) >= 2 * LIVE
                assert _distinct_series(parse_openmetrics(openmetrics)) >= 2 * LIVE
    finally:
        stop.set()
        helper.join(timeout=30)
