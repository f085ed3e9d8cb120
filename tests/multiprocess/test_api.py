"""The multi-process API: enabling, errors, prometheus_client's exporters, mixed code
bases, removal, mark_process_dead, and single-process behaviour left as it was."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as client_generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

import vumeter
from tests.multiprocess.processes import (
    Worker,
    run_programs,
    run_script,
    samples,
    vumeter_scrape,
)
from vumeter import multiprocess
from vumeter.multiprocess import MultiProcessCollector

JOBS = frozenset({("k", "a")})


def test_without_the_variable_nothing_is_placed() -> None:
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert multiprocess.directory() is None
    counter = vumeter.Counter("mp_single", "Single", registry=None)
    assert counter._multiprocess is False


def test_a_variable_naming_no_directory_fails_at_import(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")}
    done = subprocess.run(
        [sys.executable, "-c", "import vumeter"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "is not a directory" in done.stderr


def test_enable_errors(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    script = f"""
        import pytest
        from vumeter import multiprocess
        multiprocess.enable({str(tmp_path)!r})
        with pytest.raises(RuntimeError, match="already on"):
            multiprocess.enable({str(other)!r})
        multiprocess.enable({str(tmp_path)!r})
        assert str(multiprocess.directory()) == {str(tmp_path.resolve())!r}
    """
    run_script(script, None)
    with pytest.raises(ValueError, match="not a directory"):
        vumeter._native.multiprocess_enable(tmp_path / "missing")


def test_collector_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(None)
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(None, path=tmp_path / "missing")


def test_prometheus_client_exporters_see_the_same_merge(tmp_path: Path) -> None:
    program = [["inc", "a", 2.0], ["observe", "a", 0.75], ["set", "max", "a", 3.0]]
    run_programs("vumeter", [program, program], tmp_path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=tmp_path)
    native = vumeter.generate_latest(registry)
    assert client_generate_latest(registry) == native, "byte for byte"
    openmetrics = vumeter.generate_openmetrics(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(openmetrics)}
    assert families["mp_jobs"].samples[0].value == 4.0
    assert samples(native)[("mp_gauge_max", JOBS)] == 3.0


def test_mixed_prometheus_client_and_vumeter_processes(tmp_path: Path) -> None:
    """Code still on prometheus_client and code on vumeter, in one directory: one scrape
    through vumeter's collector sums them."""
    program = [["inc", "a", 5.0], ["observe", "a", 2.0], ["set", "all", "a", 1.0]]
    workers = run_programs("prometheus_client", [program], tmp_path)
    workers += run_programs("vumeter", [program, program], tmp_path)
    got = samples(vumeter_scrape(tmp_path))
    assert got[("mp_jobs_total", JOBS)] == 15.0
    assert got[("mp_latency_seconds_count", JOBS)] == 3.0
    assert got[("mp_latency_seconds_bucket", JOBS | {("le", "5.0")})] == 3.0
    pids = {str(w.pid) for w in workers}
    gauges = {dict(labels)["pid"] for name, labels in got if name == "mp_gauge_all"}
    assert gauges == pids


def test_prometheus_client_start_up_warning(tmp_path: Path) -> None:
    first = run_script("import vumeter", tmp_path)
    second = run_script("import vumeter", tmp_path)
    assert "MultiProcessWarning" in first.stderr
    assert "prometheus_client's MultiProcessCollector cannot read" in first.stderr
    assert "MultiProcessWarning" not in second.stderr, "once per directory"


def test_removal_takes_a_series_out_of_the_merge(tmp_path: Path) -> None:
    script = """
        import vumeter
        from prometheus_client import CollectorRegistry
        from vumeter.multiprocess import MultiProcessCollector
        c = vumeter.Counter("mp_removed", "Jobs", ["k"])
        c.labels("gone").inc(4)
        c.labels("kept").inc(1)
        c.remove("gone")
        g = vumeter.Gauge("mp_cleared", "Depth", ["k"])
        g.labels("x").set(2)
        g.clear()
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        print(vumeter.generate_latest(registry).decode())
    """
    text = run_script(script, tmp_path).stdout
    assert 'mp_removed_total{k="kept"} 1.0' in text
    assert "gone" not in text
    assert "mp_cleared{" not in text


def test_one_registry_with_the_collector_and_the_families_renders_each_series_once(
    tmp_path: Path,
) -> None:
    script = """
        import vumeter
        from vumeter.multiprocess import MultiProcessCollector
        c = vumeter.Counter("mp_once", "Jobs")
        c.inc(3)
        MultiProcessCollector(vumeter.REGISTRY)
        print(vumeter.generate_latest().decode())
    """
    text = run_script(script, tmp_path).stdout
    assert text.count("# TYPE mp_once_total counter") == 1
    assert "mp_once_total 3.0" in text
    assert "mp_once_created" not in text


