"""Fixtures for the audio instrumentation tests: a private registry per test."""

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
