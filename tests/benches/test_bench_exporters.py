"""The exporter benchmark runs end to end at tiny sizes and prints every row (its ratios
are reported, not asserted)."""

from __future__ import annotations

import pytest

from benches import bench_exporters


def test_bench_exporters_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_exporters.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("WSGI app, text", "write_to_textfile", "start_http_server, GET /metrics"):
        assert row in out
    assert "x\n" in out
