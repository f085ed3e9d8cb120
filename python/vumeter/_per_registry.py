"""``PerRegistry``: one object per prometheus_client registry, created on first use.

vumeter's self-metrics (the cardinality guard's refusals, the GPU monitor's health, the
pusher's failures, the log shipper's counts, the server's) exist once per registry however many
families, monitors or handlers share it, because a registry accepts each metric name only once.
Registries are held weakly: a registry that is dropped takes its objects with it.

The registry's owner may unregister those metrics at any time. Given ``members`` (the
collectors an object registered), ``get`` notices: it returns a fresh set instead of one that
nobody exports any more, so a new monitor or handler does not count into the void.

This lives in the metrics layer because the cardinality guard needs it; the runtime layer
re-exports it for the integrations (``vumeter.runtime.PerRegistry``).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from prometheus_client.registry import CollectorRegistry

__all__ = ["PerRegistry", "is_registered", "registered_among", "registered_collectors"]

_T = TypeVar("_T")
_C = TypeVar("_C")


def registered_collectors(registry: CollectorRegistry) -> list[Any]:
    """Every collector registered in ``registry`` now, in registration order.

    prometheus_client has no public way to list them (or to test membership); this reads the
    mapping its own ``register``/``unregister``/``collect`` use, under its lock, as vumeter's
    renderer does.
    """
    with registry._lock:
        return list(registry._collector_to_names)


def registered_among(registry: CollectorRegistry, candidates: Iterable[_C]) -> list[_C]:
    """Those of ``candidates`` registered in ``registry`` now, in their order."""
    with registry._lock:
        registered = registry._collector_to_names
        return [candidate for candidate in candidates if candidate in registered]


def is_registered(registry: CollectorRegistry, collector: Any) -> bool:
    return bool(registered_among(registry, [collector]))


class PerRegistry(Generic[_T]):
    """``get(registry)`` returns the object ``create(registry)`` made for that registry,
    calling ``create`` on the first request only (thread-safe).

    With ``members``, an object is made afresh when any of ``members(object)`` is no longer
    registered; what is left of the old one is unregistered first, so the names are free.
    """

    def __init__(
        self,
        create: Callable[[CollectorRegistry], _T],
        *,
        members: Callable[[_T], Iterable[Any]] | None = None,
    ) -> None:
        self._create = create
        self._members = members
        self._objects: weakref.WeakKeyDictionary[CollectorRegistry, _T] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        _instances.add(self)

    def get(self, registry: CollectorRegistry) -> _T:
        if not isinstance(registry, CollectorRegistry):
            raise TypeError(f"registry must be a CollectorRegistry, got {type(registry).__name__}")
        with self._lock:
            found = self._objects.get(registry)
            if found is not None and self._members is not None:
                parts = list(self._members(found))
                present = registered_among(registry, parts)
                if len(present) < len(parts):
                    for part in present:
                        registry.unregister(part)
                    found = None
            if found is None:
                found = self._create(registry)
                self._objects[registry] = found
            return found

    def _after_fork_in_child(self) -> None:
        # Another thread of the parent may have held the lock at fork time; in the child
        # nobody would ever release it.
        self._lock = threading.Lock()


_instances: weakref.WeakSet[PerRegistry[Any]] = weakref.WeakSet()


def _reset_locks_in_child() -> None:
    for instance in list(_instances):
        instance._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_in_child)
