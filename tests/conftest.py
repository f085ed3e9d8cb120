"""Fixtures every test folder shares: a private registry per test, the audio catalog on it,
and a collector recording into it (closed after the test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> AudioProcessingMetrics:
    return AudioProcessingMetrics(registry)


@pytest.fixture
def collector(metrics: AudioProcessingMetrics) -> Iterator[MetricsCollector]:
    collector = MetricsCollector(metrics)
    yield collector
    collector.close()
