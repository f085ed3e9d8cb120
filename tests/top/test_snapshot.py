"""``vumeter top --once`` and a non-terminal standard output: one plain-text snapshot."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from tests.support.binaries import free_port
from tests.top.expositions import latency, processed
from tests.top.servers import REPO_ROOT, ScriptedEndpoint
from vumeter.top.app import print_snapshot
from vumeter.top.options import TopOptions

HEAD = "# TYPE audio_samples_processed_total counter\n"
FIRST = HEAD + processed("librispeech", "success", 100) + processed("vctk", "error", 3)
FIRST += latency("enhance", {"0.01": 10, "0.1": 20, "+Inf": 20})
FIRST += "# TYPE audio_processing_queue_size gauge\n"
FIRST += 'audio_processing_queue_size{queue_name="input"} 7\n'
FIRST += "# TYPE vumeter_gpu_monitor_up gauge\nvumeter_gpu_monitor_up 0\n"
SECOND = FIRST.replace("} 100\n", "} 160\n").replace("} 3\n", "} 5\n")


def _rate(text: str, dataset: str, column: int = 0) -> float:
    """The rate in ``column`` (0: success, 1: error) of ``dataset``'s measure row, per s."""
    match = re.search(rf"{dataset}\s+measure\s+(\S+)\s+(\S+)", text)
    assert match, text
    cell = match.group(column + 1)
    assert cell.endswith("/s"), text
    return float(cell.removesuffix("/s"))


def _assert_rate_over(rate: float, increase: float, interval: float) -> None:
    # Polls are at least `interval` apart, and not much more on a loaded machine.
    assert increase / (interval + 2.0) < rate <= increase / interval


def _flat(text: str) -> str:
    return " ".join(text.split())


def _snapshot(*urls: str, interval: float = 0.5) -> tuple[int, str]:
    out = io.StringIO()
    code = print_snapshot(TopOptions(urls=urls, interval=interval, once=True), out=out)
    return code, out.getvalue()


def test_once_prints_every_panel_with_rates_over_the_interval() -> None:
    with ScriptedEndpoint([FIRST, SECOND]) as endpoint:
        code, text = _snapshot(endpoint.url)
    assert code == 0
    assert endpoint.requests == 2
    assert f"● {endpoint.url}  up" in text
    assert "readyz: ready (all good)" in text
    # 60 more successes and 2 more errors over the half-second interval.
    _assert_rate_over(_rate(text, "librispeech"), 60, 0.5)
    _assert_rate_over(_rate(text, "vctk", column=1), 2, 0.5)
    assert re.search(r"vctk\s+measure\s+-\s+", text), text  # no success series at all
    # Distributions since the worker started: 10 of 20 at or below 10 ms.
    assert re.search(r"enhance\s+0/s\s+10 ms\s+", text), text
    assert "GPU monitoring down" in text
    assert re.search(r"queue\s+input\s+7", text), text
    assert "\x1b[" not in text  # plain text: no colours, no cursor movement
    assert "q quit" not in text


def test_an_unreachable_endpoint_is_shown_as_such_and_exits_1() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    code, text = _snapshot(url, interval=0.1)
    assert code == 1
    assert f"✖ {url} unreachable, retrying: cannot reach {url}" in _flat(text)


def test_one_endpoint_down_leaves_the_others_numbers() -> None:
    down = f"http://127.0.0.1:{free_port()}/metrics"
    with ScriptedEndpoint([FIRST, SECOND], readiness=None) as endpoint:
        code, text = _snapshot(endpoint.url, down)
    assert code == 0
    assert "unreachable" in text
    assert "readyz" not in text  # this endpoint has no /readyz: nothing to show
    _assert_rate_over(_rate(text, "librispeech"), 60, 0.5)


def test_a_malformed_exposition_is_reported_with_its_line() -> None:
    with ScriptedEndpoint(["ok 1\nbroken{ 2\n"]) as endpoint:
        code, text = _snapshot(endpoint.url, interval=0.1)
    assert code == 1
    assert "does not parse: line 2: invalid label name" in _flat(text)


def test_a_pipe_gets_one_snapshot_without_once() -> None:
    with ScriptedEndpoint([FIRST, SECOND]) as endpoint:
        done = subprocess.run(
            [sys.executable, "-m", "vumeter.cli", "top", endpoint.url, "--interval", "0.3"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert "throughput" in done.stdout
    _assert_rate_over(_rate(done.stdout, "librispeech"), 60, 0.3)
    assert "\x1b[" not in done.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--interval", "0"], "--interval must be a finite number of seconds >= 0.1"),
        (["--window", "0.5", "--interval", "1"], "--window must be a finite number"),
        (["ftp://host/metrics"], "not an http(s) URL"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(arguments: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vumeter.cli", "top", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr


def test_gpu_memory_is_drawn_as_a_bar_per_gpu() -> None:
    gpus = "# TYPE gpu_memory_usage_bytes gauge\n"
    gpus += 'gpu_memory_usage_bytes{gpu_id="0"} 42949672960\n'  # 40 GiB of 80
    gpus += 'gpu_memory_usage_bytes{gpu_id="1"} 81604378624\n'  # 76 GiB of 80
    gpus += "# TYPE gpu_memory_total_bytes gauge\n"
    gpus += 'gpu_memory_total_bytes{gpu_id="0"} 85899345920\n'
    gpus += 'gpu_memory_total_bytes{gpu_id="1"} 85899345920\n'
    gpus += '# TYPE gpu_utilization_ratio gauge\ngpu_utilization_ratio{gpu_id="0"} 0.5\n'
    gpus += "# TYPE vumeter_gpu_monitor_up gauge\nvumeter_gpu_monitor_up 1\n"
    with ScriptedEndpoint([gpus]) as endpoint:
        code, text = _snapshot(endpoint.url, interval=0.1)
    assert code == 0
    assert re.search(r"0\s+█{10}░{10}\s+40\.0 GiB / 80\.0 GiB\s+50\.0%", text), text
    assert re.search(r"1\s+█{19}░\s+76\.0 GiB / 80\.0 GiB\s+-", text), text
    assert "GPU monitoring down" not in text
    assert "throughput" not in text  # no such metrics here: that panel is left out
