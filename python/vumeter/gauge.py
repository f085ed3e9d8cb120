"""``Gauge``: prometheus_client's Gauge API on a native core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter import _native
from vumeter._family import FAMILY_SLOTS, ChildMixin, FamilyMixin
from vumeter._naming import build_full_name, validate_labelnames
from vumeter._subclassing import captured, is_probe
from vumeter._timing import InprogressTracker, TimedMetric, Timer, TrackedGauge

# How a gauge's values from several processes merge in multi-process mode
# (vumeter.multiprocess; docs/multiprocess.md), prometheus_client's modes. In one process
# the mode changes nothing, except that the mostrecent modes allow only set().
MULTIPROCESS_MODES = frozenset(
    (
        "all",
        "liveall",
        "min",
        "livemin",
        "max",
        "livemax",
        "sum",
        "livesum",
        "mostrecent",
        "livemostrecent",
    )
)


class _GaugeMethods:
    __slots__ = ()

    def track_inprogress(self: TrackedGauge) -> InprogressTracker:
        """Increments on entering a block or function, decrements on leaving it."""
        FamilyMixin._raise_if_not_observable(self)  # type: ignore[arg-type]
        return InprogressTracker(self)

    def time(self: TimedMetric) -> Timer:
        """Sets the gauge to the duration in seconds of a block or function."""
        return Timer(self, "set")


class GaugeChild(_GaugeMethods, ChildMixin, _native.GaugeChild):
    """One labelled series of a :class:`Gauge`."""

    __slots__ = ()


class Gauge(_GaugeMethods, FamilyMixin, _native.GaugeFamily):
    """A value that goes up and down (prometheus_client-compatible).

    Unlike counters and histograms a gauge is one atomic cell, not per-thread shards:
    ``set`` must win over every earlier ``inc`` from any thread.
    """

    __slots__ = FAMILY_SLOTS
    _family_base: ClassVar[type[Gauge]]
    _child_class: ClassVar[type[GaugeChild]]

    if TYPE_CHECKING:
        # The native labels() returns whatever child class the family was made with;
        # for type checkers, it is this family's.
        def labels(self, *values: object, **labels: object) -> GaugeChild:
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
        multiprocess_mode: str = "all",
        *,
        max_label_sets: int | None = None,
    ) -> Gauge:
        if multiprocess_mode not in MULTIPROCESS_MODES:
            raise ValueError("Invalid multiprocess mode: " + str(multiprocess_mode))
        full_name = build_full_name("gauge", name, namespace, subsystem, unit)
        names = validate_labelnames(labelnames)
        self = super().__new__(
            cls,
            full_name,
            documentation,
            unit,
            names,
            cls._child_class,
            max_label_sets,
            multiprocess_mode,
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
        multiprocess_mode: str = "all",
        *,
        max_label_sets: int | None = None,
    ) -> None:
        """The gauge is built by ``__new__``; a subclass's ``__init__`` may call this
        with the arguments to build it from (see :mod:`vumeter._subclassing`)."""
        if is_probe(self):
            raise captured(locals())


Gauge._family_base = Gauge
Gauge._child_class = GaugeChild

# Vectorcall fast paths for inc(), dec(), set() and labels() (see
# src-rust/bindings/src/fastcall.rs).
_native.install_fast_paths(Gauge)
_native.install_fast_paths(GaugeChild)
