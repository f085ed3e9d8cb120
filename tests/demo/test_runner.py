"""``run_demo`` in-process: start-up, the banner, the summary, and a port that is taken."""

from __future__ import annotations

import io
import logging
import socket

import pytest

from vumeter import CollectorRegistry
from vumeter.demo import DemoConfig, run_demo

QUICK = {"port": 0, "rate": 8.0, "batch_size": 2, "gpu_poll_interval": 0.0, "grace_period": 0.0}


def test_run_demo_records_into_the_given_registry_and_returns_0() -> None:
    registry = CollectorRegistry()
    out = io.StringIO()
    config = DemoConfig(duration=1.5, seed=4, datasets=("vctk", "custom-set"), **QUICK)
    assert run_demo(config, registry=registry, out=out) == 0

    text = out.getvalue()
    assert "vumeter demo: 2 datasets (vctk, custom-set), 2 workers, 8 samples/s, for 1.5 s" in text
    assert "/metrics" in text
    assert "stopped after" in text
    assert "(the duration ended)" in text
    for dataset in ("vctk", "custom-set"):
        scored = registry.get_sample_value("audio_quality_score_count", {"dataset": dataset})
        assert scored is not None
        assert scored >= 1, dataset
    # After shutdown the workers are gone and nothing is left waiting.
    assert (
        registry.get_sample_value("audio_processing_active_workers", {"worker_type": "pipeline"})
        == 0.0
    )


def test_run_demo_says_what_is_wrong_when_the_port_is_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = DemoConfig(duration=1.0, **{**QUICK, "port": port})
        with caplog.at_level(logging.ERROR, logger="vumeter.demo"):
            assert run_demo(config, registry=CollectorRegistry(), out=io.StringIO()) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text
