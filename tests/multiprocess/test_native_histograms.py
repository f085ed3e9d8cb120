"""Native histograms meet multi-process mode: a histogram created with native settings
while the mode is on records its classic buckets in the cell file, merged over every
process, and the merge is served in protobuf as the live families are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.multiprocess.processes import run_script
from tests.support.metrics_proto import by_name


def test_native_settings_record_classic_cells_merged_in_protobuf(tmp_path: Path) -> None:
    script = """
        import vumeter
        h = vumeter.Histogram(
            "mp_native_seconds", "N", ["k"], registry=None, buckets=(0.1, 1.0),
            native_histogram_bucket_factor=1.1,
        )
        assert h._native_schema is None, "no native buckets in multi-process mode"
        h.labels("a").observe_many([0.05, 0.5, 5.0])
        only = vumeter.Histogram(
            "mp_native_only", "O", registry=None, native_histogram_bucket_factor=1.1
        )
        only.observe(0.25)
        vumeter.Counter("mp_jobs", "J", registry=None).inc(2)
    """
    for _ in range(2):
        run_script(script, tmp_path)

    from vumeter import CollectorRegistry, generate_protobuf
    from vumeter.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=tmp_path)
    families = by_name(generate_protobuf(registry))
    (metric,) = families["mp_native_seconds"].metric
    hist = metric.histogram
    assert {(p.name, p.value) for p in metric.label} == {("k", "a")}
    assert (hist.sample_count, hist.sample_sum) == (6, pytest.approx(11.1))
    assert [(b.upper_bound, b.cumulative_count) for b in hist.bucket] == [(0.1, 2), (1.0, 4)]
    assert not hist.positive_span
    only = families["mp_native_only"].metric[0].histogram
    assert (only.sample_count, only.sample_sum, len(only.bucket)) == (2, 0.5, 0)
    assert families["mp_jobs_total"].metric[0].counter.value == 4
