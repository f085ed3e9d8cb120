"""`promtool check metrics` accepts vumeter's exposition (the real binary)."""

from __future__ import annotations

import subprocess

import numpy as np
from prometheus_client import CollectorRegistry

import vumeter
from tests.support.binaries import require_binary
from vumeter import Counter, Gauge, Histogram


def test_promtool_accepts_exposition() -> None:
    promtool = require_binary("promtool")
    registry = CollectorRegistry()
    Counter(
        "audio_samples_processed_total",
        "Samples processed.",
        ["dataset", "status"],
        registry=registry,
    ).labels("libri", "success").inc(3, exemplar={"trace_id": "abc"})
    Gauge("audio_processing_queue_size", "Queue size.", ["queue_name"], registry=registry).labels(
        "in"
    ).set(4)
    quality = Histogram(
        "audio_quality_score",
        "TOPSIS scores.",
        ["dataset"],
        registry=registry,
        buckets=vumeter.linear_buckets(0.1, 0.1, 10),
    )
    quality.labels('odd "name"\n').observe_many(np.random.default_rng(1).random(1000))
    Histogram(
        "audio_processing_duration_seconds", "Duration.", registry=registry, unit="seconds"
    ).observe(0.2)
    text = vumeter.generate_latest(registry)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
