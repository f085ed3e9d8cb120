"""Type stubs for the native extension (src-rust/bindings)."""

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Self, TypeAlias

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

_BulkValues: TypeAlias = npt.NDArray[np.float64] | npt.NDArray[np.float32] | Sequence[float]
_NativeBuckets: TypeAlias = tuple[int, float, int, list[tuple[int, int]], list[tuple[int, int]]]

class CardinalityLimitExceeded(ValueError):
    """A new label set was refused because the metric reached its cardinality limit."""

@disjoint_base
class MetricFamily:
    """The native base of every family. Its labelled children live in one native,
    insertion-ordered registry (the order scrapes render them in); lookups and removal
    are O(1) (removal amortised)."""

    def labels(self, *values: object, **labels: object) -> Any:
        """The child for these label values (in label-name order, or by name; converted
        with ``str()``), created on first use; later calls return the same object. A
        new label set past ``max_label_sets`` raises :class:`CardinalityLimitExceeded`."""
    def remove(self, *values: object) -> None:
        """Removes the series with these label values, if present (O(1) amortised). A
        removed child object keeps working but is no longer exported."""
    def remove_by_labels(self, labels: dict[str, str]) -> None:
        """Removes every series whose labels include all of ``labels``, in one pass."""
    def clear(self) -> None:
        """Removes every labelled series."""
    @property
    def _name(self) -> str: ...
    @property
    def _documentation(self) -> str: ...
    @property
    def _unit(self) -> str: ...
    @property
    def _type(self) -> str: ...
    @property
    def _labelnames(self) -> tuple[str, ...]: ...
    @property
    def _observable(self) -> bool: ...
    @property
    def _max_label_sets(self) -> int | None: ...
    @property
    def _rejected_label_sets(self) -> int: ...
    @property
    def _label_set_count(self) -> int: ...
    @property
    def _multiprocess(self) -> bool:
        """Whether the family's cells live in the multi-process cell file (it was created
        with multi-process mode on), so that a merged scrape already holds its series."""

@disjoint_base
class CounterFamily(MetricFamily):
    def __new__(
        cls,
        name: str,
        documentation: str,
        unit: str,
        labelnames: Sequence[str],
        child_type: type[CounterChild],
        max_label_sets: int | None = None,
    ) -> Self: ...
    def inc(self, amount: float = 1.0, exemplar: dict[str, str] | None = None) -> None:
        """Adds ``amount`` (never negative or NaN). ``+Inf``, or a sum past the largest
        float, saturates the counter at ``+Inf`` until :meth:`reset`."""
    def reset(self) -> None:
        """Sets the counter back to zero and its ``_created`` time to now."""

@disjoint_base
class CounterChild:
    def __new__(cls, family: CounterFamily, values: Sequence[str]) -> Self: ...
    def inc(self, amount: float = 1.0, exemplar: dict[str, str] | None = None) -> None:
        """Adds ``amount`` (never negative or NaN); ``+Inf`` saturates the counter."""
    def reset(self) -> None:
        """Sets the counter back to zero and its ``_created`` time to now."""
    @property
    def _observable(self) -> bool: ...

@disjoint_base
class GaugeFamily(MetricFamily):
    def __new__(
        cls,
        name: str,
        documentation: str,
        unit: str,
        labelnames: Sequence[str],
        child_type: type[GaugeChild],
        max_label_sets: int | None = None,
        multiprocess_mode: str = "all",
    ) -> Self: ...
    @property
    def _multiprocess_mode(self) -> str:
        """The multiprocess mode given at construction (prometheus_client's names)."""
    def _refresh_functions(self) -> None:
        """Sets every function-backed gauge of the family from its callback now (before a
        multi-process merge reads this process's cells)."""
    def inc(self, amount: float = 1.0) -> None: ...
    def dec(self, amount: float = 1.0) -> None: ...
    def set(self, value: float) -> None: ...
    def set_to_current_time(self) -> None: ...
    def set_function(self, f: Callable[[], float]) -> None:
        """Takes the value from ``f()`` at every scrape, replacing any earlier function.
        The replaced function is released outside every native lock, so its destructor
        may do anything (close a socket, log)."""

