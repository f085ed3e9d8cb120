"""The native histogram benchmark runs end to end (tiny sizes; its ratios are reported by
the benchmark, not asserted here)."""

from __future__ import annotations

import pytest

from benches import bench_native_histogram


def test_bench_native_histogram_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_native_histogram.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in (
        "vumeter native observe",
        "prometheus_client observe",
        "vumeter native observe_many",
        "generate_protobuf (native buckets)",
        "audio_processing_duration_seconds",
    ):
        assert row in out
