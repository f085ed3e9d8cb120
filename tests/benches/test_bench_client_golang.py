"""The client_golang benchmark runs end to end (tiny sizes; its ratios are reported by
the benchmark, not asserted here). It needs Go and client_golang: under CI=true their
absence fails the test, elsewhere it skips it (the benchmark itself reports them missing)."""

from __future__ import annotations

import pytest

from benches import bench_client_golang
from tests.support import golang


def test_bench_client_golang_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    golang.require_toolchain()
    assert bench_client_golang.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in (
        "client_golang native Observe (Go)",
        "client_golang classic Observe (Go)",
        "vumeter native observe",
        "vumeter classic observe",
        "vumeter native observe_many",
        "Python for loop alone",
    ):
        assert row in out
    assert "missing" not in out
