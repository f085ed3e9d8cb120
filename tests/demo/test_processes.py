"""``vumeter demo --processes N`` as a user runs it: the workers' counts summed in the main
process's one scrape, the multiprocess directory honoured or made and removed, and a real
Prometheus scraping a four-process demo."""

from __future__ import annotations

import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

import vumeter
from tests.demo.demo_process import LIGHT_LOAD, Demo
from tests.ops.live_stack import PrometheusAPI, log_tail, running
from tests.support.binaries import free_port, require_binary, wait_for_http
from tests.support.gateways import running_pushgateway
from vumeter.multiprocess import ENVIRONMENT_VARIABLE, MultiProcessCollector

# Four spawned interpreters import numpy, scipy and pystoi at once on a shared 2-core box.
START_TIMEOUT_S = 180.0
MEASURED = {"processor": "measure", "status": "success"}


def _cell_file_pids(directory: Path) -> set[int]:
    return {
        int(match["pid"])
        for path in directory.iterdir()
        if (match := re.fullmatch(r"vumeter-(?P<pid>\d+)-[0-9a-f]+\.cells", path.name))
    }


def _summary_count(out: str) -> int:
    match = re.search(r"stopped after .*?: (\d+) samples processed", out)
    assert match, out
    return int(match[1])


def test_workers_counts_are_summed_in_one_scrape(demos: list[Demo], tmp_path: Path) -> None:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    grace = 4.0  # a loaded machine still scrapes inside it after the workers have exited
    demo = Demo(
        "--processes", "2", "--workers", "1", "--duration", "0",
        "--grace-period", str(grace), *LIGHT_LOAD,
        env={ENVIRONMENT_VARIABLE: str(directory)},
    )  # fmt: skip
    demos.append(demo)
    demo.wait_ready(timeout=START_TIMEOUT_S)
    demo.wait_for("audio_samples_processed_total", 6, timeout=60, **MEASURED)

    # Two worker processes write cell files of their own in the given directory.
    workers = _cell_file_pids(directory) - {demo.process.pid}
    assert len(workers) == 2, sorted(p.name for p in directory.iterdir())
    text = demo.scrape()
    # livesum: one series for the host, the sum of the two processes' one worker each.
    assert re.search(
        r'^audio_processing_active_workers\{worker_type="pipeline"\} 2\.0$', text, re.M
    ), text
    assert 'pid="' not in text

    demo.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while demo.status("/readyz") == 200:
        assert time.monotonic() < deadline, "readiness did not fail after SIGTERM"
        time.sleep(0.05)
    # Scrape through the grace period: the last answer comes after the workers drained
    # and exited, from their folded files.
    last = None
    while demo.process.poll() is None and time.monotonic() < deadline + grace:
        try:
            last = demo.scrape()
        except OSError:
            break  # the server has stopped
        time.sleep(0.2)
    code, out, err = demo.finish()
    assert code == 0, err
    assert "Traceback" not in err
    assert "2 worker processes x 1 threads" in out
    assert f"(merged from {directory.resolve()})" in out
    assert last is not None
    # Each worker counted its own samples; the merged counter is their sum.
    assert demo.total("audio_samples_processed_total", last, **MEASURED) == _summary_count(out)
    # The variable's directory is the user's: left in place, the dead workers' files
    # folded into the aggregate.
    assert not _cell_file_pids(directory) & workers
    assert (directory / "vumeter-aggregate.json").is_file()


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody has reaped yet has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_workers_stop_when_the_main_process_is_killed(demos: list[Demo], tmp_path: Path) -> None:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    demo = Demo(
        "--processes", "2", "--workers", "1", "--duration", "0", *LIGHT_LOAD,
        env={ENVIRONMENT_VARIABLE: str(directory)},
    )  # fmt: skip
    demos.append(demo)
    demo.wait_ready(timeout=START_TIMEOUT_S)
    demo.wait_for("audio_samples_processed_total", 3, timeout=60, **MEASURED)
    workers = _cell_file_pids(directory) - {demo.process.pid}
    assert len(workers) == 2
    demo.process.send_signal(signal.SIGKILL)
    demo.process.communicate(timeout=60)  # the pipes close once the workers have exited
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers):
        assert time.monotonic() < deadline, "the worker processes outlived the main process"
        time.sleep(0.1)
    # What they recorded is still there for the next scrape of the directory.
    registry = vumeter.CollectorRegistry()
    MultiProcessCollector(registry, directory)
    text = vumeter.generate_latest(registry).decode()
    assert demo.total("audio_samples_processed_total", text, **MEASURED) >= 3


