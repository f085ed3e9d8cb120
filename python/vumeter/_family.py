"""What every vumeter metric family shares on the Python side: registration into a
prometheus_client registry as a custom collector, ``describe()`` and ``collect()``.

The hot paths (``labels()``, ``inc()``, ``observe()``) are native methods inherited from
``vumeter._native``; nothing here runs per observation.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable
from typing import Any, NoReturn, cast

from prometheus_client import metrics as _prometheus_metrics
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry
from prometheus_client.samples import Exemplar, Sample

from vumeter import _native
from vumeter._naming import note_names
from vumeter._subclassing import prepare_subclass
from vumeter.cardinality import track_cardinality

# Registries that hold vumeter metrics. prometheus_client's registry takes its lock in
# register() and collect(); a fork while another thread holds it would copy it locked,
# and a forked worker that registers a metric or scrapes would wait forever. So the
# locks are held across every fork: the forking thread waits (interpreter lock
# released) for a register() or a collect() in flight to finish, and both processes
# release them afterwards. (The native locks have their own fork gate.)
_REGISTRIES: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()
_HELD_ACROSS_FORK: list[Any] = []
# A registry lock is held for microseconds; a fork never waits longer than this for one.
_FORK_LOCK_WAIT_S = 2.0


def _hold_registry_locks() -> None:
    for registry in sorted(_REGISTRIES, key=id):
        lock = getattr(registry, "_lock", None)
        if lock is not None and lock.acquire(timeout=_FORK_LOCK_WAIT_S):
            _HELD_ACROSS_FORK.append(lock)


def _release_registry_locks() -> None:
    while _HELD_ACROSS_FORK:
        _HELD_ACROSS_FORK.pop().release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_hold_registry_locks,
        after_in_parent=_release_registry_locks,
        after_in_child=_release_registry_locks,
    )


def created_enabled() -> bool:
    """Whether ``_created`` samples are exported (prometheus_client's switch)."""
    return bool(getattr(_prometheus_metrics, "_use_created", True))


class FamilyType(type):
    """The metaclass of Counter, Gauge and Histogram: a labelled child counts as an
    instance of its family's class (and of the library class), as prometheus_client's
    children are instances of theirs. An exact instance never reaches this (CPython
    checks the type first), so it costs nothing on the families themselves."""

    def __instancecheck__(cls, instance: object) -> bool:
        if type.__instancecheck__(cls, instance):
            return True
        # Only the class's own child class: a subclass's children are instances of the
        # library class too (their class derives from its child class), not the reverse.
        child_class = cls.__dict__.get("_child_class")
        return child_class is not None and isinstance(instance, child_class)


class FamilyMixin(metaclass=FamilyType):
    """Mixed into Counter, Gauge and Histogram ahead of their native base.

    The final classes declare ``__slots__ = FAMILY_SLOTS``: without an instance dict,
    CPython resolves ``counter.inc`` straight from the type, which keeps the hot path of
    metrics without labels as cheap as that of labelled children.
    """

    __slots__ = ()

    _name: str
    _documentation: str
    _type: str
    _unit: str
    _labelnames: tuple[str, ...]
    _max_label_sets: int | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The library classes set _family_base once they exist; every class made after
        # that is a user's subclass.
        family_base = getattr(cls, "_family_base", None)
        if family_base is not None:
            prepare_subclass(cls, family_base)

    def _register(self, registry: CollectorRegistry | None) -> None:
        note_names(self, self._name, self._labelnames)
        if registry:
            _REGISTRIES.add(registry)
            registry.register(self)
            if self._max_label_sets is not None:
                track_cardinality(registry, self)

    def describe(self) -> Iterable[Metric]:
        """The family without samples: lets the registry detect duplicate names cheaply."""
        return [Metric(self._name, self._documentation, self._type, self._unit)]

    def collect(self) -> Iterable[Metric]:
        """prometheus_client ``Metric`` objects, for exporters other than vumeter's.

        The samples come from the native core, shaped by the same rules as the native
        text renderer, so this and :func:`vumeter.generate_latest` cannot disagree.
        """
        metric = Metric(self._name, self._documentation, self._type, self._unit)
        family = cast(_native.MetricFamily, self)
        metric.samples = _native.family_samples(family, created_enabled(), Sample, Exemplar)
        return [metric]

    def __repr__(self) -> str:
        cls = type(self)
        return f"{cls.__module__}.{cls.__name__}({self._name})"

    def _raise_if_not_observable(self) -> None:
        observable: Any = getattr(self, "_observable", True)
        if not observable:
            raise ValueError(
                f"{self._type} metric is missing label values: call .labels(...) first"
            )


# Weak references: the cardinality collector tracks families without keeping them alive.
FAMILY_SLOTS = ("__weakref__",)


class ChildMixin:
    """Mixed into the labelled children (``Counter.labels(...)`` returns one)."""

    __slots__ = ()

    def labels(self, *values: Any, **labels: Any) -> NoReturn:
        """Always raises: a child has its labels already (as prometheus_client's)."""
        raise ValueError("this metric already has labels set; can not chain calls to .labels()")
