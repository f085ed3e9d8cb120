"""The core benchmark runs end to end (tiny sizes; ratios are not asserted here: speed
goals live in benches/, not in timed unit tests)."""

from __future__ import annotations

import pytest

from benches import bench_core


def test_bench_core_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_core.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("bound child observe", "Counter.inc", "observe_many 10 linear buckets", "render"):
        assert row in out
