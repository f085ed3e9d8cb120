"""Native exposition of a whole registry.

``generate_latest`` and ``generate_openmetrics`` render vumeter's families and
multi-process merges in Rust and hand every other collector (process metrics, custom
collectors, prometheus_client's own metrics) to prometheus_client, preserving
registration order, so one call serves a mixed registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import exposition as _prometheus_text
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as _prometheus_openmetrics
from prometheus_client.registry import REGISTRY, CollectorRegistry

from vumeter import _native
from vumeter._family import created_enabled
from vumeter.multiprocess import MultiProcessCollector

CONTENT_TYPE_LATEST = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of the Prometheus text format that :func:`generate_latest` writes."""
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
"""Content type of the OpenMetrics 1.0 text that :func:`generate_openmetrics` writes."""

_EOF = b"# EOF\n"


class _Collectors:
    """A registry-like view of some collectors, for prometheus_client's renderers."""

    def __init__(self, collectors: list[Any]) -> None:
        self._collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


class _StaticMetric:
    def __init__(self, metric: Metric) -> None:
        self._metric = metric

    def collect(self) -> Iterable[Metric]:
        return [self._metric]


def _collectors_of(registry: Any) -> list[Any] | None:
    """The registry's collectors in registration order, or None if it is not a
    prometheus_client ``CollectorRegistry`` (then prometheus_client renders it whole).

    prometheus_client has no public way to list collectors; this reads the same private
    fields its own ``collect()`` does, under its lock.
    """
    if not isinstance(registry, CollectorRegistry):
        return None
    try:
        with registry._lock:
            collectors: list[Any] = list(registry._collector_to_names)
            if registry._target_info:
                target_info: Metric = registry._target_info_metric()  # type: ignore[no-untyped-call]
                collectors.insert(0, _StaticMetric(target_info))
    except AttributeError:  # a future prometheus_client with other internals
        return None
    return collectors


_Part = _native.MetricFamily | _native.MultiProcessSource | bytes


def _parts(collectors: list[Any], foreign: Callable[[Any], bytes]) -> list[_Part]:
    """vumeter's families and multi-process merges as they are, and each run of other
    collectors rendered by prometheus_client (``foreign``), in registration order.

    With a multi-process collector in the registry, the families this process placed in
    the cell files are left out: the merge already holds their series.
    """
    merging = any(isinstance(c, MultiProcessCollector) for c in collectors)
    parts: list[_Part] = []
    run: list[Any] = []
    for collector in collectors:
        native: _Part | None = None
        if isinstance(collector, _native.MetricFamily):
            if merging and collector._multiprocess:
                continue
            native = collector
        elif isinstance(collector, MultiProcessCollector):
            native = collector._source
        if native is None:
            run.append(collector)
            continue
        if run:
            parts.append(foreign(_Collectors(run)))
            run = []
        parts.append(native)
    if run:
        parts.append(foreign(_Collectors(run)))
    return parts


def exporter_view(registry: CollectorRegistry) -> Any:
    """``registry`` as prometheus_client's exporters (``push_to_gateway``,
    ``start_http_server``) should see it: with a multi-process collector in it, without
    this process's families that the merge already holds, which they would otherwise
    write twice (and a Pushgateway refuses). Any other registry as it is.
    """
    collectors = _collectors_of(registry)
    if collectors is None or not any(isinstance(c, MultiProcessCollector) for c in collectors):
        return registry
    return _Collectors(
        [c for c in collectors if not (isinstance(c, _native.MetricFamily) and c._multiprocess)]
    )


def _render(
    registry: CollectorRegistry,
    foreign: Callable[[Any], bytes],
    native: Callable[[list[_Part], bool], bytes],
) -> bytes | None:
    collectors = _collectors_of(registry)
    if collectors is None:
        return None
    try:
        return native(_parts(collectors, foreign), created_enabled())
    finally:
        for collector in collectors:
            if isinstance(collector, MultiProcessCollector):
                collector._log_problems()


def _openmetrics_without_eof(registry: Any) -> bytes:
    text: bytes = _prometheus_openmetrics.generate_latest(registry)  # type: ignore[no-untyped-call]
    return text.removesuffix(_EOF)


def generate_latest(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry in Prometheus text format 0.0.4 (what prometheus_client's
    ``generate_latest`` returns, byte for byte)."""
    text = _render(registry, _prometheus_text.generate_latest, _native.render_text)
    if text is None:
        return _prometheus_text.generate_latest(registry)
    return text


def generate_openmetrics(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The registry in OpenMetrics 1.0 text, with exemplars and ``# EOF``.

    The same as prometheus_client's OpenMetrics output, except that a histogram whose
    first bucket bound is negative has neither ``_sum`` nor ``_count`` (prometheus_client
    writes ``_count`` alone, which the OpenMetrics specification forbids and
    prometheus_client's own parser refuses); its ``+Inf`` bucket carries the count.
    """
    text = _render(registry, _openmetrics_without_eof, _native.render_openmetrics)
    if text is None:
        whole: bytes = _prometheus_openmetrics.generate_latest(registry)  # type: ignore[no-untyped-call]
        return whole
    return text


def choose_encoder(accept_header: str | None) -> tuple[Callable[[CollectorRegistry], bytes], str]:
    """The renderer and content type for an HTTP ``Accept`` header: OpenMetrics when the
    client lists ``application/openmetrics-text``, Prometheus text 0.0.4 otherwise."""
    for accepted in (accept_header or "").split(","):
        if accepted.split(";")[0].strip() == "application/openmetrics-text":
            return generate_openmetrics, CONTENT_TYPE_OPENMETRICS
    return generate_latest, CONTENT_TYPE_LATEST
