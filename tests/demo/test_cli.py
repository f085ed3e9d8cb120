"""The ``vumeter`` command line: help, option parsing and clear errors for bad options."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vumeter.cli import build_parser, main
from vumeter.demo.config import DEFAULT_DATASETS, DemoConfig


def test_without_a_command_it_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_demo_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--workers",
        "--duration",
        "--error-rate",
        "--quality-shift",
        "--push-gateway",
        "--push-interval",
        "--datasets",
        "--log-level",
        "--log-format",
        "--rate",
        "--seed",
    ):
        assert option in help_text, option
    assert "(default: 8080)" in help_text


def test_defaults_match_the_config_defaults() -> None:
    args = build_parser().parse_args(["demo"])
    defaults = DemoConfig()
    assert args.port == 8080 == defaults.port
    assert args.host == defaults.host
    assert args.duration == 0.0
    assert args.datasets == ",".join(DEFAULT_DATASETS)
    assert args.log_format == "text" == defaults.log_format


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--workers", "0"], "--workers must be an integer from 1 to 64, got 0"),
        (["--port", "70000"], "--port must be an integer from 0 to 65535"),
        (["--duration", "-1"], "--duration must be a finite number >= 0, got -1.0"),
        (["--duration", "nan"], "--duration must be a finite number"),
        (["--error-rate", "1.5"], "--error-rate must be a finite number from 0 to 1, got 1.5"),
        (["--quality-shift", "-2"], "--quality-shift must be a finite number from -1 to 1"),
        (["--push-gateway", "localhost:9091"], "--push-gateway must be an http:// or https:// URL"),
        (["--push-interval", "0"], "--push-interval must be a finite number from 0.1"),
        (["--datasets", ","], "--datasets must name at least one dataset"),
        (["--datasets", "a b"], "dataset names must be 1-64 letters"),
        (["--datasets", "a,a"], "--datasets must not repeat"),
        (["--rate", "-3"], "--rate must be a finite number from 0"),
        (["--batch-size", "0"], "--batch-size must be an integer from 1"),
        (["--clip-seconds", "0.5"], "--clip-seconds must be a finite number from 1 to 30"),
        (["--seed", "-1"], "--seed must be an integer from 0"),
        (["--grace-period", "-1"], "--grace-period must be a finite number from 0 to 300"),
        (["--gpu-poll-interval", "-1"], "--gpu-poll-interval must be a finite number"),
        (["--workers", "two"], "argument --workers: invalid int value: 'two'"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--log-format", "xml"], "argument --log-format: invalid choice: 'xml'"),
        (["--host", ""], "--host must not be empty"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *arguments])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "usage: vumeter demo" in error
    assert message in error


_PROBE = """
import os, sys
import vumeter
numpy_loaded_first = "numpy" in sys.modules
import vumeter.cli
print(numpy_loaded_first, os.environ["OPENBLAS_NUM_THREADS"], os.environ["OMP_NUM_THREADS"])
"""


@pytest.mark.parametrize(("preset", "expected"), [(None, "1 1"), ("3", "3 1")])
def test_the_cli_keeps_blas_single_threaded_unless_told_otherwise(
    preset: str | None, expected: str
) -> None:
    # The limit only works if it is set before numpy loads OpenBLAS.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True
    )
    assert probe.stdout.split() == ["False", *expected.split()]