@disjoint_base
class GaugeChild:
    def __new__(cls, family: GaugeFamily, values: Sequence[str]) -> Self: ...
    def inc(self, amount: float = 1.0) -> None: ...
    def dec(self, amount: float = 1.0) -> None: ...
    def set(self, value: float) -> None: ...
    def set_to_current_time(self) -> None: ...
    def set_function(self, f: Callable[[], float]) -> None:
        """Takes the value from ``f()`` at every scrape, replacing any earlier function."""
    @property
    def _observable(self) -> bool: ...

@disjoint_base
class HistogramFamily(MetricFamily):
    def __new__(
        cls,
        name: str,
        documentation: str,
        unit: str,
        labelnames: Sequence[str],
        child_type: type[HistogramChild],
        buckets: Sequence[float] | None,
        max_label_sets: int | None = None,
        native: tuple[float, float, int, float, float] | None = None,
    ) -> Self: ...
    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        """Counts ``amount`` in its bucket and adds it to ``_sum``. NaN raises
        ``ValueError``; an infinity is counted and saturates ``_sum`` to it, and the
        opposite infinity after that raises ``ValueError`` (``_sum`` would become NaN).
        Nothing is recorded when it raises."""
    def observe_many(self, values: _BulkValues) -> None:
        """Observes every value of a 1-D float64/float32 array of any stride (read in
        place, GIL released) or a sequence of numbers. All or nothing: a NaN, or an
        infinity opposite to an earlier one or to ``_sum``'s, raises ``ValueError``
        naming its index. A ``numpy.ma.MaskedArray`` raises ``TypeError``: pass
        ``values.compressed()`` to observe only the unmasked values."""
    @property
    def _upper_bounds(self) -> list[float]: ...
    @property
    def _linear_buckets(self) -> bool:
        """Whether the buckets take the O(1) arithmetic path: evenly spaced, and
        proven to bucket every value exactly as a binary search would."""
    @property
    def _native_schema(self) -> int | None:
        """The native schema a new child starts at, or None without native buckets."""
    def _native_buckets(self) -> _NativeBuckets | None:
        """See :meth:`HistogramChild._native_buckets`."""

@disjoint_base
class HistogramChild:
    def __new__(cls, family: HistogramFamily, values: Sequence[str]) -> Self: ...
    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        """Counts ``amount`` in its bucket; NaN and an infinity opposite to ``_sum``'s
        raise ``ValueError`` and record nothing."""
    def observe_many(self, values: _BulkValues) -> None:
        """Observes a 1-D float array of any stride, all or nothing (see
        :meth:`HistogramFamily.observe_many`)."""
    def _native_buckets(self) -> _NativeBuckets | None:
        """The native buckets as a scrape reads them: ``(schema, zero_threshold,
        zero_count, positive, negative)`` with ``(index, count)`` pairs sorted by
        index, or None for a histogram without native buckets."""
    @property
    def _observable(self) -> bool: ...

def render_text(
    parts: Sequence[MetricFamily | MultiProcessSource | bytes], created: bool = True
) -> bytes:
    """Prometheus text 0.0.4 for ``parts`` in order: vumeter families rendered natively,
    multi-process directories merged (GIL released) and rendered natively, ``bytes``
    (other collectors, rendered by prometheus_client) copied in. The GIL is released for
    renders of more than 1,000 series."""

def render_openmetrics(
    parts: Sequence[MetricFamily | MultiProcessSource | bytes], created: bool = True
) -> bytes:
    """OpenMetrics 1.0 for ``parts`` in order, ending with ``# EOF``."""

