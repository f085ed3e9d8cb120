"""Reading metric values the way a scrape shows them."""

from __future__ import annotations

from vumeter import CollectorRegistry


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A sample's value; 0.0 when the series does not exist."""
    sample = registry.get_sample_value(name, labels)
    return 0.0 if sample is None else sample


def exists(registry: CollectorRegistry, name: str, **labels: str) -> bool:
    return registry.get_sample_value(name, labels) is not None
