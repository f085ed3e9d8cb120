"""Fixtures for the native-core tests: a fresh registry per test, so tests never share
metric names through prometheus_client's global REGISTRY."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()
