"""Native histograms in multi-process mode: every process records its native buckets in
its cell file, and the scrape merges them as Prometheus adds native histograms (at the
coarsest schema among them), served in protobuf beside the classic buckets.

The reference is one histogram in this process that observed every value: with no
bucket limit the merge must equal it exactly; where a process lowered its resolution,
it must equal the same values bucketed at the merged schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vumeter
from tests.multiprocess.processes import run_script, samples
from tests.support.metrics_proto import by_name, native_buckets
from vumeter import CollectorRegistry, generate_latest, generate_protobuf
from vumeter.multiprocess import MultiProcessCollector

FACTOR = 1.1  # schema 3


def value_sets(seed: int, processes: int, size: int, spread: float) -> list[list[float]]:
    """Per process: log-normal magnitudes of both signs, with exact zeros."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(processes):
        values = rng.lognormal(-3.0, spread, size) * rng.choice([-1.0, 1.0], size, p=[0.2, 0.8])
        values[::50] = 0.0
        sets.append([float(v) for v in values])
    return sets


def record(directory: Path, values: list[float], settings: dict[str, Any]) -> None:
    """Observes ``values`` in a worker process, into a labelled classic+native histogram
    and an unlabelled native-only one."""
    run_script(
        f"""
        import json
        import vumeter
        settings = json.loads({json.dumps(json.dumps(settings))})
        values = json.loads({json.dumps(json.dumps(values))})
        both = vumeter.Histogram(
            "mp_both_seconds", "B", ["k"], registry=None, buckets=(0.01, 0.1, 1.0), **settings
        )
        assert both._native_schema == 3
        only = vumeter.Histogram("mp_only_seconds", "O", registry=None, **settings)
        half = len(values) // 2
        for v in values[:half]:
            both.labels("a").observe(v)
        both.labels("a").observe_many(values[half:])
        only.observe_many(values)
        """,
        directory,
    )


def reference(values: list[float], factor: float) -> dict[str, Any]:
    """The same histograms in this process (no bucket limit), decoded from protobuf."""
    registry = CollectorRegistry()
    both = vumeter.Histogram(
        "mp_both_seconds",
        "B",
        ["k"],
        registry=registry,
        buckets=(0.01, 0.1, 1.0),
        native_histogram_bucket_factor=factor,
        native_histogram_max_buckets=0,
    )
    only = vumeter.Histogram(
        "mp_only_seconds",
        "O",
        registry=registry,
        native_histogram_bucket_factor=factor,
        native_histogram_max_buckets=0,
    )
    both.labels("a").observe_many(values)
    only.observe_many(values)
    return by_name(generate_protobuf(registry))


def merged(directory: Path) -> dict[str, Any]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return by_name(generate_protobuf(registry))


def histogram(families: dict[str, Any], name: str) -> Any:
    (metric,) = families[name].metric
    return metric.histogram


def assert_same_histograms(got: dict[str, Any], want: dict[str, Any], total: float) -> None:
    for name in ("mp_both_seconds", "mp_only_seconds"):
        g, w = histogram(got, name), histogram(want, name)
        assert native_buckets(g) == native_buckets(w), name
        assert g.sample_count == w.sample_count
        assert g.sample_sum == pytest.approx(total, rel=1e-9, abs=1e-12)
        assert [(b.upper_bound, b.cumulative_count) for b in g.bucket] == [
            (b.upper_bound, b.cumulative_count) for b in w.bucket
        ]
    assert not histogram(got, "mp_only_seconds").bucket, "no classic buckets to show"


def test_native_buckets_merge_over_processes_exactly(tmp_path: Path) -> None:
    sets = value_sets(seed=7, processes=3, size=400, spread=1.5)
    settings = {"native_histogram_bucket_factor": FACTOR, "native_histogram_max_buckets": 0}
    for values in sets:
        record(tmp_path, values, settings)
    everything = [v for values in sets for v in values]
    got = merged(tmp_path)
    assert histogram(got, "mp_both_seconds").schema == 3
    assert histogram(got, "mp_both_seconds").sample_count == 1200
    assert_same_histograms(got, reference(everything, FACTOR), sum(everything))


