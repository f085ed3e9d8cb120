"""The rendering and peer benchmarks run end to end (tiny sizes; ratios are reported by
the benchmarks, not asserted in unit tests). A peer that is not installed is reported
as missing, with the reason."""

from __future__ import annotations

import pytest

from benches import bench_peers, bench_render, bench_scrape_stall, peers


def test_bench_render_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_render.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("vumeter generate_latest", "vumeter server /metrics, gzip", "prometheus_client"):
        assert row in out
    for lib in peers.libraries():
        if lib.missing is not None:
            assert f"{lib.name}" in out
            assert lib.missing in out


def test_bench_peers_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_peers.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for shape in peers.CALLS:
        assert shape in out
    assert "call floor" in out


def test_bench_scrape_stall_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_scrape_stall.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "/livez, no scrapes" in out
    assert "/livez, scrapes running" in out
    assert "20000 series in one family" in out
