"""The core benchmark runs end to end (tiny sizes; ratios are not asserted here: speed
goals live in benches/, not in timed unit tests)."""

from __future__ import annotations

import pytest

from benches import bench_core, bench_registry, bench_strided


def test_bench_core_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_core.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("bound child observe", "Counter.inc", "observe_many 10 linear buckets", "render"):
        assert row in out


def test_bench_registry_and_strided_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_registry.main(["--quick"]) == 0
    assert bench_strided.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("label sets", "128-core host", "prometheus_client", "stereo[:, 0]"):
        assert row in out
