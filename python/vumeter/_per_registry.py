"""``PerRegistry``: one object per prometheus_client registry, created on first use.

vumeter's self-metrics (the cardinality guard's refusals, the GPU monitor's health, the
pusher's failures, the log shipper's counts) exist once per registry however many families,
monitors or handlers share it, because a registry accepts each metric name only once.
Registries are held weakly: a registry that is dropped takes its objects with it.

This lives in the metrics layer because the cardinality guard needs it; the runtime layer
re-exports it for the integrations (``vumeter.runtime.PerRegistry``).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from prometheus_client.registry import CollectorRegistry

__all__ = ["PerRegistry"]

_T = TypeVar("_T")


class PerRegistry(Generic[_T]):
    """``get(registry)`` returns the object ``create(registry)`` made for that registry,
    calling ``create`` on the first request only (thread-safe)."""

    def __init__(self, create: Callable[[CollectorRegistry], _T]) -> None:
        self._create = create
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
