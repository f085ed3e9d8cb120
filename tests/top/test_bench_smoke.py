"""The top benchmark runs end to end (small and short; its goal is checked in benches/,
not here: a loaded test machine says nothing about the CPU share)."""

from __future__ import annotations

import pytest

from benches import bench_top


def test_bench_top_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_top.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "s per wall second" in out
    assert "prometheus_client" in out
