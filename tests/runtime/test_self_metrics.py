"""Self-metrics once per registry, and metric sets registered all or nothing."""

from __future__ import annotations

import gc
import threading

import pytest

from vumeter import CollectorRegistry, Counter
from vumeter.runtime import PerRegistry, registered_together


def test_one_object_per_registry_created_once_even_under_contention() -> None:
    created: list[CollectorRegistry] = []

    def create(registry: CollectorRegistry) -> Counter:
        created.append(registry)
        return Counter("test_self_total", "Test.", registry=registry)

    per_registry = PerRegistry(create)
    first, second = CollectorRegistry(), CollectorRegistry()
    results: list[Counter] = []
    threads = [
        threading.Thread(target=lambda: results.append(per_registry.get(first))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(result) for result in results}) == 1
    assert per_registry.get(second) is not results[0]
    assert created == [first, second]
    with pytest.raises(TypeError, match="registry must be a CollectorRegistry, got str"):
        per_registry.get("registry")  # type: ignore[arg-type]


def test_a_dropped_registry_takes_its_object_with_it() -> None:
    per_registry = PerRegistry(lambda registry: object())
    registry = CollectorRegistry()
    per_registry.get(registry)
    del registry
    gc.collect()
    assert len(per_registry._objects) == 0


def _register_clashing_set(registry: CollectorRegistry) -> None:
    with registered_together(registry) as keep:
        keep(Counter("first_total", "First.", registry=registry))
        keep(Counter("taken_total", "Clashes.", registry=registry))


def test_registered_together_unregisters_all_on_a_clash() -> None:
    registry = CollectorRegistry()
    Counter("taken_total", "Already there.", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        _register_clashing_set(registry)
    names = {family.name for family in registry.collect()}
    assert names == {"taken"}  # first_total was unregistered again
