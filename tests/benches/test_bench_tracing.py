"""The tracing benchmark runs (tiny iteration counts): a smoke test, not a measurement."""

from __future__ import annotations

import pytest

from benches import bench_tracing as bench
from vumeter.runtime import span_source
from vumeter.tracing import exemplars_enabled


def test_bench_runs_every_case_and_restores_the_switches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    medians = bench.run(iterations=50, repeats=2)
    assert len(medians) == 7
    assert all(value > 0 for value in medians.values())
    # Whatever it switched on for a case is off again.
    assert span_source() is None
    assert not exemplars_enabled()

    assert bench.main(["--iterations", "20", "--repeats", "1"]) == 0
    output = capsys.readouterr().out
    for name in ("off (never set up)", "inline children", "no-op tracer", "sdk, sampled"):
        assert name in output
    # An impossible bound makes the script fail, as a CI gate would.
    assert bench.main(["--iterations", "20", "--repeats", "1", "--max-off-overhead", "0"]) == 1
    with pytest.raises(ValueError, match="iterations and repeats must be >= 1"):
        bench.run(iterations=0)