def test_processes_at_different_resolutions_merge_at_the_coarsest(tmp_path: Path) -> None:
    settings = {"native_histogram_bucket_factor": FACTOR, "native_histogram_max_buckets": 24}
    (wide,) = value_sets(seed=11, processes=1, size=600, spread=3.0)
    narrow = [0.05 + 0.0001 * i for i in range(300)]
    record(tmp_path, wide, settings)
    record(tmp_path, narrow, settings)
    got = merged(tmp_path)
    schema = histogram(got, "mp_only_seconds").schema
    assert schema < 3, "the wide process lowered its resolution past 24 buckets"
    # A factor just above schema's growth factor picks that schema itself.
    at_schema = 2.0 ** (2.0**-schema) * (1 + 1e-12)
    everything = wide + narrow
    assert_same_histograms(got, reference(everything, at_schema), sum(everything))


def test_dead_processes_fold_with_their_native_buckets(tmp_path: Path) -> None:
    settings = {"native_histogram_bucket_factor": FACTOR, "native_histogram_max_buckets": 0}
    sets = value_sets(seed=3, processes=3, size=200, spread=1.0)
    record(tmp_path, sets[0], settings)
    record(tmp_path, sets[1], settings)
    first = merged(tmp_path)  # folds both dead processes into the aggregate
    assert not list(tmp_path.glob("vumeter-*.cells")), "their files were folded"
    assert merged(tmp_path) == first, "the aggregate gives the same merge"
    record(tmp_path, sets[2], settings)
    everything = [v for values in sets for v in values]
    assert_same_histograms(merged(tmp_path), reference(everything, FACTOR), sum(everything))


def test_a_forked_child_records_in_a_file_of_its_own(tmp_path: Path) -> None:
    run_script(
        """
        import os
        import vumeter
        h = vumeter.Histogram(
            "mp_fork_seconds", "F", registry=None, native_histogram_bucket_factor=1.1
        )
        h.observe(0.5, exemplar={"trace_id": "parent"})
        pid = os.fork()
        if pid == 0:
            h.observe_many([0.25, 4.0])
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0
        h.observe(-2.0)
        """,
        tmp_path,
    )
    got = histogram(merged(tmp_path), "mp_fork_seconds")
    # Schema 3: 0.5 and 0.25 and 4.0 are powers of two, bucket 8 * log2(v); -2 is 8.
    assert native_buckets(got) == (3, 2.0**-128, 0, {-8: 1, -16: 1, 16: 1}, {8: 1})
    assert got.sample_count == 4, "the parent's counts, and the child's once each"
    assert [label.value for e in got.exemplars for label in e.label] == ["parent"]


def test_text_scrapes_show_the_merged_count_and_sum(tmp_path: Path) -> None:
    settings = {"native_histogram_bucket_factor": FACTOR}
    sets = value_sets(seed=5, processes=2, size=100, spread=1.0)
    for values in sets:
        record(tmp_path, values, settings)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=tmp_path)
    text = samples(generate_latest(registry))
    everything = [v for values in sets for v in values]
    assert text[("mp_only_seconds_bucket", frozenset({("le", "+Inf")}))] == 200
    assert text[("mp_only_seconds_count", frozenset())] == 200
    assert text[("mp_only_seconds_sum", frozenset())] == pytest.approx(sum(everything))


def test_a_widened_zero_bucket_reaches_the_merge(tmp_path: Path) -> None:
    """The zero bucket a process widened (the bucket limit with a maximum zero
    threshold) is the merge's, with the counts it took in."""
    settings = {
        "native_histogram_bucket_factor": 2.0,
        "native_histogram_max_buckets": 3,
        "native_histogram_max_zero_threshold": 8.0,
    }
    values = [2.0**i for i in range(7)] + [0.75, 100.0]
    run_script(
        f"""
        import vumeter
        h = vumeter.Histogram("mp_widened", "W", registry=None, **{settings!r})
        for v in {values!r}:
            h.observe(v)
        """,
        tmp_path,
    )
    registry = CollectorRegistry()
    same = vumeter.Histogram("mp_widened", "W", registry=registry, **settings)  # type: ignore[arg-type]
    for v in values:
        same.observe(v)
    want = histogram(by_name(generate_protobuf(registry)), "mp_widened")
    got = histogram(merged(tmp_path), "mp_widened")
    assert native_buckets(got) == native_buckets(want)
    assert got.zero_threshold == 8.0
    assert got.zero_count == 5, "1, 2, 4, 8 and 0.75"
