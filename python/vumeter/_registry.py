"""Whether a collector is (still) registered in a prometheus_client registry.

Self-metric collectors are created once per registry and cached. Their owner may unregister
them (or the families they report on) at any time, and a cache that does not notice keeps
counting into a collector nobody exports, or reports on families nobody exports any more.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.registry import CollectorRegistry

__all__ = ["is_registered"]


def is_registered(registry: CollectorRegistry, collector: Any) -> bool:
    """``collector`` is registered in ``registry`` now.

    prometheus_client has no public membership test; this reads the mapping its own
    ``register``/``unregister``/``collect`` use, under its lock, as vumeter's renderer does.
    """
    with registry._lock:
        return collector in registry._collector_to_names
