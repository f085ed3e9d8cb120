"""``Counter``: prometheus_client's Counter API on a native, sharded core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter import _native
from vumeter._family import FAMILY_SLOTS, ChildMixin, FamilyMixin
from vumeter._naming import build_full_name, validate_labelnames
from vumeter._subclassing import captured, is_probe
from vumeter._timing import ExceptionCounter, IncrementedMetric

ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


class _CounterMethods:
    __slots__ = ()

    def count_exceptions(
        self: IncrementedMetric, exception: ExceptionTypes = Exception
    ) -> ExceptionCounter:
        """Counts exceptions of type ``exception`` leaving a block or function."""
        FamilyMixin._raise_if_not_observable(self)  # type: ignore[arg-type]
        return ExceptionCounter(self, exception)


class CounterChild(_CounterMethods, ChildMixin, _native.CounterChild):
    """One labelled series of a :class:`Counter`."""

    __slots__ = ()


class Counter(_CounterMethods, FamilyMixin, _native.CounterFamily):
    """A monotonically increasing count (prometheus_client-compatible).

    ``Counter('requests', 'Requests served', ['method']).labels('get').inc()``.
    Increments are lock-free atomic adds on a per-thread shard. ``max_label_sets``
    caps the number of label sets (see :mod:`vumeter.cardinality`).
    """

    __slots__ = FAMILY_SLOTS
    _family_base: ClassVar[type[Counter]]
    _child_class: ClassVar[type[CounterChild]]

    if TYPE_CHECKING:
        # The native labels() returns whatever child class the family was made with;
        # for type checkers, it is this family's.
        def labels(self, *values: object, **labels: object) -> CounterChild:
            """The child for these label values, created on first use."""
            ...

    def __new__(
        cls,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: CollectorRegistry | None = REGISTRY,
        *,
        max_label_sets: int | None = None,
    ) -> Counter:
        full_name = build_full_name("counter", name, namespace, subsystem, unit)
        names = validate_labelnames(labelnames)
        self = super().__new__(
            cls, full_name, documentation, unit, names, cls._child_class, max_label_sets
        )
        self._register(registry)
        return self

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: CollectorRegistry | None = REGISTRY,
        *,
        max_label_sets: int | None = None,
    ) -> None:
        """The counter is built by ``__new__``; a subclass's ``__init__`` may call this
        with the arguments to build it from (see :mod:`vumeter._subclassing`)."""
        if is_probe(self):
            raise captured(locals())


Counter._family_base = Counter
Counter._child_class = CounterChild


# Vectorcall fast paths for inc() and labels() (see src-rust/bindings/src/fastcall.rs).
_native.install_fast_paths(Counter)
_native.install_fast_paths(CounterChild)