def test_mostrecent_gauges_allow_only_set() -> None:
    gauge = vumeter.Gauge("mp_latest", "Latest", multiprocess_mode="mostrecent", registry=None)
    gauge.set(3.0)
    with pytest.raises(RuntimeError, match="mostrecent"):
        gauge.inc()
    with pytest.raises(RuntimeError, match="mostrecent"):
        gauge.dec(2)
    assert gauge._multiprocess_mode == "mostrecent"
    with pytest.raises(ValueError, match="Invalid multiprocess mode"):
        vumeter.Gauge("mp_bad", "Bad", multiprocess_mode="newest", registry=None)


def test_mark_process_dead(tmp_path: Path) -> None:
    """prometheus_client's live gauge files of the pid go, and vumeter's dead files are
    folded into the aggregate there and then."""
    client = Worker("prometheus_client", [["set", "livesum", "a", 2.0]], tmp_path, hold=True)
    client.wait_done()
    run_programs("vumeter", [[["inc", "a", 1.0]]], tmp_path)
    assert any(f.startswith("gauge_livesum_") for f in os.listdir(tmp_path))
    multiprocess.mark_process_dead(client.pid, tmp_path)
    names = os.listdir(tmp_path)
    assert not any(f.startswith("gauge_livesum_") for f in names)
    assert not any(f.endswith(".cells") for f in names)
    assert "vumeter-aggregate.json" in names
    client.finish()
    assert samples(vumeter_scrape(tmp_path))[("mp_jobs_total", JOBS)] == 1.0


def test_an_unreadable_file_is_logged_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_programs("vumeter", [[["inc", "a", 2.0]]], tmp_path)
    (tmp_path / "vumeter-1-bad.cells").write_bytes(b"not a cell file at all, long enough" * 4)
    (tmp_path / "counter_9.db").write_bytes(b"\xff" * 16)
    with caplog.at_level(logging.WARNING, logger="vumeter.multiprocess"):
        text = vumeter_scrape(tmp_path)
    assert samples(text)[("mp_jobs_total", JOBS)] == 2.0
    logged = caplog.text
    assert "counter_9.db" in logged
    assert "left out of the scrape" in logged


def test_exemplars_survive_the_merge(tmp_path: Path) -> None:
    """The latest exemplar of each series and bucket over every process, live or folded
    (prometheus_client's multiprocess mode keeps none)."""
    first = [["inc_exemplar", "a", 1.0, "first"], ["observe_exemplar", "a", 0.75, "slow"]]
    second = [["inc_exemplar", "a", 2.0, "second"], ["observe_exemplar", "a", 0.25, "fast"]]
    live = Worker("vumeter", second, tmp_path, hold=True)
    live.wait_done()
    run_programs("vumeter", [first], tmp_path)  # ends first, but wrote later: its exemplars win
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=tmp_path)
    text = vumeter.generate_openmetrics(registry).decode()
    live.finish()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (total,) = families["mp_jobs"].samples
    assert total.value == 3.0
    assert total.exemplar is not None
    assert total.exemplar.labels == {"trace_id": "first"}
    buckets = {
        s.labels["le"]: s for s in families["mp_latency_seconds"].samples if "le" in s.labels
    }
    assert buckets["0.5"].exemplar is not None
    assert buckets["0.5"].exemplar.labels == {"trace_id": "fast"}
    assert buckets["1.0"].exemplar is not None
    assert buckets["1.0"].exemplar.labels == {"trace_id": "slow"}
    assert buckets["1.0"].exemplar.value == 0.75
    folded = vumeter.generate_openmetrics(registry).decode()
    assert 'trace_id="first"' in folded
    assert 'trace_id="fast"' in folded


def test_function_gauges_of_the_serving_process_are_current_in_the_merge(
    tmp_path: Path,
) -> None:
    script = """
        import vumeter
        from prometheus_client import CollectorRegistry
        from vumeter.multiprocess import MultiProcessCollector
        depth = [3.0]
        g = vumeter.Gauge("mp_depth", "Depth", multiprocess_mode="max")
        g.set_function(lambda: depth[0])
        MultiProcessCollector(vumeter.REGISTRY)
        print(vumeter.generate_latest().decode())
        depth[0] = 7.0
        print(vumeter.generate_latest().decode())
    """
    first, second = run_script(script, tmp_path).stdout.split("# HELP mp_depth", 2)[1:]
    assert "mp_depth 3.0" in first
    assert "mp_depth 7.0" in second
