"""``Histogram``: prometheus_client's Histogram API on a native core, plus
``observe_many`` for numpy arrays."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter import _native
from vumeter._family import FAMILY_SLOTS, ChildMixin, FamilyMixin
from vumeter._naming import build_full_name, prepare_buckets, validate_labelnames
from vumeter._subclassing import captured, is_probe
from vumeter._timing import TimedMetric, Timer

INF = float("inf")

#: client_golang's default zero threshold for native histograms, 2**-128.
DEFAULT_NATIVE_ZERO_THRESHOLD = 2.0**-128
#: Buckets a native histogram keeps at most before it lowers its resolution (the
#: Prometheus documentation's suggested limit, also OpenTelemetry's default).
DEFAULT_NATIVE_MAX_BUCKETS = 160
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    INF,
)


def linear_buckets(start: float, width: float, count: int) -> tuple[float, ...]:
    """``count`` evenly spaced upper bounds from ``start``, rounded to 12 decimals so
    that ``0.1`` steps read as typed. Such layouts usually take ``observe_many``'s O(1)
    arithmetic path, which a layout gets only when it is proven exact (see
    ``Histogram._linear_buckets``); otherwise the buckets are searched, with the same
    results."""
    if count < 1 or not width > 0:
        raise ValueError("linear_buckets expects count >= 1 and width > 0")
    return tuple(round(start + width * i, 12) for i in range(count))


class _HistogramMethods:
    __slots__ = ()

    def time(self: TimedMetric) -> Timer:
        """Observes the duration in seconds of a block or function."""
        return Timer(self, "observe")


class HistogramChild(_HistogramMethods, ChildMixin, _native.HistogramChild):
    """One labelled series of a :class:`Histogram`."""

    __slots__ = ()


class Histogram(_HistogramMethods, FamilyMixin, _native.HistogramFamily):
    """Observations counted into cumulative buckets (prometheus_client-compatible).

    ``observe_many(array)`` buckets a whole numpy array with the GIL released.

    ``native_histogram_bucket_factor`` (above 1) also records a Prometheus native
    histogram, with client_golang's meaning for each setting: the factor picks the
    coarsest schema whose bucket-to-bucket growth is at most the factor; magnitudes up to
    ``native_histogram_zero_threshold`` (default 2**-128) count in the zero bucket;
    past ``native_histogram_max_buckets`` buckets (0: no limit) the histogram is reset
    if ``native_histogram_min_reset_duration`` seconds (0: never) passed since the last
    reset, otherwise its zero bucket widens to take in the bucket closest to zero if
    that stays within ``native_histogram_max_zero_threshold`` (default 0: never), and
    otherwise its resolution is halved, until a reset is due. Without
    ``buckets`` such a histogram keeps no classic buckets: the text formats then show
    its ``+Inf`` bucket, ``_count`` and ``_sum``, and the protobuf format its native
    buckets. In multi-process mode the native buckets of every process are merged too,
    at the coarsest schema among them. See docs/native-histograms.md.
    """

    __slots__ = FAMILY_SLOTS
    _family_base: ClassVar[type[Histogram]]
    _child_class: ClassVar[type[HistogramChild]]

    if TYPE_CHECKING:
        # The native labels() returns whatever child class the family was made with;
        # for type checkers, it is this family's.
        def labels(self, *values: object, **labels: object) -> HistogramChild:
            """The child for these label values, created on first use."""
            ...

    DEFAULT_BUCKETS = DEFAULT_BUCKETS

    def __new__(
        cls,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: CollectorRegistry | None = REGISTRY,
        buckets: Sequence[float | str] | None = None,
        *,
        max_label_sets: int | None = None,
        native_histogram_bucket_factor: float | None = None,
        native_histogram_zero_threshold: float = DEFAULT_NATIVE_ZERO_THRESHOLD,
        native_histogram_max_buckets: int = DEFAULT_NATIVE_MAX_BUCKETS,
        native_histogram_min_reset_duration: float = 0.0,
        native_histogram_max_zero_threshold: float = 0.0,
    ) -> Histogram:
        full_name = build_full_name("histogram", name, namespace, subsystem, unit)
        names = validate_labelnames(labelnames, reserved=("le",))
        native: tuple[float, float, int, float, float] | None = None
        if native_histogram_bucket_factor is not None:
            if native_histogram_max_buckets < 0:
                raise ValueError("native_histogram_max_buckets must be 0 (no limit) or more")
            native = (
                float(native_histogram_bucket_factor),
                float(native_histogram_zero_threshold),
                int(native_histogram_max_buckets),
                float(native_histogram_min_reset_duration),
                float(native_histogram_max_zero_threshold),
            )
        elif buckets is None:
            buckets = DEFAULT_BUCKETS
        # Native buckets and no `buckets`: no classic buckets, as in client_golang.
        bounds = None if buckets is None else prepare_buckets(buckets)
        self = super().__new__(
            cls,
            full_name,
            documentation,
            unit,
            names,
            cls._child_class,
            bounds,
            max_label_sets,
            native,
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
        buckets: Sequence[float | str] | None = None,
        *,
        max_label_sets: int | None = None,
        native_histogram_bucket_factor: float | None = None,
        native_histogram_zero_threshold: float = DEFAULT_NATIVE_ZERO_THRESHOLD,
        native_histogram_max_buckets: int = DEFAULT_NATIVE_MAX_BUCKETS,
        native_histogram_min_reset_duration: float = 0.0,
        native_histogram_max_zero_threshold: float = 0.0,
    ) -> None:
        """The histogram is built by ``__new__``; a subclass's ``__init__`` may call this
        with the arguments to build it from (see :mod:`vumeter._subclassing`)."""
        if is_probe(self):
            raise captured(locals())


Histogram._family_base = Histogram
Histogram._child_class = HistogramChild

# Vectorcall fast paths for observe() and labels() (see src-rust/bindings/src/fastcall.rs).
_native.install_fast_paths(Histogram)
_native.install_fast_paths(HistogramChild)
