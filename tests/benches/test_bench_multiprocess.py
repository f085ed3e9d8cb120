"""The multi-process benchmark runs end to end with tiny sizes (its ratios are reported by
the benchmark, not asserted here), and the two libraries' merges agree."""

from __future__ import annotations

import pytest

from benches import bench_multiprocess


def test_bench_multiprocess_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_multiprocess.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for label, _, _ in bench_multiprocess.CALL_MODES:
        assert label in out
    for shape in [*bench_multiprocess.CALLS, *bench_multiprocess.VUMETER_CALLS]:
        assert shape in out
    assert "merge and render 2 live processes x 20 histogram" in out
    assert "the same series in both merges: yes" in out
    assert "10 dead, folded" in out
    assert "dead folded / none dead:" in out
    assert "2 live processes x 20 native histogram children" in out
    assert "merged / one process:" in out