_PROMETHEUS_CONFIG = {
    "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
    "scrape_configs": [{"job_name": "vumeter-demo", "static_configs": [{"targets": []}]}],
}


def test_prometheus_scrapes_a_four_process_demo(demos: list[Demo], tmp_path: Path) -> None:
    prometheus = require_binary("prometheus")
    demo = Demo(
        "--processes", "4", "--workers", "1", "--duration", "0", *LIGHT_LOAD,
        unset=[ENVIRONMENT_VARIABLE, ENVIRONMENT_VARIABLE.lower()],  # it makes its own
    )  # fmt: skip
    demos.append(demo)
    demo.wait_ready(timeout=START_TIMEOUT_S)

    config = {**_PROMETHEUS_CONFIG}
    config["scrape_configs"] = [
        {"job_name": "vumeter-demo", "static_configs": [{"targets": [f"127.0.0.1:{demo.port}"]}]}
    ]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        prometheus,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        # The merged scrape in protobuf, with the catalog's native buckets merged over
        # the four processes (Prometheus 2.42 then keeps the native series alone of a
        # histogram that has both).
        "--enable-feature=native-histograms",
    ]
    with running("prometheus", command, tmp_path) as server:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/-/ready", timeout=60)
        api = PrometheusAPI(url)
        queries = {
            "up": 'up{job="vumeter-demo"}',
            "workers": 'audio_processing_active_workers{worker_type="pipeline"}',
            "measured": 'sum(audio_samples_processed_total{processor="measure",status="success"})',
            "scored": "histogram_count(sum(audio_quality_score))",
        }
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert server.exit_status() is None, log_tail(server.log_path)
            seen = {
                name: float(result[0]["value"][1])
                for name, expr in queries.items()
                if (result := api.query(expr))
            }
            if seen.get("workers") == 4 and seen.get("measured", 0) >= 8 and "scored" in seen:
                break
            time.sleep(0.5)
        assert seen.get("up") == 1.0, f"{seen}\n{log_tail(server.log_path)}"
        # One series over the four processes, one worker thread each.
        assert seen.get("workers") == 4.0, seen
        assert seen.get("measured", 0) >= 8, seen
        assert seen.get("scored", 0) >= 1, seen
        # The scrapes were parsed and stored whole, not refused.
        assert not api.query('scrape_samples_scraped{job="vumeter-demo"} == 0')

    demo.process.send_signal(signal.SIGTERM)
    code, out, err = demo.finish()
    assert code == 0, err
    assert "4 worker processes x 1 threads" in out
    made = re.search(r"\(merged from (\S+)\)", out)
    assert made, out
    # The directory the demo made is gone with it.
    assert not Path(made[1]).exists()


def test_the_merge_is_pushed_to_a_pushgateway(demos: list[Demo]) -> None:
    with running_pushgateway() as gateway:
        demo = Demo(
            "--processes", "2", "--workers", "1", "--duration", "4", "--grace-period", "0",
            "--push-gateway", gateway.url, "--push-interval", "1", *LIGHT_LOAD,
        )  # fmt: skip
        demos.append(demo)
        code, out, err = demo.finish(timeout=START_TIMEOUT_S)
        assert code == 0, err
        # A push with a series twice (this process's own, and inside the merge) is refused.
        assert "push to Pushgateway" not in err, err
        with urllib.request.urlopen(f"{gateway.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        # The final push comes after the workers drained: it holds every sample.
        pushed = demo.total("audio_samples_processed_total", text, job="vumeter-demo", **MEASURED)
        assert pushed == _summary_count(out)
        assert gateway.sample("vumeter_push_failures_total", job="vumeter-demo") == 0


@pytest.mark.parametrize("value", ["-1", "65"])
def test_processes_out_of_range_is_a_usage_error(value: str) -> None:
    from vumeter.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--processes", value])
    assert exit_info.value.code == 2
