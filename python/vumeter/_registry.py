"""Whether collectors are (still) registered in a prometheus_client registry.

Self-metric collectors are created once per registry and cached. Their owner may unregister
them (or the families they report on) at any time, and a cache that does not notice keeps
counting into a collector nobody exports, or reports on families nobody exports any more (and
then a family created again under the same name gives two identical series).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from prometheus_client.registry import CollectorRegistry

__all__ = ["is_registered", "registered_among", "reuse_or_register"]

_T = TypeVar("_T")
_C = TypeVar("_C")


def registered_among(registry: CollectorRegistry, candidates: Iterable[_C]) -> list[_C]:
    """Those of ``candidates`` registered in ``registry`` now, in their order.

    prometheus_client has no public membership test; this reads the mapping its own
    ``register``/``unregister``/``collect`` use, under its lock, as vumeter's renderer does.
    """
    with registry._lock:
        registered = registry._collector_to_names
        return [candidate for candidate in candidates if candidate in registered]


def is_registered(registry: CollectorRegistry, collector: Any) -> bool:
    return bool(registered_among(registry, [collector]))


def reuse_or_register(
    registry: CollectorRegistry,
    cached: _T | None,
    members: Callable[[_T], Iterable[Any]],
    register: Callable[[], _T],
) -> _T:
    """``cached`` while all its ``members`` are registered; otherwise what is left of it is
    unregistered (so the names are free) and ``register()`` makes a fresh set."""
    if cached is not None:
        parts = list(members(cached))
        present = registered_among(registry, parts)
        if len(present) == len(parts):
            return cached
        for part in present:
            registry.unregister(part)
    return register()
