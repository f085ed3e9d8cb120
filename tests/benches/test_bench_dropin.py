"""The exporter and subclass benchmarks run end to end at tiny sizes and print every row
(their ratios are reported, not asserted)."""

from __future__ import annotations

import pytest

from benches import bench_exporters


def test_bench_exporters_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_exporters.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("WSGI app, text", "write_to_textfile", "start_http_server, GET /metrics"):
        assert row in out
    assert "x\n" in out


def test_bench_subclass_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    from benches import bench_subclass

    assert bench_subclass.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("as shipped: counter.inc()", "subclass overriding with super(): child.observe"):
        assert row in out
