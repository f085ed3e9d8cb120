"""Self-metrics: the metrics vumeter's background work keeps about itself.

* :class:`PerRegistry` creates a set of self-metrics once per registry (the GPU monitor's,
  the pusher's, the log shipper's), shared by every worker on that registry.
* :func:`registered_together` registers several metrics as one: if any of them fails (a
  name clash), those already registered are unregistered again, so a failed set-up leaves
  the registry as it found it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from prometheus_client.registry import Collector, CollectorRegistry

from vumeter._per_registry import PerRegistry

__all__ = ["PerRegistry", "registered_together"]

_C = TypeVar("_C", bound=Collector)


@contextlib.contextmanager
def registered_together(registry: CollectorRegistry | None) -> Iterator[Callable[[_C], _C]]:
    """``with registered_together(registry) as keep:`` wrap each metric created on
    ``registry`` in ``keep(...)``; an exception inside the block unregisters them all."""
    kept: list[Any] = []

    def keep(metric: _C) -> _C:
        kept.append(metric)
        return metric

    try:
        yield keep
    except BaseException:
        if registry is not None:
            for metric in reversed(kept):
                registry.unregister(metric)
        raise
