"""The track_operation benchmark runs (tiny iteration counts): a smoke test, not a measurement."""

from __future__ import annotations

import pytest

from benches import bench_track_operation as bench


def test_bench_runs_and_reports_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    result = bench.run(iterations=200, repeats=2)
    assert result.vumeter_ns > 0
    assert result.prometheus_client_ns > 0
    assert result.ratio == result.vumeter_ns / result.prometheus_client_ns

    assert bench.main(["--iterations", "100", "--repeats", "1"]) == 0
    output = capsys.readouterr().out
    assert "vumeter track_operation" in output
    assert "prometheus_client equivalent" in output
    assert "ratio" in output
    # An impossible bound makes the script fail, as a CI gate would.
    assert bench.main(["--iterations", "100", "--repeats", "1", "--max-ratio", "0"]) == 1

    with pytest.raises(ValueError, match="iterations and repeats must be >= 1"):
        bench.run(iterations=0)