def render_protobuf(
    parts: Sequence[MetricFamily | MultiProcessSource | bytes], created: bool = True
) -> bytes:
    """Delimited ``io.prometheus.client.MetricFamily`` protobuf messages for ``parts`` in
    order: vumeter families encoded natively (native histogram buckets included),
    multi-process directories merged and encoded natively, ``bytes`` (other collectors,
    already encoded) copied in."""

def family_samples(
    family: MetricFamily,
    created: bool,
    sample_type: Callable[..., Any],
    exemplar_type: Callable[..., Any],
) -> list[Any]:
    """The family's samples as ``sample_type(name, labels, value, None, exemplar)``
    objects (prometheus_client's ``Sample`` and ``Exemplar``), shaped as in the text
    format."""

def shard_count() -> int:
    """Shards per metric child in this process (at most 16; ``VUMETER_SHARDS``
    overrides it). A child allocates a shard on the first write of a thread that maps
    to it."""

def parse_exposition(
    text: str, openmetrics: bool = False, only: AbstractSet[str] | None = None
) -> list[
    tuple[
        str,
        str,
        list[
            tuple[
                str,
                dict[str, str],
                float | None,
                tuple[
                    float,
                    float,
                    int,
                    float,
                    float,
                    list[tuple[int, int]],
                    list[int],
                    list[tuple[int, int]],
                    list[int],
                ]
                | None,
            ]
        ],
    ]
]:
    """Parse a Prometheus text (or, with ``openmetrics``, an OpenMetrics) exposition into
    ``[(name, type, [(sample_name, labels, value, native_histogram), ...]), ...]``.

    Families are grouped and named as prometheus_client's parsers do; a native histogram
    sample has value None and ``(count, sum, schema, zero_threshold, zero_count,
    positive_spans, positive_deltas, negative_spans, negative_deltas)``. The first
    malformed line raises ``ValueError`` naming its line number. With ``only``, the whole
    text is still checked but only the families named in it are returned."""

def install_fast_paths(cls: type) -> None:
    """Installs the vectorcall fast paths (``inc``, ``dec``, ``set``, ``observe``,
    ``labels``) that belong on ``cls``, a subclass of a native family or child."""

def set_exemplar_source(
    var: ContextVar[Mapping[Any, Any] | None] | None,
    key: object | None,
    extract: Callable[[Any], dict[str, str] | None] | None,
) -> None: ...
def multiprocess_enable(directory: str | Path) -> None:
    """Turns multi-process mode on with this process's cell file in ``directory`` (which
    must exist: ``ValueError`` otherwise). Enabling again with the same directory does
    nothing; another one raises ``RuntimeError``."""

def multiprocess_directory() -> Path | None:
    """The directory multi-process mode writes to, or None when it is off."""

def multiprocess_file() -> Path | None:
    """This process's cell file, once it has placed a cell."""

def multiprocess_write_failures() -> int:
    """Placements the cell file could not take (their counts stay in this process)."""

def multiprocess_fold(directory: str | Path) -> tuple[int, list[tuple[str, str]]]:
    """Folds the files of processes that have ended into the directory's aggregate now
    (unless a scrape holds the directory): the number folded, and (file, reason) pairs
    for files that could not be read."""

@disjoint_base
class MultiProcessSource:
    """Every process's series in a multiprocess directory, merged in Rust at each
    render (vumeter's cell files, their aggregate and prometheus_client's ``.db``
    files)."""

    def __new__(cls, directory: str | Path) -> Self: ...
    @property
    def directory(self) -> Path: ...
    def _take_problems(self) -> list[tuple[str, str]]:
        """The files left out of merges since the last call, as (file, reason) pairs."""
    def _families(self) -> list[tuple[str, str, str, list[tuple[str, dict[str, str], float]]]]:
        """The merged families as (name, type, help, samples) with samples as (name,
        labels, value), for prometheus_client's ``Metric`` objects."""
