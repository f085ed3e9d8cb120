"""Fixtures for the demo tests: a private registry and collector per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vumeter import CollectorRegistry
from vumeter.audio import AudioProcessingMetrics, MetricsCollector


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def collector(registry: CollectorRegistry) -> Iterator[MetricsCollector]:
    collector = MetricsCollector(AudioProcessingMetrics(registry))
    yield collector
    collector.close()
